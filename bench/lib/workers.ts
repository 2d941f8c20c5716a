/**
 * Running Workers for benchmarks the way production runs them: workerd via the Miniflare
 * API, one instance (one workerd process) per worker, each reached on its own direct
 * socket (no Miniflare entry worker in the path), the code bundled exactly as
 * `wrangler deploy` would ship it. Also `wrangler dev`, for comparison only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare, type SharedOptions, type WorkerOptions } from "miniflare";
import { build } from "esbuild";
import { onCleanup, trackPath, trackPid } from "./cleanup";
import { descendantsNamed, pidListeningOn, processTree } from "./proc";

/** The repository root: the nearest ancestor holding wrangler.toml and node_modules/wrangler. */
export function repoRoot(): string {
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = start;
    for (;;) {
      if (existsSync(join(dir, "wrangler.toml")) && existsSync(join(dir, "node_modules", "wrangler"))) return dir;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error("cannot find the repository root (wrangler.toml + node_modules/wrangler)");
}

export const WRANGLER_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_D1_WARNING: "true", CI: "true" };

export function wranglerBin(root = repoRoot()): string {
  return join(root, "node_modules", "wrangler", "bin", "wrangler.js");
}

/** A temporary directory removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  trackPath(dir);
  onCleanup(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs a command to completion (async, so several can run at once); rejects on failure. */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, env: WRANGLER_ENV, stdio: ["ignore", "pipe", "pipe"] });
    const untrack = child.pid ? trackPid(child.pid) : () => {};
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += String(d)));
    child.stderr?.on("data", (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      untrack();
      if (code === 0) resolveRun({ stdout, stderr });
      else reject(new Error(`${args.slice(0, 3).join(" ")} failed (${signal ?? code}):\n${stdout}\n${stderr}`));
    });
  });
}

/** Bundles a worker exactly as `wrangler deploy` would (dry run), returns the main module path. */
export async function wranglerBundle(configPath: string, outDir: string, root = repoRoot()): Promise<string> {
  await run(process.execPath, [wranglerBin(root), "deploy", "--dry-run", "-c", configPath, "--outdir", outDir], root);
  const main = join(outDir, "index.js");
  if (!existsSync(main)) throw new Error(`wrangler deploy --dry-run -c ${configPath} wrote no ${main}`);
  return main;
}

/**
 * Bundles a worker entry with esbuild the way `wrangler deploy` does (ESM, workerd
 * conditions, NODE_ENV=production, keepNames), for variants wrangler cannot build (a
 * module swapped by a plugin). Returns the output path.
 */
export async function esbuildWorker(
  entry: string,
  outfile: string,
  extra: { plugins?: import("esbuild").Plugin[]; nodePaths?: string[] } = {},
): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    define: {
      "process.env.NODE_ENV": '"production"',
      "global.process.env.NODE_ENV": '"production"',
      "globalThis.process.env.NODE_ENV": '"production"',
    },
    keepNames: true,
    external: ["node:*", "cloudflare:*"],
    logLevel: "warning",
    plugins: extra.plugins ?? [],
    nodePaths: extra.nodePaths ?? [],
  });
  return outfile;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; tiny race window, fine for benchmarks). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface RunningWorker {
  name: string;
  /** Base URL of the worker's own socket. */
  url: URL;
  mf: Miniflare | null;
  /** The runtime process(es) serving it (workerd; for wrangler dev the whole tree). */
  pids: () => number[];
  /** Lines the runtime wrote to stdout/stderr (last 200). */
  output: string[];
  stop(): Promise<void>;
}

export interface MiniflareWorkerSpec {
  name: string;
  scriptPath: string;
  /** Worker options (bindings, compatibility…); script, name and sockets are set here. */
  options?: Omit<WorkerOptions, "script" | "scriptPath" | "modules" | "modulesRoot" | "name">;
  /** Instance-wide options (e.g. d1Persist, durableObjectsPersist). */
  shared?: Partial<SharedOptions>;
}

/** Starts one worker in its own workerd process, reachable on its own direct socket. */
export async function startMiniflareWorker(spec: MiniflareWorkerSpec): Promise<RunningWorker> {
  const output: string[] = [];
  const keep = (prefix: string) => (chunk: Buffer | string) => {
    for (const line of String(chunk).split("\n")) {
      if (!line.trim()) continue;
      output.push(`${prefix}${line}`);
      if (output.length > 200) output.shift();
    }
  };
  const before = new Set(descendantsNamed(process.pid, "workerd"));
  const mf = new Miniflare({
    ...spec.shared,
    host: "127.0.0.1",
    port: 0,
    // No Request.cf download (offline machines); workers see a placeholder cf object.
    cf: false,
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      stdout.on("data", keep(""));
      stderr.on("data", keep("! "));
    },
    workers: [
      {
        ...(spec.options as WorkerOptions),
        name: spec.name,
        modules: true,
        scriptPath: spec.scriptPath,
        // Module names are relative to this; the bundle lives outside the repo.
        modulesRoot: dirname(spec.scriptPath),
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      } as WorkerOptions,
    ],
  });
  let untracked: (() => void)[] = [];
  const stop = async () => {
    unregister();
    await mf.dispose().catch(() => {});
    for (const u of untracked) u();
  };
  const unregister = onCleanup(`miniflare ${spec.name}`, () => mf.dispose());
  try {
    await mf.ready;
    const url = await mf.unsafeGetDirectURL(spec.name);
    // This instance's workerd: the process listening on its socket (instances may start
    // concurrently, so "the new workerd" is not enough).
    const fresh = descendantsNamed(process.pid, "workerd").filter((pid) => !before.has(pid));
    const owner = pidListeningOn(Number(url.port), fresh);
    const pids = owner !== null ? [owner] : fresh.length === 1 ? fresh : [];
    if (pids.length === 0) output.push("! bench: could not identify this instance's workerd process (no CPU/memory figures)");
    untracked = fresh.map((pid) => trackPid(pid)); // all ours; killed at exit if still alive
    return { name: spec.name, url, mf, pids: () => pids, output, stop };
  } catch (err) {
    await stop();
    const detail = output.slice(-40).join("\n");
    throw new Error(`${spec.name}: ${err instanceof Error ? err.message : String(err)}${detail ? `\n${detail}` : ""}`, { cause: err });
  }
}

export async function waitForHttp(url: string, isAlive: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the process serving ${url} exited`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${lastError})`);
}

export interface WranglerDevSpec {
  name: string;
  configPath: string;
  vars: Record<string, string>;
  persistTo: string;
  /** Path that answers < 500 once the worker is up (e.g. "/health"). */
  readyPath: string;
  root?: string;
}

/** `wrangler d1 migrations apply <binding> --local --persist-to <dir>`. */
export async function wranglerApplyMigrations(configPath: string, binding: string, persistTo: string, root = repoRoot()): Promise<void> {
  await run(process.execPath, [wranglerBin(root), "d1", "migrations", "apply", binding, "--local", "-c", configPath, "--persist-to", persistTo], root);
}

/** Starts `wrangler dev` (its own process group, killed as a whole at cleanup). */
export async function startWranglerDev(spec: WranglerDevSpec): Promise<RunningWorker> {
  const root = spec.root ?? repoRoot();
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    wranglerBin(root),
    "dev",
    "-c",
    spec.configPath,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    spec.persistTo,
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
  ];
  for (const [k, v] of Object.entries(spec.vars)) args.push("--var", `${k}:${v}`);
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    env: WRANGLER_ENV,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const keep = (chunk: Buffer) => {
    for (const line of String(chunk).split("\n")) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 200) output.shift();
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const pid = child.pid!;
  const untrack = trackPid(pid, true);
  const stop = async () => {
    unregister();
    await new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // gone
        }
      }, 5_000);
      child.once("exit", () => {
        clearTimeout(timer);
        done();
      });
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        done();
      }
    });
    // Anything left in the group (workerd children).
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
    untrack();
  };
  const unregister = onCleanup(`wrangler dev ${spec.name}`, stop);
  const url = new URL(`http://127.0.0.1:${port}`);
  try {
    await waitForHttp(new URL(spec.readyPath, url).href, () => child.exitCode === null && child.signalCode === null);
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${output.slice(-30).join("\n")}`);
  }
  return { name: spec.name, url, mf: null, pids: () => processTree(pid), output, stop };
}
