/**
 * Polls `probe` until it returns a truthy value, for work that finishes in the background
 * (alarms, waitUntil, webhook deliveries). Plain timers only: used by the workerd tests and
 * the end-to-end tests in Node alike.
 */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 5000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!last && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    last = await probe();
  }
  return last;
}
