/**
 * A bounded, closed-loop load generator: `concurrency` workers each start the next
 * request as soon as their previous one ends, until `count` requests were started or
 * `maxDurationMs` passed (whichever comes first). Nothing unbounded: a hard count and a
 * hard deadline, so a benchmark cannot run away.
 */
import { performance } from "node:perf_hooks";

export interface LoadOptions<T> {
  concurrency: number;
  /** Requests to start in total (hard cap). */
  count: number;
  /** No new request starts after this many ms (hard cap); running ones are awaited. */
  maxDurationMs: number;
  /** Runs one request; `index` counts from 0; a throw counts as an error. */
  task: (index: number) => Promise<T>;
  /** Stop after this many errors (default: 10 % of count, at least 20). */
  maxErrors?: number;
}

export interface LoadResult<T> {
  results: T[];
  errors: { index: number; error: string }[];
  /** Wall time from the first start to the last end, ms. */
  elapsedMs: number;
  /** True when the deadline (not the count) ended the run. */
  timedOut: boolean;
  /** Completed requests per second over elapsedMs. */
  throughput: number;
}

export async function runLoad<T>(options: LoadOptions<T>): Promise<LoadResult<T>> {
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const maxErrors = options.maxErrors ?? Math.max(20, Math.ceil(options.count / 10));
  const results: T[] = [];
  const errors: { index: number; error: string }[] = [];
  let next = 0;
  let timedOut = false;
  const started = performance.now();
  const deadline = started + options.maxDurationMs;

  const worker = async (): Promise<void> => {
    for (;;) {
      if (next >= options.count || errors.length >= maxErrors) return;
      if (performance.now() >= deadline) {
        timedOut = true;
        return;
      }
      const index = next++;
      try {
        results.push(await options.task(index));
      } catch (err) {
        errors.push({ index, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, options.count) }, worker));
  const elapsedMs = performance.now() - started;
  return { results, errors, elapsedMs, timedOut, throughput: elapsedMs > 0 ? (results.length * 1000) / elapsedMs : 0 };
}

/** Runs `fn` for each item in turn, rotating the start so each item goes first equally often. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const shift = ((round % n) + n) % n;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
