/**
 * One place that knows every process and temporary resource a benchmark started, and
 * ends them all: on normal completion, on error, on SIGINT/SIGTERM/SIGHUP, and — as a
 * last resort when Node exits without running async code (wrangler and Miniflare install
 * SIGINT handlers that call process.exit() at once) — synchronously in the 'exit' event:
 * tracked pids are SIGKILLed and tracked paths removed.
 */
import { rmSync } from "node:fs";

type Task = () => Promise<void> | void;

const tasks = new Map<number, { label: string; run: Task }>();
const pids = new Map<number, { group: boolean }>();
const paths = new Set<string>();
let nextId = 1;
let installed = false;
let running: Promise<void> | null = null;

/** Registers an async cleanup step; returns a function that unregisters it. */
export function onCleanup(label: string, run: Task): () => void {
  const id = nextId++;
  tasks.set(id, { label, run });
  return () => void tasks.delete(id);
}

/** Tracks a pid to SIGKILL on exit if it is still alive (group: kill its process group). */
export function trackPid(pid: number, group = false): () => void {
  pids.set(pid, { group });
  return () => void pids.delete(pid);
}

/** Tracks a path to remove (recursively) on exit if it is still there. */
export function trackPath(path: string): () => void {
  paths.add(path);
  return () => void paths.delete(path);
}

function exitSync(): void {
  killTracked();
  for (const path of paths) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  paths.clear();
}

function killTracked(): void {
  for (const [pid, { group }] of pids) {
    try {
      process.kill(group ? -pid : pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  pids.clear();
}

/** Runs every registered step (latest first), each bounded to `timeoutMs`, then kills what is left. */
export function cleanupAll(timeoutMs = 10_000): Promise<void> {
  running ??= (async () => {
    const steps = [...tasks.entries()].reverse();
    tasks.clear();
    for (const [, { label, run }] of steps) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(run),
          new Promise<void>((_, reject) => {
            timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
          }),
        ]);
      } catch (err) {
        console.error(`cleanup "${label}" failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    exitSync();
  })().finally(() => {
    running = null;
  });
  return running;
}

/** Installs signal and exit handlers once per process. */
export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    // First in line; if another library's handler exits at once, the 'exit' hook below
    // still kills and removes everything tracked.
    process.prependOnceListener(signal, () => {
      console.error(`\n${signal}: stopping everything this benchmark started…`);
      void cleanupAll(5_000).finally(() => process.exit(code));
    });
  }
  process.once("exit", exitSync);
}
