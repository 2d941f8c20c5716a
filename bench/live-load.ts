/**
 * Live load: N video tasks (default 1,000) in flight at once on the real local server —
 * the relay and the upstream simulator each under `wrangler dev` (scripts/local-stack.mjs,
 * the same stack `npm start` runs), a fresh temporary D1/DO state, free ports — each task
 * with a webhook to a simulator receiver that knows the tenant's default secret, so every
 * delivery's Standard Webhooks signature is verified on arrival.
 *
 * Measured: webhooks arrived (and verified), time to drain (first submission → last
 * webhook), upstream polls per task (simulator counters), D1 statements per task (the
 * `tasks.d1_writes` column plus every other row, read with `wrangler d1 execute --local`
 * after the relay has stopped), completion→webhook latency (the simulator's SUCCEEDED
 * moment, createdAt + created/pending/running durations, to the receiver's receivedAt),
 * and per-process RSS and CPU of both wrangler process trees, sampled from /proc every
 * 500 ms (CPU tells which process saturates when the stack cannot keep up).
 *
 *   node scripts/run-ts.mjs bench/live-load.ts [--tasks N] [--quick] [--keys K] [--concurrency C]
 *        [--compare-tasks N (0: skip the npm-start run)] [--lean | --npm-start (one run only)] [--state-dir DIR]
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// ── Options and result ─────────────────────────────────────────────────────────────────

export interface LiveLoadOptions {
  /** Tasks to submit (default 1000; --quick 200). */
  tasks?: number;
  quick?: boolean;
  /** API keys = tenants; each gets its own running time so durations spread (default 10). */
  keys?: number;
  /** Simultaneous POST /v1/videos (default 48). */
  concurrency?: number;
  /** Simulated RUNNING time, spread evenly over the keys (default 5–20 s). */
  runningMinMs?: number;
  runningMaxMs?: number;
  /** Give up waiting for webhooks this long after the last submission (default 240 s). */
  drainTimeoutMs?: number;
  /** Hard limit for the whole run: no submission starts and no waiting goes on after it (default 12 min). */
  hardTimeoutMs?: number;
  /**
   * "default": the stack exactly as `npm start` runs it. "lean": the same stack with
   * wrangler's dev-only extras off in both dev servers (WRANGLER_LOG=warn, so the proxy
   * stops logging every request through Node; the devtools inspector proxy off, so the
   * runtime stops streaming DevTools Network events for every outbound fetch to Node).
   */
  devMode?: "default" | "lean";
  /** Where the temporary D1/Durable Object state goes (default the OS temp dir; /dev/shm keeps it in memory). */
  stateDir?: string;
  /** Relay vars (merged over the defaults below). */
  vars?: Record<string, string>;
  log?: (line: string) => void;
}

export interface ProcessUsage {
  tree: string;
  pid: number;
  name: string;
  peakRssMb: number;
  /** CPU seconds between the first submission and the last webhook (or the timeout). */
  cpuSecondsLoad: number;
  /** cpuSecondsLoad / load wall time: 1.0 is one core saturated. */
  avgCoresLoad: number;
  /** Highest CPU use over any ~2 s window of the load phase, in cores. */
  peakCores2s: number;
}

export interface PhaseCpu {
  fromMs: number;
  toMs: number;
  /** CPU seconds per process tree. */
  cpuSeconds: Record<string, number>;
}

export interface Target {
  name: string;
  met: boolean;
  detail: string;
}

export interface LiveLoadRun {
  part: "live-load";
  startedAt: string;
  config: {
    tasks: number;
    keys: number;
    receivers: number;
    concurrency: number;
    model: string;
    /** pendingMs: each task's PENDING time (set per key while submitting, see release). */
    simTask: { createdMs: number; pendingMs: Percentiles; runningMsByKey: number[] };
    relayVars: Record<string, string>;
    stateDir: string;
  };
  submission: {
    accepted: number;
    failed: number;
    errors: Record<string, number>;
    /** One response body (or exception) per error kind. */
    errorSamples: Record<string, string>;
    durationMs: number;
    perSecond: number;
    latencyP50Ms: number;
    latencyP95Ms: number;
    latencyMaxMs: number;
  };
  /** Max tasks accepted by the relay and not yet notified, at any moment. */
  peakInFlight: number;
  /** Upstream lifetime of the tasks (submission → SUCCEEDED on the simulator). */
  taskLifetimeMs: Percentiles;
  /** Max tasks RUNNING or earlier on the simulator at once. */
  peakUpstreamActive: number;
  webhooks: {
    deliveries: number;
    uniqueTasks: number;
    verified: number;
    unverified: number;
    duplicates: number;
    missing: number;
  };
  drainMs: number | null;
  timedOut: boolean;
  latency: {
    /** Simulator SUCCEEDED → receiver receivedAt. */
    completionToWebhook: Percentiles;
    /** Simulator SUCCEEDED → the relay's completed_at (the poll that saw it). */
    completionToDetected: Percentiles;
    /** The relay's completed_at → receiver receivedAt (alarm work, signing, POST). */
    detectedToWebhook: Percentiles;
  };
  upstream: {
    /** Gaps between a task's successive polls once backed off (7th poll on), as the simulator saw them. */
    pollGapAfterBackoff: Percentiles;
    /** Polls the simulator recorded after the last submission (for the per-poll CPU estimate). */
    pollsAfterSubmission: number;
    pollsPerTask: number;
    pollsPerTaskP50: number;
    pollsPerTaskMax: number;
    videoCalls: number;
    tasksCalls: number;
  };
  d1: D1Summary | { error: string };
  memory: { peakRssMbByTree: Record<string, number>; peakRssMbTotal: number };
  cpu: {
    cores: number;
    machineBusyAvg: number;
    machineBusyPeak2s: number;
    /** Machine busy cores not accounted for by this run's processes (other work on the machine). */
    otherLoadAvg: number;
    /** CPU time per accepted task over the load phase, by tree. */
    msPerTask: { relay: number; sim: number; bench: number; total: number };
    /** Submission phase (first → last submission) and polling phase (last submission → last webhook). */
    phases: { submission: PhaseCpu; polling: PhaseCpu };
    /** Polling phase CPU / (polls + webhooks in it): what one poll costs each tree. */
    msPerPoll: { relay: number; sim: number };
    processes: ProcessUsage[];
  };
  devServer: { mode: "default" | "lean"; env: Record<string, string>; log: StackLogCounts };
  targets: Target[];
  observations: string[];
  elapsedMs: number;
}

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface D1Summary {
  method: string;
  tasksRows: number;
  succeeded: number;
  /** Sum of tasks.d1_writes: statements the task objects ran, counted up to each task's last row write. */
  d1WritesSum: number;
  d1WritesPerTask: number;
  d1WritesDistribution: Record<string, number>;
  /** Rows present per task in each table (tasks, deliveries, delivery_attempts). */
  deliveriesRows: number;
  deliveriesSucceeded: number;
  attemptsRows: number;
  /** Delivery attempts by outcome (status code, error). */
  attemptOutcomes: { statusCode: number | null; error: string | null; count: number }[];
  /** Writes not covered by d1_writes: the Worker's own (tenant secrets, idempotency, chat). */
  workerWrites: { tenantSecrets: number; idempotencyKeys: number; chatCalls: number };
  /** Statements per task, all sources: (d1_writes + worker writes) / tasks. */
  statementsPerTask: number;
  pollsColumnPerTask: number;
}

const MODEL = "viduq3-pro";
const SIM_CREATED_MS = 500;
/** Least PENDING time of a task; tasks submitted early wait longer (see "release"). */
const SIM_MIN_PENDING_MS = 1500;
/** Release margin after the predicted end of the submissions. */
const RELEASE_MARGIN_MS = 4000;
/** Submission rate assumed until one is measured. */
const GUESS_RATE_PER_S = 40;
const RECEIVER_CAP = 900; // the simulator keeps 1000 deliveries per receiver

const DEFAULT_VARS: Record<string, string> = {
  POLL_MIN_INTERVAL_MS: "1000",
  POLL_MAX_INTERVAL_MS: "5000",
  WEBHOOK_RETRY_SCHEDULE: "1,2,5,10,20",
  WEBHOOK_TIMEOUT_MS: "10000",
  UPSTREAM_TIMEOUT_MS: "10000",
};

// ── Small helpers ──────────────────────────────────────────────────────────────────────

/** The repository root: the nearest package.json above the entry file (argv[1]), else cwd. */
export function repoRoot(): string {
  let dir = dirname(resolve(process.argv[1] ?? join(process.cwd(), "x")));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "scripts", "local-stack.mjs"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export function percentiles(values: readonly number[]): Percentiles {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (p: number) => (s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN));
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.length ? (s[s.length - 1] ?? Number.NaN) : Number.NaN };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer();
    server.unref();
    server.once("error", () => res(false));
    server.listen(port, "127.0.0.1", () => server.close(() => res(true)));
  });
}

function anyPort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.unref();
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      const port = typeof a === "object" && a ? a.port : 0;
      server.close(() => res(port));
    });
  });
}

/** A port whose +1000 (the stack's inspector port) is free too. */
async function stackPort(avoid: number[]): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await anyPort();
    if (p + 1000 > 65535 || avoid.includes(p) || avoid.includes(p + 1000)) continue;
    if (await portFree(p + 1000)) return p;
  }
  throw new Error("no free port pair found");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function http<T>(url: string, init: { method?: string; json?: unknown; key?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.json !== undefined) headers["content-type"] = "application/json";
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  const res = await fetch(url, {
    method: init.method ?? (init.json !== undefined ? "POST" : "GET"),
    headers,
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, body: body as T };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  });
  await Promise.all(workers);
}

// ── /proc sampler ──────────────────────────────────────────────────────────────────────

interface ProcSample {
  t: number;
  procs: Map<number, { rss: number; ticks: number }>;
  /** Machine-wide busy and total jiffies. */
  busy: number;
  total: number;
}

const PAGE = 4096;
const HZ = 100;

function readStat(pid: number): { ppid: number; ticks: number; rssPages: number; comm: string } | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = raw.lastIndexOf(")");
    const comm = raw.slice(raw.indexOf("(") + 1, close);
    const f = raw.slice(close + 2).split(" ");
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]), comm };
  } catch {
    return null;
  }
}

function machineJiffies(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Samples RSS and CPU of whole process trees (roots and all descendants) from /proc. */
class ProcSampler {
  readonly samples: ProcSample[] = [];
  readonly info = new Map<number, { tree: string; name: string }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly roots: () => { tree: string; pid: number }[]) {}

  start(everyMs = 500): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  private sample(): void {
    const stats = new Map<number, { ppid: number; ticks: number; rssPages: number; comm: string }>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const s = readStat(Number(entry));
      if (s) stats.set(Number(entry), s);
    }
    const children = new Map<number, number[]>();
    for (const [pid, s] of stats) {
      const list = children.get(s.ppid) ?? [];
      list.push(pid);
      children.set(s.ppid, list);
    }
    const procs = new Map<number, { rss: number; ticks: number }>();
    for (const root of this.roots()) {
      const queue = [root.pid];
      while (queue.length > 0) {
        const pid = queue.shift() as number;
        const s = stats.get(pid);
        if (!s) continue;
        if (!this.info.has(pid)) this.info.set(pid, { tree: root.tree, name: describe(pid, s.comm) });
        procs.set(pid, { rss: s.rssPages * PAGE, ticks: s.ticks });
        queue.push(...(children.get(pid) ?? []));
      }
    }
    this.samples.push({ t: Date.now(), procs, ...machineJiffies() });
  }
}

/** A short name: the command plus what it runs (wrangler, workerd serving the user worker, …). */
function describe(pid: number, comm: string): string {
  let cmd = "";
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return comm;
  }
  if (/wrangler-dist\/cli\.js/.test(cmd)) return "wrangler dev (node: miniflare, logs)";
  if (/wrangler\.js/.test(cmd)) return "wrangler launcher (node)";
  if (/esbuild/.test(cmd)) return "esbuild";
  if (/workerd/.test(comm) || /workerd/.test(cmd)) {
    // wrangler dev runs two: a proxy on the public port, and the runtime of the worker itself.
    return /socket-addr=entry=127\.0\.0\.1:0\b/.test(cmd) ? "workerd (worker runtime)" : "workerd (dev proxy, public port)";
  }
  if (pid === process.pid) return "bench (node)";
  return comm;
}

function summarize(sampler: ProcSampler, from: number, to: number): { processes: ProcessUsage[]; peakByTree: Record<string, number>; peakTotal: number; busyAvg: number; busyPeak: number } {
  const samples = sampler.samples;
  const inRange = samples.filter((s) => s.t >= from - 600 && s.t <= to + 600);
  const first = inRange[0];
  const last = inRange[inRange.length - 1];
  const processes: ProcessUsage[] = [];
  for (const [pid, info] of sampler.info) {
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, s.procs.get(pid)?.rss ?? 0);
    const series = inRange.filter((s) => s.procs.has(pid));
    const a = series[0];
    const b = series[series.length - 1];
    const cpu = a && b ? ((b.procs.get(pid)?.ticks ?? 0) - (a.procs.get(pid)?.ticks ?? 0)) / HZ : 0;
    const wall = a && b ? (b.t - a.t) / 1000 : 0;
    let peak2 = 0;
    for (let i = 0; i < series.length; i++) {
      const s0 = series[i] as ProcSample;
      let j = i;
      while (j + 1 < series.length && (series[j] as ProcSample).t - s0.t < 2000) j++;
      const s1 = series[j] as ProcSample;
      const dt = (s1.t - s0.t) / 1000;
      if (dt >= 1.5) peak2 = Math.max(peak2, ((s1.procs.get(pid)?.ticks ?? 0) - (s0.procs.get(pid)?.ticks ?? 0)) / HZ / dt);
    }
    processes.push({
      tree: info.tree,
      pid,
      name: info.name,
      peakRssMb: peak / 2 ** 20,
      cpuSecondsLoad: cpu,
      avgCoresLoad: wall > 0 ? cpu / wall : 0,
      peakCores2s: peak2,
    });
  }
  processes.sort((x, y) => y.cpuSecondsLoad - x.cpuSecondsLoad);
  const peakByTree: Record<string, number> = {};
  let peakTotal = 0;
  for (const s of samples) {
    const byTree: Record<string, number> = {};
    let total = 0;
    for (const [pid, p] of s.procs) {
      const tree = sampler.info.get(pid)?.tree ?? "?";
      byTree[tree] = (byTree[tree] ?? 0) + p.rss;
      total += p.rss;
    }
    for (const [tree, rss] of Object.entries(byTree)) peakByTree[tree] = Math.max(peakByTree[tree] ?? 0, rss / 2 ** 20);
    peakTotal = Math.max(peakTotal, total / 2 ** 20);
  }
  const cores = Math.max(1, navigatorCores());
  const busyAvg = first && last && last.total > first.total ? (last.busy - first.busy) / (last.total - first.total) : 0;
  let busyPeak = 0;
  for (let i = 0; i < inRange.length; i++) {
    const s0 = inRange[i] as ProcSample;
    let j = i;
    while (j + 1 < inRange.length && (inRange[j] as ProcSample).t - s0.t < 2000) j++;
    const s1 = inRange[j] as ProcSample;
    if (s1.total - s0.total > 0 && s1.t - s0.t >= 1500) busyPeak = Math.max(busyPeak, (s1.busy - s0.busy) / (s1.total - s0.total));
  }
  return { processes, peakByTree, peakTotal, busyAvg: busyAvg * cores, busyPeak: busyPeak * cores };
}

function phaseCpu(sampler: ProcSampler, from: number, to: number): PhaseCpu {
  const nearest = (t: number) => sampler.samples.reduce((best, x) => (Math.abs(x.t - t) < Math.abs(best.t - t) ? x : best), sampler.samples[0] as ProcSample);
  const a = nearest(from);
  const b = nearest(to);
  const cpuSeconds: Record<string, number> = {};
  for (const [pid, info] of sampler.info) {
    const pa = a.procs.get(pid);
    const pb = b.procs.get(pid);
    if (!pb) continue;
    cpuSeconds[info.tree] = (cpuSeconds[info.tree] ?? 0) + (pb.ticks - (pa?.ticks ?? pb.ticks)) / HZ;
  }
  return { fromMs: a.t, toMs: b.t, cpuSeconds };
}

function navigatorCores(): number {
  try {
    return readFileSync("/proc/cpuinfo", "utf8").split("\n").filter((l) => l.startsWith("processor")).length;
  } catch {
    return 1;
  }
}

// ── D1, read after the relay has stopped ──────────────────────────────────────────────

function d1Query(root: string, persistTo: string, sql: string): Record<string, unknown>[][] {
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const out = spawnSync(process.execPath, [wrangler, "d1", "execute", "DB", "--local", "--persist-to", persistTo, "--command", sql, "--json"], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_D1_WARNING: "true", CI: "true" },
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
    timeout: 120_000,
  });
  if (out.status !== 0) throw new Error(`wrangler d1 execute failed: ${(out.stderr || out.stdout).slice(-800)}`);
  const parsed = JSON.parse(out.stdout) as { results?: Record<string, unknown>[] }[];
  return parsed.map((r) => r.results ?? []);
}

function readD1(root: string, persistTo: string, tasks: number): D1Summary {
  const sql = [
    "SELECT count(*) AS n, sum(status = 'succeeded') AS ok, coalesce(sum(d1_writes), 0) AS w, coalesce(sum(polls), 0) AS polls FROM tasks",
    "SELECT d1_writes AS w, count(*) AS n FROM tasks GROUP BY d1_writes ORDER BY d1_writes",
    "SELECT count(*) AS n, sum(status = 'succeeded') AS ok FROM deliveries",
    "SELECT count(*) AS n FROM delivery_attempts",
    "SELECT count(*) AS n FROM tenant_secrets",
    "SELECT count(*) AS n FROM idempotency_keys",
    "SELECT count(*) AS n FROM chat_calls",
    "SELECT coalesce(status_code, 0) AS code, coalesce(substr(error, 1, 80), '') AS error, count(*) AS n FROM delivery_attempts GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10",
  ].join("; ");
  const r = d1Query(root, persistTo, sql);
  const num = (i: number, col: string) => Number(r[i]?.[0]?.[col] ?? 0);
  const dist: Record<string, number> = {};
  for (const row of r[1] ?? []) dist[String(row.w)] = Number(row.n);
  const workerWrites = { tenantSecrets: num(4, "n"), idempotencyKeys: num(5, "n"), chatCalls: num(6, "n") };
  const n = Math.max(1, tasks);
  return {
    method:
      "wrangler d1 execute DB --local --persist-to <tmp> --json after the relay stopped: tasks.d1_writes (every statement a task's object ran, counted in its last row write, which at the terminal status also carries the delivery and attempt rows) plus the Worker's own writes (tenant secrets, idempotency keys, chat calls), divided by tasks",
    tasksRows: num(0, "n"),
    succeeded: num(0, "ok"),
    d1WritesSum: num(0, "w"),
    d1WritesPerTask: num(0, "w") / n,
    d1WritesDistribution: dist,
    deliveriesRows: num(2, "n"),
    deliveriesSucceeded: num(2, "ok"),
    attemptsRows: num(3, "n"),
    workerWrites,
    attemptOutcomes: (r[7] ?? []).map((row) => ({ statusCode: Number(row.code) || null, error: String(row.error ?? "") || null, count: Number(row.n) })),
    statementsPerTask: (num(0, "w") + workerWrites.tenantSecrets + workerWrites.idempotencyKeys + workerWrites.chatCalls) / n,
    pollsColumnPerTask: num(0, "polls") / n,
  };
}

// ── Dev-server log accounting ─────────────────────────────────────────────────────────

/**
 * What the dev servers printed, counted: a reload (someone saved a watched source file)
 * restarts the worker mid-run and explains failed requests, so it must show in the result.
 */
export interface StackLogCounts {
  lines: number;
  reloads: { relay: number; sim: number };
  errors: number;
  d1Deferred: number;
  samples: string[];
}

function newLogCounts(): StackLogCounts {
  return { lines: 0, reloads: { relay: 0, sim: 0 }, errors: 0, d1Deferred: 0, samples: [] };
}

function countLine(c: StackLogCounts, line: string): void {
  c.lines++;
  const tree = line.startsWith("[sim]") ? "sim" : "relay";
  if (/Reloading local server/.test(line)) c.reloads[tree]++;
  if (/D1 write deferred/.test(line)) c.d1Deferred++;
  const benign = /Request\.cf|workers\.cloudflare\.com|getaddrinfo|GetAddrInfoReqWrap|metrics|NOSENTRY/i;
  if (/error|✘|exception|uncaught/i.test(line) && !benign.test(line)) {
    c.errors++;
    if (c.samples.length < 8) c.samples.push(line.slice(0, 300));
  }
}

const LEAN_ENV: Record<string, string> = { WRANGLER_LOG: "warn", VSCODE_INSPECTOR_OPTIONS: "{}" };

async function importStack(root: string): Promise<unknown> {
  return import(pathToFileURL(join(root, "scripts", "local-stack.mjs")).href);
}

// ── The run ────────────────────────────────────────────────────────────────────────────

interface Stack {
  relayUrl: string;
  simUrl: string;
  sim: { pid?: number };
  relay: { pid?: number };
  stop(): Promise<void>;
}

interface SimTaskView {
  taskid: string;
  createdAt: number;
  polls: number;
  status: string;
  config: { createdMs: number; pendingMs: number; runningMs: number; queryPeriodMs: number | null };
}

interface HookDelivery {
  receivedAt: number;
  verified: boolean | null;
  webhookId: string | null;
  json?: { type?: string; data?: { id?: string; upstream_taskid?: string; completed_at?: string | null } };
}

export async function runLiveLoadOnce(options: LiveLoadOptions = {}): Promise<LiveLoadRun> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.error(line));
  const taskCount = Math.max(1, Math.floor(options.tasks ?? (options.quick ? 200 : 1000)));
  // About 100 tasks per tenant: the simulator keeps 2000 request records per key, which the
  // poll-spacing analysis reads.
  const keyCount = Math.max(1, Math.min(taskCount, Math.floor(options.keys ?? Math.max(10, Math.ceil(taskCount / 100)))));
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 48));
  const runMin = options.runningMinMs ?? 5_000;
  const runMax = options.runningMaxMs ?? 20_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 240_000;
  const hardDeadline = started + (options.hardTimeoutMs ?? 720_000);
  const vars = { ...DEFAULT_VARS, ...(options.vars ?? {}) };
  const root = repoRoot();
  const devMode = options.devMode ?? "default";
  const { startStack } = (await importStack(root)) as {
    startStack(o: { relayPort: number; simPort: number; persistTo: string; vars: Record<string, string>; env: Record<string, string>; log: (l: string) => void }): Promise<Stack>;
  };

  const persistTo = mkdtempSync(join(options.stateDir ?? tmpdir(), "relay-live-load-"));
  const run = randomUUID().slice(0, 8);
  const stackLog: string[] = [];
  const logCounts = newLogCounts();
  let stack: Stack | null = null;
  let sampler: ProcSampler | null = null;
  const onSignal = () => {
    void (stack?.stop() ?? Promise.resolve()).finally(() => {
      rmSync(persistTo, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const relayPort = await stackPort([]);
    const simPort = await stackPort([relayPort, relayPort + 1000]);
    log(`[live] starting stack (relay :${relayPort}, sim :${simPort}, state ${persistTo})`);
    stack = await startStack({
      relayPort,
      simPort,
      persistTo,
      vars: { KEY_ENCRYPTION_SECRET: randomBytes(32).toString("base64url"), ...vars },
      env: devMode === "lean" ? LEAN_ENV : {},
      log: (line) => {
        countLine(logCounts, line);
        stackLog.push(line);
        if (stackLog.length > 400) stackLog.shift();
      },
    });
    const s = stack;
    sampler = new ProcSampler(() => [
      { tree: "relay", pid: s.relay.pid ?? -1 },
      { tree: "sim", pid: s.sim.pid ?? -1 },
      { tree: "bench", pid: process.pid },
    ]);
    sampler.start(500);

    // Tenants: one key each, its own RUNNING time (the simulator fixes timing per key at
    // submission), its default secret on its receivers.
    const keys = Array.from({ length: keyCount }, (_, i) => `sk-live-${run}-${i}`);
    const runningMsByKey = keys.map((_, i) => Math.round(keyCount === 1 ? (runMin + runMax) / 2 : runMin + ((runMax - runMin) * i) / (keyCount - 1)));
    const receiversPerKey = Math.max(1, Math.ceil(Math.ceil(taskCount / keyCount) / RECEIVER_CAP));
    const receivers: string[][] = [];
    for (let i = 0; i < keyCount; i++) {
      const key = keys[i] as string;
      await http(`${s.simUrl}/__sim/config`, {
        json: { key, task: { createdMs: SIM_CREATED_MS, pendingMs: SIM_MIN_PENDING_MS, runningMs: runningMsByKey[i], outcome: "SUCCEEDED" } },
      });
      const secret = await http<{ secret?: string }>(`${s.relayUrl}/v1/webhooks/default/secret`, { key });
      if (secret.status !== 200 || !secret.body.secret) throw new Error(`default secret for tenant ${i}: HTTP ${secret.status} ${JSON.stringify(secret.body)}`);
      const names: string[] = [];
      for (let r = 0; r < receiversPerKey; r++) {
        const name = `live-${run}-${i}-${r}`;
        await http(`${s.simUrl}/__sim/hooks/${name}`, { method: "PUT", json: { secrets: [secret.body.secret] } });
        names.push(name);
      }
      receivers.push(names);
    }
    const allReceivers = receivers.flat();

    // Submit.
    log(`[live] submitting ${taskCount} tasks over ${keyCount} tenants, ${concurrency} at a time`);
    interface Sub {
      key: string;
      sentAt: number;
      acceptedAt: number | null;
      status: number;
      error: string | null;
      taskId: string | null;
    }
    const subs: Sub[] = [];
    const errorSamples: Record<string, string> = {};
    const plan = Array.from({ length: taskCount }, (_, i) => i);
    const submitStart = Date.now();
    let lastProgress = submitStart;
    // Release: every task stays PENDING upstream until about when the last one will have
    // been submitted (predicted from the rate so far, re-set on each key every second), then
    // RUNNING for its tenant's time. So all tasks are in flight together however fast the
    // stack takes submissions, and each still goes CREATED → PENDING → RUNNING → SUCCEEDED.
    const pendingSet = new Map<string, number>();
    const rateSamples: { t: number; done: number }[] = [];
    let releaseAt = 0;
    const setRelease = async () => {
      const now = Date.now();
      const done = subs.length;
      rateSamples.push({ t: now, done });
      while (rateSamples.length > 1 && (rateSamples[0] as { t: number }).t < now - 5000) rateSamples.shift();
      const first = rateSamples[0] as { t: number; done: number };
      const overall = done / Math.max(0.001, (now - submitStart) / 1000);
      const recent = now - first.t >= 2000 ? (done - first.done) / ((now - first.t) / 1000) : overall;
      // The rate falls as more tasks are polled: plan with the slower of the two.
      const rate = done >= 20 ? Math.max(1, Math.min(overall, recent)) : GUESS_RATE_PER_S;
      // 1.5×: the rate keeps falling as more tasks are being polled.
      releaseAt = now + ((taskCount - done) / rate) * 1500 + RELEASE_MARGIN_MS;
      const pendingMs = Math.max(SIM_MIN_PENDING_MS, Math.round(releaseAt - now - SIM_CREATED_MS));
      await Promise.all(
        keys.map(async (key) => {
          if (Math.abs((pendingSet.get(key) ?? 0) - pendingMs) < 200) return;
          pendingSet.set(key, pendingMs);
          await http(`${s.simUrl}/__sim/config`, { json: { key, task: { pendingMs } } }).catch(() => undefined);
        }),
      );
    };
    await setRelease();
    let submitting = true;
    const releaseLoop = (async () => {
      while (submitting) {
        await sleep(1000);
        if (submitting) await setRelease();
      }
    })();
    await mapLimit(plan, concurrency, async (i) => {
      const k = i % keyCount;
      const key = keys[k] as string;
      const names = receivers[k] as string[];
      const hook = names[Math.floor(i / keyCount) % names.length] as string;
      const sentAt = Date.now();
      const sub: Sub = { key, sentAt, acceptedAt: null, status: 0, error: null, taskId: null };
      if (sentAt > hardDeadline - drainTimeoutMs / 2) {
        sub.error = "not sent (time limit)";
        subs.push(sub);
        return;
      }
      try {
        const res = await http<{ id?: string; error?: { code?: string; message?: string } }>(`${s.relayUrl}/v1/videos`, {
          key,
          json: { model: MODEL, prompt: `live load ${run} #${i}`, webhook: `${s.simUrl}/hooks/${hook}`, metadata: { bench: "live-load", n: String(i) } },
          timeoutMs: 60_000,
        });
        sub.status = res.status;
        if (res.status === 202 && res.body.id) {
          sub.acceptedAt = Date.now();
          sub.taskId = res.body.id;
        } else {
          sub.error = `HTTP ${res.status} ${res.body.error?.code ?? ""}`.trim();
          if (!errorSamples[sub.error]) errorSamples[sub.error] = (typeof res.body === "string" ? res.body : JSON.stringify(res.body)).slice(0, 300);
        }
      } catch (err) {
        sub.error = err instanceof Error ? err.name : "error";
        if (!errorSamples[sub.error]) errorSamples[sub.error] = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? "")}`.slice(0, 300) : String(err);
      }
      subs.push(sub);
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        log(`[live]   submitted ${subs.length}/${taskCount}`);
      }
    });
    const submitEnd = Date.now();
    submitting = false;
    await releaseLoop;
    const accepted = subs.filter((x) => x.acceptedAt !== null);
    const errors: Record<string, number> = {};
    for (const x of subs) if (x.error) errors[x.error] = (errors[x.error] ?? 0) + 1;
    log(`[live] submitted in ${((submitEnd - submitStart) / 1000).toFixed(1)} s: ${accepted.length} accepted, ${subs.length - accepted.length} failed`);

    // Drain: cheap counts first, then the full lists once the counts add up.
    const acceptedIds = new Set(accepted.map((x) => x.taskId as string));
    const deadline = Math.min(submitEnd + drainTimeoutMs, hardDeadline);
    let deliveries: HookDelivery[] = [];
    let timedOut = true;
    lastProgress = 0;
    while (Date.now() < deadline) {
      const list = await http<{ receivers: { name: string; deliveries: number }[] }>(`${s.simUrl}/hooks`).catch(() => null);
      const mine = new Set(allReceivers);
      const count = list?.body.receivers?.filter((r) => mine.has(r.name)).reduce((a, r) => a + r.deliveries, 0) ?? 0;
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        log(`[live]   webhooks ${count}/${accepted.length} (${((Date.now() - submitStart) / 1000).toFixed(0)} s)`);
      }
      if (count >= accepted.length) {
        deliveries = await fetchDeliveries(s.simUrl, allReceivers);
        const seen = new Set(deliveries.map((d) => d.json?.data?.id).filter((id): id is string => !!id && acceptedIds.has(id)));
        if (seen.size >= acceptedIds.size) {
          timedOut = false;
          break;
        }
      }
      await sleep(1000);
    }
    const drainEnd = Date.now();
    if (timedOut) deliveries = await fetchDeliveries(s.simUrl, allReceivers);

    // Simulator truth: each task's SUCCEEDED moment, polls per task.
    const simTasks = new Map<string, SimTaskView>();
    let videoCalls = 0;
    let tasksCalls = 0;
    const gaps: number[] = [];
    let pollsAfterSubmission = 0;
    for (const key of keys) {
      const reqs = await http<{ requests?: { taskid?: string; receivedAt: number; finishedAt: number | null }[] }>(
        `${s.simUrl}/__sim/requests?key=${encodeURIComponent(key)}&route=tasks`,
        { timeoutMs: 60_000 },
      ).catch(() => null);
      const byTaskid = new Map<string, number[]>();
      for (const q of reqs?.body.requests ?? []) {
        if (q.receivedAt > submitEnd) pollsAfterSubmission++;
        if (!q.taskid) continue;
        const list = byTaskid.get(q.taskid) ?? [];
        list.push(q.receivedAt);
        byTaskid.set(q.taskid, list);
      }
      for (const times of byTaskid.values()) {
        times.sort((x, y) => x - y);
        for (let j = 6; j < times.length; j++) gaps.push((times[j] as number) - (times[j - 1] as number));
      }
      const list = await http<{ tasks: SimTaskView[] }>(`${s.simUrl}/__sim/tasks?key=${encodeURIComponent(key)}`, { timeoutMs: 60_000 });
      for (const t of list.body.tasks ?? []) simTasks.set(t.taskid, t);
      const stats = await http<{ video: number; tasks: number }>(`${s.simUrl}/__sim/stats?key=${encodeURIComponent(key)}`);
      videoCalls += stats.body.video ?? 0;
      tasksCalls += stats.body.tasks ?? 0;
    }

    // Let the objects' last D1 batch land (it follows the delivery in the same alarm):
    // count the succeeded tasks through the API, at most 20 s.
    await waitForD1(s.relayUrl, keys, acceptedIds.size, 20_000);

    sampler.stop();
    log("[live] stopping stack");
    await s.stop();
    stack = null;

    let d1: D1Summary | { error: string };
    try {
      d1 = readD1(root, persistTo, accepted.length);
    } catch (err) {
      d1 = { error: err instanceof Error ? err.message : String(err) };
    }

    // Webhook accounting.
    const byTask = new Map<string, HookDelivery[]>();
    for (const d of deliveries) {
      const id = d.json?.data?.id;
      if (!id || !acceptedIds.has(id)) continue;
      const list = byTask.get(id) ?? [];
      list.push(d);
      byTask.set(id, list);
    }
    const firsts = [...byTask.values()].map((l) => l.reduce((a, b) => (b.receivedAt < a.receivedAt ? b : a)));
    const mineDeliveries = [...byTask.values()].flat();
    const verified = mineDeliveries.filter((d) => d.verified === true).length;
    const uniqueEventIds = new Set(mineDeliveries.map((d) => d.webhookId));
    const lastWebhook = firsts.reduce((m, d) => Math.max(m, d.receivedAt), 0);

    const toWebhook: number[] = [];
    const toDetected: number[] = [];
    const detectedToWebhook: number[] = [];
    const ends: { start: number; end: number }[] = [];
    for (const d of firsts) {
      const t = simTasks.get(d.json?.data?.upstream_taskid ?? "");
      const completedAt = d.json?.data?.completed_at ? Date.parse(d.json.data.completed_at) : Number.NaN;
      if (!t) continue;
      const succeededAt = t.createdAt + t.config.createdMs + t.config.pendingMs + t.config.runningMs;
      toWebhook.push(d.receivedAt - succeededAt);
      toDetected.push(completedAt - succeededAt);
      detectedToWebhook.push(d.receivedAt - completedAt);
    }
    for (const t of simTasks.values()) ends.push({ start: t.createdAt, end: t.createdAt + t.config.createdMs + t.config.pendingMs + t.config.runningMs });
    const receivedBy = new Map(firsts.map((d) => [d.json?.data?.id as string, d.receivedAt]));
    const flights = accepted.map((x) => ({ start: x.acceptedAt as number, end: receivedBy.get(x.taskId as string) ?? Number.POSITIVE_INFINITY }));
    const simPolls = [...simTasks.values()].map((t) => t.polls);
    const pp = percentiles(simPolls);
    const subLat = percentiles(accepted.map((x) => (x.acceptedAt as number) - x.sentAt));
    const loadEnd = timedOut ? drainEnd : lastWebhook;
    const usage = summarize(sampler, submitStart, loadEnd);
    const pollingPhase = phaseCpu(sampler, submitEnd, loadEnd);
    const submissionPhase = phaseCpu(sampler, submitStart, submitEnd);
    const relayPerPoll = ((pollingPhase.cpuSeconds.relay ?? 0) * 1000) / Math.max(1, pollsAfterSubmission);
    const simPerPoll = ((pollingPhase.cpuSeconds.sim ?? 0) * 1000) / Math.max(1, pollsAfterSubmission);

    const result: LiveLoadRun = {
      part: "live-load",
      startedAt: new Date(started).toISOString(),
      config: {
        tasks: taskCount,
        keys: keyCount,
        receivers: allReceivers.length,
        concurrency,
        model: MODEL,
        simTask: { createdMs: SIM_CREATED_MS, pendingMs: percentiles([...simTasks.values()].map((t) => t.config.pendingMs)), runningMsByKey },
        relayVars: vars,
        stateDir: options.stateDir ?? tmpdir(),
      },
      submission: {
        accepted: accepted.length,
        failed: subs.length - accepted.length,
        errors,
        errorSamples,
        durationMs: submitEnd - submitStart,
        perSecond: accepted.length / Math.max(0.001, (submitEnd - submitStart) / 1000),
        latencyP50Ms: subLat.p50,
        latencyP95Ms: subLat.p95,
        latencyMaxMs: subLat.max,
      },
      peakInFlight: peakOverlap(flights),
      taskLifetimeMs: percentiles(ends.map((e) => e.end - e.start)),
      peakUpstreamActive: peakOverlap(ends),
      webhooks: {
        deliveries: mineDeliveries.length,
        uniqueTasks: byTask.size,
        verified,
        unverified: mineDeliveries.length - verified,
        duplicates: mineDeliveries.length - uniqueEventIds.size,
        missing: accepted.length - byTask.size,
      },
      drainMs: timedOut || firsts.length === 0 ? null : lastWebhook - submitStart,
      timedOut,
      latency: {
        completionToWebhook: percentiles(toWebhook),
        completionToDetected: percentiles(toDetected),
        detectedToWebhook: percentiles(detectedToWebhook),
      },
      upstream: {
        pollGapAfterBackoff: percentiles(gaps),
        pollsAfterSubmission,
        pollsPerTask: tasksCalls / Math.max(1, accepted.length),
        pollsPerTaskP50: pp.p50,
        pollsPerTaskMax: pp.max,
        videoCalls,
        tasksCalls,
      },
      d1,
      memory: { peakRssMbByTree: usage.peakByTree, peakRssMbTotal: usage.peakTotal },
      cpu: {
        cores: navigatorCores(),
        machineBusyAvg: usage.busyAvg,
        machineBusyPeak2s: usage.busyPeak,
        otherLoadAvg: Math.max(0, usage.busyAvg - usage.processes.reduce((a, p) => a + p.avgCoresLoad, 0)),
        msPerTask: perTask(usage.processes, accepted.length),
        phases: { submission: submissionPhase, polling: pollingPhase },
        msPerPoll: { relay: relayPerPoll, sim: simPerPoll },
        processes: usage.processes,
      },
      devServer: { mode: devMode, env: devMode === "lean" ? LEAN_ENV : {}, log: logCounts },
      targets: [],
      observations: [],
      elapsedMs: 0,
    };
    result.targets = targetsFor(result);
    result.observations = observe(result);
    result.elapsedMs = Date.now() - started;
    return result;
  } catch (err) {
    if (stackLog.length > 0) log(`[live] last stack output:\n${stackLog.slice(-30).join("\n")}`);
    throw err;
  } finally {
    sampler?.stop();
    if (stack) await stack.stop().catch(() => undefined);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(persistTo, { recursive: true, force: true });
  }
}

function perTask(processes: ProcessUsage[], tasks: number): LiveLoadRun["cpu"]["msPerTask"] {
  const sum = (tree: string | null) => processes.filter((p) => tree === null || p.tree === tree).reduce((a, p) => a + p.cpuSecondsLoad, 0);
  const n = Math.max(1, tasks);
  return { relay: (sum("relay") * 1000) / n, sim: (sum("sim") * 1000) / n, bench: (sum("bench") * 1000) / n, total: (sum(null) * 1000) / n };
}

async function fetchDeliveries(simUrl: string, names: string[]): Promise<HookDelivery[]> {
  const out: HookDelivery[] = [];
  for (const name of names) {
    const r = await http<{ deliveries?: HookDelivery[] }>(`${simUrl}/hooks/${name}`, { timeoutMs: 60_000 });
    out.push(...(r.body.deliveries ?? []));
  }
  return out;
}

async function waitForD1(relayUrl: string, keys: string[], expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let total = 0;
    for (const key of keys) {
      let cursor: string | null = null;
      do {
        const url = `${relayUrl}/v1/tasks?status=succeeded&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const page: { status: number; body: { data?: unknown[]; next_cursor?: string | null } } = await http<{ data?: unknown[]; next_cursor?: string | null }>(url, { key }).catch(() => ({ status: 0, body: {} }));
        total += page.body.data?.length ?? 0;
        cursor = page.body.next_cursor ?? null;
      } while (cursor);
    }
    if (total >= expected) return;
    await sleep(1000);
  }
}

function peakOverlap(intervals: { start: number; end: number }[]): number {
  const events: [number, number][] = [];
  for (const iv of intervals) {
    events.push([iv.start, 1]);
    if (Number.isFinite(iv.end)) events.push([iv.end, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of events) {
    cur += d;
    peak = Math.max(peak, cur);
  }
  return peak;
}

// ── Targets and report ─────────────────────────────────────────────────────────────────

const P95_TARGET_MS = 7_000; // POLL_MAX_INTERVAL_MS (5 s) + 2 s for detection and delivery

function targetsFor(r: LiveLoadRun): Target[] {
  const n = r.config.tasks;
  const t: Target[] = [];
  t.push({ name: `all ${n} submissions accepted (202)`, met: r.submission.accepted === n, detail: `${r.submission.accepted} accepted, ${r.submission.failed} failed${r.submission.failed ? ` ${JSON.stringify(r.submission.errors)}` : ""}` });
  const a = r.submission.accepted;
  t.push({ name: `at least 1,000 tasks in flight at once${n < 1000 ? ` (this run: all ${n})` : ""}`, met: a > 0 && r.peakInFlight >= Math.min(n, 1000) && r.peakInFlight >= a, detail: `peak ${r.peakInFlight} in flight (accepted, not yet notified) of ${a} accepted` });
  t.push({ name: "every accepted task's webhook arrived", met: a > 0 && r.webhooks.missing === 0 && r.webhooks.uniqueTasks === a, detail: `${r.webhooks.uniqueTasks}/${a} tasks notified, ${r.webhooks.deliveries} deliveries${r.timedOut ? ", timed out" : ""}` });
  t.push({ name: "every delivery verified (Standard Webhooks, tenant default secret)", met: r.webhooks.deliveries > 0 && r.webhooks.unverified === 0, detail: `${r.webhooks.verified}/${r.webhooks.deliveries} verified` });
  t.push({
    name: `completion→webhook p95 ≤ ${P95_TARGET_MS / 1000} s (max poll interval + 2 s)`,
    met: r.latency.completionToWebhook.p95 <= P95_TARGET_MS,
    detail: `p50 ${sec(r.latency.completionToWebhook.p50)}, p95 ${sec(r.latency.completionToWebhook.p95)}, max ${sec(r.latency.completionToWebhook.max)}`,
  });
  const reloads = r.devServer.log.reloads.relay + r.devServer.log.reloads.sim;
  t.push({ name: "run valid: no dev-server reload during the run", met: reloads === 0, detail: reloads === 0 ? "none" : `relay reloaded ${r.devServer.log.reloads.relay}×, sim ${r.devServer.log.reloads.sim}× (a watched source file changed): requests in flight were cut` });
  if (!("error" in r.d1)) {
    t.push({ name: "D1 index complete (a succeeded row and a succeeded delivery per task)", met: r.d1.succeeded === a && r.d1.deliveriesSucceeded === a, detail: `${r.d1.succeeded} succeeded rows, ${r.d1.deliveriesSucceeded} succeeded deliveries` });
  }
  return t;
}

function observe(r: LiveLoadRun): string[] {
  const o: string[] = [];
  const top = r.cpu.processes.slice(0, 3);
  for (const p of top) {
    if (p.avgCoresLoad >= 0.05) o.push(`${p.tree} ${p.name} (pid ${p.pid}) used ${p.avgCoresLoad.toFixed(2)} cores on average during the load (peak ${p.peakCores2s.toFixed(2)} over 2 s)${p.peakCores2s >= 0.9 ? " — single-threaded and saturated at its peak" : ""}.`);
  }
  o.push(`Machine CPU during the load: ${r.cpu.machineBusyAvg.toFixed(2)} of ${r.cpu.cores} cores on average, peak ${r.cpu.machineBusyPeak2s.toFixed(2)}; ${r.cpu.otherLoadAvg.toFixed(2)} cores of it were other work on the machine${r.cpu.otherLoadAvg > 0.25 ? " — timings are disturbed, CPU per task is still comparable" : ""}.`);
  const m = r.cpu.msPerTask;
  o.push(`CPU per task (load phase, all processes): ${m.total.toFixed(0)} ms (relay tree ${m.relay.toFixed(0)} ms, simulator tree ${m.sim.toFixed(0)} ms, bench client ${m.bench.toFixed(0)} ms): ${r.cpu.cores} cores can carry at most about ${((r.cpu.cores * 1000) / Math.max(1, m.total)).toFixed(0)} tasks/s through this stack.`);
  const perPoll = r.cpu.msPerPoll.relay + r.cpu.msPerPoll.sim;
  const maxI = Number(r.config.relayVars.POLL_MAX_INTERVAL_MS ?? Number.NaN);
  if (perPoll > 0 && Number.isFinite(maxI)) {
    const need = (r.submission.accepted / (maxI / 1000)) * (perPoll / 1000);
    o.push(`Steady polling of ${r.submission.accepted} tasks every ${sec(maxI)} is ${(r.submission.accepted / (maxI / 1000)).toFixed(0)} polls/s; at ${perPoll.toFixed(1)} ms of CPU per poll (relay ${r.cpu.msPerPoll.relay.toFixed(1)} + simulator ${r.cpu.msPerPoll.sim.toFixed(1)}) that needs ${need.toFixed(2)} cores of the ${r.cpu.cores}${need > r.cpu.cores * 0.8 ? " — more than this machine can give, so alarms fall behind" : ""}.`);
  }
  if (r.devServer.log.errors > 0) o.push(`Dev servers printed ${r.devServer.log.errors} error lines, e.g. ${r.devServer.log.samples.slice(0, 2).map((x) => `\`${x.replace(/`/g, "'").slice(0, 160)}\``).join("; ")}.`);
  if (r.devServer.log.d1Deferred > 0) o.push(`${r.devServer.log.d1Deferred} D1 writes were deferred (retried later by the task objects).`);
  if (r.submission.durationMs > 0) {
    o.push(`Submission took ${sec(r.submission.durationMs)} (${r.submission.perSecond.toFixed(0)}/s, p50 ${ms(r.submission.latencyP50Ms)}, p95 ${ms(r.submission.latencyP95Ms)} each).`);
  }
  const det = r.latency.completionToDetected;
  const del = r.latency.detectedToWebhook;
  o.push(`Latency split: upstream SUCCEEDED → relay saw it p50 ${sec(det.p50)} / p95 ${sec(det.p95)} (poll spacing and alarm lag); relay saw it → receiver p50 ${sec(del.p50)} / p95 ${sec(del.p95)} (delivery).`);
  const maxInterval = Number(r.config.relayVars.POLL_MAX_INTERVAL_MS ?? Number.NaN);
  const gap = r.upstream.pollGapAfterBackoff;
  if (gap.n > 0 && Number.isFinite(maxInterval)) {
    o.push(`Polls once backed off came every ${sec(gap.p50)} (p50; p95 ${sec(gap.p95)}) against a planned ${sec(maxInterval)}: ${gap.p50 > maxInterval * 1.1 ? `the relay's alarms ran about ${sec(gap.p50 - maxInterval)} late at the median — the relay runtime could not keep its schedule` : "the relay kept its schedule"}.`);
  }
  return o;
}

function sec(x: number | null): string {
  return x !== null && Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : "—";
}
function ms(x: number): string {
  return Number.isFinite(x) ? `${Math.round(x)} ms` : "—";
}
function mb(x: number): string {
  return `${x.toFixed(0)} MB`;
}

export function liveLoadRunMarkdown(r: LiveLoadRun, informative = false): string {
  const L: string[] = [];
  const c = r.config;
  const runs = c.simTask.runningMsByKey;
  L.push(`#### ${modeTitle(r.devServer.mode)} — ${r.submission.accepted}/${c.tasks} tasks`, "");
  L.push(
    `- Setup: \`scripts/local-stack.mjs\` (\`wrangler dev\` for the relay and the simulator, fresh temporary state); ${c.keys} API keys (tenants), ${c.receivers} simulator receivers configured with each tenant's default secret; \`POST /v1/videos\` \`{model: "${c.model}", prompt, webhook, metadata}\`, ${c.concurrency} at a time.`,
    `- Simulated tasks: CREATED ${c.simTask.createdMs} ms; PENDING until about when the last task is submitted (the run predicts it from the submission rate and re-sets each tenant's pendingMs every second; here p50 ${sec(c.simTask.pendingMs.p50)}, max ${sec(c.simTask.pendingMs.max)}), so all tasks are in flight together; then RUNNING ${sec(Math.min(...runs))}–${sec(Math.max(...runs))} (one duration per tenant, evenly spread); all SUCCEEDED.`,
    `- Relay vars: ${Object.entries(c.relayVars).map(([k, v]) => `${k}=${v}`).join(", ")}.`,
    `- Dev servers: ${r.devServer.mode === "lean" ? `lean (${Object.entries(r.devServer.env).map(([k, v]) => `${k}=${v}`).join(", ")}: no per-request log through Node, no DevTools inspector proxy)` : "as `npm start` runs them"}.`,
    "",
  );
  L.push("| measure | value |", "|---|---:|");
  const row = (k: string, v: string) => L.push(`| ${k} | ${v} |`);
  row("submitted / accepted", `${c.tasks} / ${r.submission.accepted}`);
  row("submission time (rate)", `${sec(r.submission.durationMs)} (${r.submission.perSecond.toFixed(0)}/s)`);
  row("POST /v1/videos latency p50 / p95 / max", `${ms(r.submission.latencyP50Ms)} / ${ms(r.submission.latencyP95Ms)} / ${ms(r.submission.latencyMaxMs)}`);
  row("peak tasks in flight (accepted, not notified)", String(r.peakInFlight));
  row("webhooks: tasks notified / deliveries / verified", `${r.webhooks.uniqueTasks} / ${r.webhooks.deliveries} / ${r.webhooks.verified}`);
  row("duplicate deliveries (same webhook-id)", String(r.webhooks.duplicates));
  row("time to drain (first submission → last webhook)", r.timedOut ? "timed out" : sec(r.drainMs));
  const lw = r.latency.completionToWebhook;
  row("completion → webhook p50 / p95 / p99 / max", `${sec(lw.p50)} / ${sec(lw.p95)} / ${sec(lw.p99)} / ${sec(lw.max)}`);
  row("… of which completion → relay detected p50 / p95", `${sec(r.latency.completionToDetected.p50)} / ${sec(r.latency.completionToDetected.p95)}`);
  row("… of which detected → webhook received p50 / p95", `${sec(r.latency.detectedToWebhook.p50)} / ${sec(r.latency.detectedToWebhook.p95)}`);
  const g = r.upstream.pollGapAfterBackoff;
  row(`poll spacing once backed off (max interval ${Number(c.relayVars.POLL_MAX_INTERVAL_MS ?? 0) / 1000} s) p50 / p95 / max`, `${sec(g.p50)} / ${sec(g.p95)} / ${sec(g.max)} (n=${g.n})`);
  row("upstream polls per task (simulator; p50 / max)", `${r.upstream.pollsPerTask.toFixed(2)} (${r.upstream.pollsPerTaskP50} / ${r.upstream.pollsPerTaskMax})`);
  if ("error" in r.d1) {
    row("D1", `not read: ${r.d1.error.slice(0, 200)}`);
  } else {
    const d = r.d1;
    row("D1 statements per task (tasks.d1_writes)", `${d.d1WritesPerTask.toFixed(2)} (distribution ${Object.entries(d.d1WritesDistribution).map(([w, n]) => `${w}: ${n}`).join(", ")})`);
    row("D1 statements per task, incl. the Worker's own", `${d.statementsPerTask.toFixed(3)} (+${d.workerWrites.tenantSecrets} tenant secrets, ${d.workerWrites.idempotencyKeys} idempotency keys, ${d.workerWrites.chatCalls} chat calls)`);
    row("D1 rows held: tasks / deliveries / attempts", `${d.tasksRows} / ${d.deliveriesRows} / ${d.attemptsRows}`);
    row("delivery attempts by outcome", d.attemptOutcomes.map((x) => `${x.statusCode ?? "no answer"}${x.error ? ` (${x.error})` : ""}: ${x.count}`).join("; ").replace(/\|/g, "/"));
  }
  row("CPU per task: relay tree / sim tree / bench / total", `${r.cpu.msPerTask.relay.toFixed(0)} / ${r.cpu.msPerTask.sim.toFixed(0)} / ${r.cpu.msPerTask.bench.toFixed(0)} / ${r.cpu.msPerTask.total.toFixed(0)} ms`);
  row("task lifetime upstream (submission → SUCCEEDED) p50 / max", `${sec(r.taskLifetimeMs.p50)} / ${sec(r.taskLifetimeMs.max)}`);
  row("CPU per poll after the last submission: relay tree / sim tree", `${r.cpu.msPerPoll.relay.toFixed(1)} / ${r.cpu.msPerPoll.sim.toFixed(1)} ms (polling-phase CPU / ${r.upstream.pollsAfterSubmission} polls; includes that phase's webhooks)`);
  row("other load on the machine (avg cores)", r.cpu.otherLoadAvg.toFixed(2));
  row("peak RSS: relay tree / sim tree / bench / total", `${mb(r.memory.peakRssMbByTree.relay ?? 0)} / ${mb(r.memory.peakRssMbByTree.sim ?? 0)} / ${mb(r.memory.peakRssMbByTree.bench ?? 0)} / ${mb(r.memory.peakRssMbTotal)}`);
  L.push("");
  L.push("Processes (CPU during the load phase, first submission → last webhook):", "");
  L.push("| tree | process | pid | peak RSS | CPU s | avg cores | peak cores (2 s) |", "|---|---|---:|---:|---:|---:|---:|");
  for (const p of r.cpu.processes) {
    L.push(`| ${p.tree} | ${p.name} | ${p.pid} | ${mb(p.peakRssMb)} | ${p.cpuSecondsLoad.toFixed(1)} | ${p.avgCoresLoad.toFixed(2)} | ${p.peakCores2s.toFixed(2)} |`);
  }
  L.push("");
  if (!("error" in r.d1)) L.push(`D1 method: ${r.d1.method}.`, "");
  for (const x of r.observations) L.push(`- ${x}`);
  for (const [k, v] of Object.entries(r.submission.errorSamples ?? {})) L.push(`- Submission error ${k}, e.g.: \`${v.replace(/`/g, "'").replace(/\s+/g, " ").slice(0, 200)}\``);
  L.push("");
  if (informative) L.push("Informative (the part's verdict comes from the first run):", "");
  for (const t of r.targets) L.push(`- ${t.met ? "MET" : "MISSED"} — ${t.name}: ${t.detail}`);
  return L.join("\n");
}

// ── The suite: the relay's capacity, and what `npm start`'s dev servers add ───────────

export interface LiveLoadSuiteOptions extends Omit<LiveLoadOptions, "devMode"> {
  /** Tasks of the `npm start`-configuration comparison run (default 40% of tasks; 0: skip it). */
  compareTasks?: number;
}

export interface LiveLoadResult {
  part: "live-load";
  startedAt: string;
  /** runs[0] decides the targets (lean dev servers: the relay's own capacity); runs[1], when present, is `npm start` as is. */
  runs: LiveLoadRun[];
  targets: Target[];
  observations: string[];
  elapsedMs: number;
}

function modeTitle(mode: "default" | "lean"): string {
  return mode === "lean" ? "Lean dev servers (relay capacity)" : "Dev servers as `npm start` runs them";
}

export async function runLiveLoad(options: LiveLoadSuiteOptions = {}): Promise<LiveLoadResult> {
  const started = Date.now();
  const tasks = Math.max(1, Math.floor(options.tasks ?? (options.quick ? 200 : 1000)));
  const compareTasks = Math.max(0, Math.floor(options.compareTasks ?? Math.round(tasks * 0.4)));
  const runs: LiveLoadRun[] = [];
  runs.push(await runLiveLoadOnce({ ...options, tasks, devMode: "lean" }));
  if (compareTasks > 0) runs.push(await runLiveLoadOnce({ ...options, tasks: compareTasks, devMode: "default" }));
  const main = runs[0] as LiveLoadRun;
  const observations: string[] = [];
  const cmp = runs[1];
  if (cmp) {
    const perPoll = (r: LiveLoadRun) => r.cpu.msPerPoll.relay + r.cpu.msPerPoll.sim;
    const maxI = Number(main.config.relayVars.POLL_MAX_INTERVAL_MS ?? 5000) / 1000;
    const need = (r: LiveLoadRun) => (1000 / maxI) * (perPoll(r) / 1000);
    observations.push(
      `The same stack as \`npm start\` runs it spends ${perPoll(cmp).toFixed(1)} ms of CPU per poll (relay ${cmp.cpu.msPerPoll.relay.toFixed(1)} + simulator ${cmp.cpu.msPerPoll.sim.toFixed(1)}) against ${perPoll(main).toFixed(1)} ms with lean dev servers, and ${cmp.cpu.msPerTask.total.toFixed(0)} against ${main.cpu.msPerTask.total.toFixed(0)} ms per task: polling 1,000 tasks every ${maxI} s needs ${need(cmp).toFixed(1)} cores as \`npm start\` runs it and ${need(main).toFixed(1)} lean, on a ${main.cpu.cores}-core machine.`,
    );
    const node = (r: LiveLoadRun) => r.cpu.processes.filter((p) => p.tree === "relay" && /node/.test(p.name)).reduce((a, p) => a + p.cpuSecondsLoad, 0);
    const proxy = (r: LiveLoadRun) => r.cpu.processes.filter((p) => p.tree === "relay" && /dev proxy/.test(p.name)).reduce((a, p) => a + p.cpuSecondsLoad, 0);
    const per = (x: number, r: LiveLoadRun) => ((x * 1000) / Math.max(1, r.submission.accepted)).toFixed(0);
    observations.push(
      `Where it goes (relay tree, ms per task, \`npm start\` vs lean): wrangler's Node process ${per(node(cmp), cmp)} vs ${per(node(main), main)}, its dev proxy workerd ${per(proxy(cmp), cmp)} vs ${per(proxy(main), main)}. wrangler dev's inspector proxy enables DevTools' Network domain on the worker, so every outbound fetch (each poll, each webhook) streams four CDP events to Node, each appended to wrangler's debug log file; and each request into either dev server is logged through Node (miniflare's loopback /core/log).`,
    );
  }
  return { part: "live-load", startedAt: new Date(started).toISOString(), runs, targets: main.targets, observations, elapsedMs: Date.now() - started };
}

export function liveLoadMarkdown(r: LiveLoadResult): string {
  const L: string[] = [];
  const main = r.runs[0];
  if (!main) return "No runs.";
  L.push(`### Live load — ${main.config.tasks.toLocaleString("en-US")} tasks in flight on the local stack`, "");
  L.push(
    "Both runs use `scripts/local-stack.mjs` (`wrangler dev` for the relay and the simulator, the same code and vars). The targets apply to the first run, whose dev servers have wrangler's dev-only extras switched off by environment (`WRANGLER_LOG=warn`, `VSCODE_INSPECTOR_OPTIONS` set so wrangler does not attach its DevTools inspector proxy): it measures the relay. The second is `npm start` exactly, smaller, to show what the dev tooling costs.",
    "",
  );
  const cols = r.runs;
  L.push(`| | ${cols.map((x) => modeTitle(x.devServer.mode)).join(" | ")} |`, `|---|${cols.map(() => "---:").join("|")}|`);
  const line = (label: string, f: (x: LiveLoadRun) => string) => L.push(`| ${label} | ${cols.map(f).join(" | ")} |`);
  line("tasks accepted / submitted", (x) => `${x.submission.accepted} / ${x.config.tasks}`);
  line("submission rate", (x) => `${x.submission.perSecond.toFixed(0)}/s (p95 ${ms(x.submission.latencyP95Ms)})`);
  line("peak in flight", (x) => String(x.peakInFlight));
  line("webhooks notified / verified", (x) => `${x.webhooks.uniqueTasks} / ${x.webhooks.verified}`);
  line("time to drain", (x) => (x.timedOut ? "timed out" : sec(x.drainMs)));
  line("completion → webhook p50 / p95", (x) => `${sec(x.latency.completionToWebhook.p50)} / ${sec(x.latency.completionToWebhook.p95)}`);
  line("poll spacing once backed off p50 / p95", (x) => `${sec(x.upstream.pollGapAfterBackoff.p50)} / ${sec(x.upstream.pollGapAfterBackoff.p95)}`);
  line("upstream polls per task", (x) => x.upstream.pollsPerTask.toFixed(2));
  line("D1 statements per task", (x) => ("error" in x.d1 ? "—" : x.d1.statementsPerTask.toFixed(2)));
  line("CPU per task (all processes)", (x) => `${x.cpu.msPerTask.total.toFixed(0)} ms`);
  line("CPU per poll (relay + sim)", (x) => `${(x.cpu.msPerPoll.relay + x.cpu.msPerPoll.sim).toFixed(1)} ms`);
  line("peak RSS, all processes", (x) => mb(x.memory.peakRssMbTotal));
  line("other load on the machine", (x) => `${x.cpu.otherLoadAvg.toFixed(2)} cores`);
  line("dev-server reloads during the run", (x) => String(x.devServer.log.reloads.relay + x.devServer.log.reloads.sim));
  L.push("");
  for (const x of r.observations) L.push(`- ${x}`);
  L.push("");
  r.runs.forEach((run, i) => L.push(liveLoadRunMarkdown(run, i > 0), ""));
  return L.join("\n").trimEnd();
}

// ── CLI ────────────────────────────────────────────────────────────────────────────────

function argNumber(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) ? v : undefined;
}

if (/live-load\.[cm]?[jt]s$/.test(process.argv[1] ?? "")) {
  const common = {
    tasks: argNumber("--tasks"),
    quick: process.argv.includes("--quick"),
    keys: argNumber("--keys"),
    concurrency: argNumber("--concurrency"),
    stateDir: process.argv.includes("--state-dir") ? process.argv[process.argv.indexOf("--state-dir") + 1] : undefined,
  };
  // --lean / --npm-start: one run of that configuration; otherwise the suite (both).
  const single = process.argv.includes("--lean") ? "lean" : process.argv.includes("--npm-start") ? "default" : null;
  const result: LiveLoadResult = single
    ? await (async () => {
        const run = await runLiveLoadOnce({ ...common, devMode: single });
        return { part: "live-load" as const, startedAt: run.startedAt, runs: [run], targets: run.targets, observations: [], elapsedMs: run.elapsedMs };
      })()
    : await runLiveLoad({ ...common, compareTasks: argNumber("--compare-tasks") });
  console.log(liveLoadMarkdown(result));
  const outDir = join(dirname(process.argv[1] ?? "bench/x"), "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "live-load.json"), `${JSON.stringify(result, null, 2)}\n`);
  process.exit(result.targets.every((t) => t.met) ? 0 : 1);
}
