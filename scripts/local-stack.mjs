// Starts the whole service locally, offline: the upstream simulator (sim/) and the relay,
// each under `wrangler dev`, with the D1 migrations applied first. Used by `npm start` and
// by the end-to-end tests, so the tests drive exactly what a newcomer runs.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const baseEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_D1_WARNING: "true", CI: process.env.CI ?? "" };

/** The local KEY_ENCRYPTION_SECRET: kept in .dev.vars (git-ignored), made on first run. */
export function ensureDevVars() {
  const file = join(ROOT, ".dev.vars");
  if (existsSync(file) && /KEY_ENCRYPTION_SECRET\s*=/.test(readFileSync(file, "utf8"))) return;
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, `# Local secrets for wrangler dev (never commit this file).\nKEY_ENCRYPTION_SECRET=${secret}\n`);
}

export function applyMigrations(persistTo) {
  mkdirSync(persistTo, { recursive: true });
  const result = spawnSync(
    process.execPath,
    [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    { cwd: ROOT, env: { ...baseEnv, CI: "true" }, encoding: "utf8" },
  );
  if (result.status !== 0) {
    throw new Error(`D1 migrations failed:\n${result.stdout}\n${result.stderr}`);
  }
}

async function waitForHttp(url, child, label, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${label} exited early (code ${child.exitCode})`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${label} did not answer at ${url} within ${timeoutMs} ms`);
}

/**
 * Quiet dev servers for tests and benchmarks: wrangler's per-request log lines and its
 * DevTools inspector proxy (which streams an event to Node for every outbound fetch) cost
 * more CPU than the relay itself under load.
 */
export const QUIET_DEV_ENV = { WRANGLER_LOG: "warn", VSCODE_INSPECTOR_OPTIONS: "{}" };

function startWrangler({ label, args, log, env = {} }) {
  const child = spawn(process.execPath, [WRANGLER, "dev", ...args, "--ip", "127.0.0.1", "--show-interactive-dev-session=false"], {
    cwd: ROOT,
    env: { ...baseEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: process.platform !== "win32",
  });
  const prefix = `[${label}] `;
  const forward = (chunk) => {
    if (!log) return;
    for (const line of String(chunk).split("\n")) if (line.trim()) log(prefix + line);
  };
  child.stdout.on("data", forward);
  child.stderr.on("data", forward);
  return child;
}

/**
 * @param {{ relayPort: number, simPort: number, persistTo?: string, vars?: Record<string,string>, env?: Record<string,string>, log?: (line: string) => void }} options
 */
export async function startStack(options) {
  const persistTo = options.persistTo ?? join(ROOT, ".wrangler", "state");
  applyMigrations(persistTo);
  const sim = startWrangler({
    label: "sim",
    args: ["-c", "sim/wrangler.toml", "--port", String(options.simPort), "--inspector-port", String(options.simPort + 1000)],
    log: options.log,
    env: options.env,
  });
  const relay = startRelay({ ...options, persistTo });
  try {
    await waitForHttp(`http://127.0.0.1:${options.simPort}/__sim`, sim, "simulator");
    await waitForHttp(`http://127.0.0.1:${options.relayPort}/health`, relay.child, "relay");
  } catch (err) {
    stopChild(sim);
    stopChild(relay.child);
    throw err;
  }
  const stack = {
    relayUrl: `http://127.0.0.1:${options.relayPort}`,
    simUrl: `http://127.0.0.1:${options.simPort}`,
    sim,
    relay: relay.child,
    /** Stops the relay process and starts it again on the same state (restart tests). */
    async restartRelay() {
      await stopChildAndWait(stack.relay);
      const next = startRelay({ ...options, persistTo });
      stack.relay = next.child;
      await waitForHttp(`${stack.relayUrl}/health`, next.child, "relay");
    },
    async stop() {
      await Promise.all([stopChildAndWait(stack.relay), stopChildAndWait(sim)]);
    },
  };
  return stack;
}

function startRelay({ relayPort, simPort, persistTo, vars = {}, log, env }) {
  const allVars = { UPSTREAM_BASE_URL: `http://127.0.0.1:${simPort}`, WEBHOOK_ALLOW_PRIVATE: "true", ...vars };
  const args = ["--port", String(relayPort), "--inspector-port", String(relayPort + 1000), "--persist-to", persistTo];
  for (const [k, v] of Object.entries(allVars)) args.push("--var", `${k}:${v}`);
  return { child: startWrangler({ label: "relay", args, log, env }) };
}

function stopChild(child) {
  if (!child || child.exitCode !== null) return;
  try {
    if (child.pid && process.platform !== "win32") process.kill(-child.pid, "SIGTERM");
    else child.kill("SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
}

function stopChildAndWait(child) {
  return new Promise((resolveStop) => {
    if (!child || child.exitCode !== null) return resolveStop();
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolveStop();
    });
    stopChild(child);
  });
}
