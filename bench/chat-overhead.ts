/**
 * Chat relay overhead, measured side by side in one run.
 *
 * The same OpenAI-style chat load (non-streaming "json" and streaming "stream"), at several
 * concurrency levels, against targets served by workerd exactly as production runs
 * Workers (Miniflare API, one workerd process per worker, each on its own direct socket):
 *
 *   sim          the upstream simulator, called directly (no hop)
 *   passthrough  bench/workers/passthrough.ts: `fetch(upstream)` and return it — the floor
 *                for any relay on this runtime
 *   relay        src/index.ts bundled by `wrangler deploy --dry-run`, with D1 (migrations
 *                applied), the TaskTracker Durable Object and its vars
 *   relay-norec  diagnostic only: the same relay with src/chat/recording.ts replaced by a
 *                no-op at bundle time (src/ untouched), to show what the local D1 write costs
 *
 * plus, separately, the relay under `wrangler dev` (one concurrency level) so nobody
 * mistakes the dev server's cost for the relay's. Targets run in rotating order round by
 * round, so drift affects all alike. CPU per request of every process comes from /proc.
 * The profile block (default on, off with --quick) adds per-step CPU costs measured inside
 * workerd and more relay variants.
 *
 *   node scripts/run-ts.mjs bench/chat-overhead.ts [--quick] [--scale N] [--no-wrangler-dev]
 *        [--concurrency 1,8,32] [--profile | --no-profile]
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Plugin } from "esbuild";
import { cleanupAll, installCleanupHandlers } from "./lib/cleanup";
import { httpCall, keepAliveAgent } from "./lib/http-client";
import { rotated, runLoad } from "./lib/load";
import { cpuMs, MemorySampler } from "./lib/proc";
import { eventGaps, SseTimer } from "./lib/sse-timing";
import { fmt, fmtDelta, median, percentile, round, roundSummary, summarize, type Summary } from "./lib/stats";
import {
  esbuildWorker,
  repoRoot,
  startMiniflareWorker,
  startWranglerDev,
  tempDir,
  wranglerApplyMigrations,
  wranglerBundle,
  type RunningWorker,
} from "./lib/workers";

// ── Options and result types ────────────────────────────────────────────────────────────

export interface ChatOverheadOptions {
  /** ~20–30 s instead of ~1–2 min. */
  quick?: boolean;
  /** Multiplies every request count (default 1). */
  scale?: number;
  /** Also measure the relay under `wrangler dev` (default true). */
  includeWranglerDev?: boolean;
  /** Concurrency levels (default 1, 8, 32). */
  concurrency?: number[];
  /** Also run the profiling block: per-step CPU in workerd and more relay variants (+~40 s; default: on unless quick). */
  profile?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export type Mode = "json" | "stream";

export interface GapStats {
  /** Gaps measured between consecutive events, at the client. */
  count: number;
  medianMs: number;
  p10Ms: number;
  p99Ms: number;
  /** Events that arrived less than a quarter of the sent spacing after the previous one. */
  bunched: number;
  /** Body reads (HTTP chunks) that carried two or more events: the sender merged them. */
  multiEventReads: number;
}

export interface CellResult {
  target: string;
  mode: Mode;
  concurrency: number;
  requests: number;
  errors: number;
  firstError?: string;
  /** Completed requests per second (sum over rounds of completed / sum of wall time). */
  throughput: number;
  /** Request start to end of body, ms. */
  latency: Summary;
  /** Streams: request start to the first complete `data:` event, ms. */
  ttfb?: Summary;
  gaps?: GapStats;
  /** Stream events per response (median; the sim sends a fixed number). */
  eventsPerStream?: number;
  /**
   * CPU time per request, µs, by process: `worker` (the target's own runtime process, or
   * the whole `wrangler dev` tree), `sim` (the simulator's workerd), `client` (this Node
   * process: load generator + Miniflare). Idle CPU measured before the load is subtracted.
   */
  cpuUsPerRequest: Record<string, number>;
}

export interface Verdict {
  target: string;
  mode: Mode;
  concurrency: number;
  pass: boolean;
  value: string;
}

export interface ProfileStep {
  step: string;
  usPerCall: number;
  note: string;
}

export interface ChatOverheadResult {
  startedAt: string;
  durationS: number;
  options: { quick: boolean; scale: number; includeWranglerDev: boolean; concurrency: number[]; profile: boolean };
  setup: {
    runtime: string;
    relayBundle: string;
    chunkDelayMs: number;
    chunkSize: number;
    eventsPerStream: number;
    rounds: number;
    requestsPerCell: Record<Mode, Record<number, number>>;
    client: string;
    cores: number;
  };
  cells: CellResult[];
  /** Sanity: every relay call was recorded in D1, and the relay logged nothing unexpected. */
  checks: { relayRequestsMeasured: number; chatCallsRecordedInD1: number; relayRuntimeLogLines: number; relayRuntimeLogSample: string[] };
  /** The relay under `wrangler dev`, with the relay on workerd from the same cell. */
  devCells: CellResult[];
  verdicts: { name: string; target: string; rows: Verdict[] }[];
  memory: Record<string, { peakMiB: number }>;
  profile?: { cells: CellResult[]; steps: ProfileStep[]; distinctEnvObjects: number };
}

// ── Workload ───────────────────────────────────────────────────────────────────────────

const CHUNK_DELAY_MS = 20;
const CHUNK_SIZE = 16;
const CONTENT_CHUNKS = 8;
/** role + content chunks + stop + usage + [DONE] */
const EVENTS_PER_STREAM = 1 + CONTENT_CHUNKS + 1 + 1 + 1;
const ANSWER = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. "
  .repeat(4)
  .slice(0, CHUNK_SIZE * CONTENT_CHUNKS);
export const SIM_CHAT_PATH = "/llmage/v1/chat/completions";
const RELAY_CHAT_PATH = "/v1/chat/completions";

export const TARGET_LABEL: Record<string, string> = {
  sim: "simulator, direct",
  passthrough: "bare pass-through worker",
  relay: "**relay**",
  "relay-norec": "relay, D1 recording off (diagnostic)",
  "relay-esbuild": "relay, esbuild bundle (check)",
  "relay-native": "relay, native route /llmage/…",
  "relay-wrangler-dev": "relay under `wrangler dev`",
};

export function requestBody(stream: boolean): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: "qwen3-max",
      messages: [
        { role: "system", content: "You are a terse assistant." },
        { role: "user", content: "Say hello to the benchmark, briefly." },
      ],
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      temperature: 0.7,
    }),
  );
}

interface Target {
  id: string;
  url: URL;
  path: string;
  /** Process groups whose CPU is charged to this target's requests. */
  cpuGroups: Record<string, () => number[]>;
}

interface Plan {
  rounds: number;
  counts: Record<Mode, Record<number, number>>;
  warmup: { json: number; stream: number };
  devConcurrency: number;
}

function makePlan(quick: boolean, scale: number, levels: number[]): Plan {
  // Non-streaming: enough requests for a stable p99; streaming: each stream lasts
  // ~(events − 1) × chunk delay, so counts are waves of `c` streams.
  const jsonBase = (c: number) => (quick ? (c === 1 ? 100 : 40 * Math.min(c, 8) + 10 * c) : c === 1 ? 300 : 120 * Math.min(c, 8) + 30 * c);
  const streamBase = (c: number) => (quick ? (c === 1 ? 4 : 2 * c) : c === 1 ? 12 : Math.max(3 * c, 24));
  const rounds = quick ? 2 : 3;
  const counts: Record<Mode, Record<number, number>> = { json: {}, stream: {} };
  for (const c of levels) {
    const unit = rounds * c; // every target runs count/rounds per round, in waves of c
    counts.json[c] = Math.max(unit, Math.round((jsonBase(c) * scale) / unit) * unit);
    counts.stream[c] = Math.max(unit, Math.round((streamBase(c) * scale) / unit) * unit);
  }
  const devConcurrency = levels.includes(8) ? 8 : levels[Math.floor(levels.length / 2)]!;
  return { rounds, counts, warmup: { json: quick ? 150 : 300, stream: quick ? 8 : 16 }, devConcurrency };
}

// ── One request ────────────────────────────────────────────────────────────────────────

interface Sample {
  latencyMs: number;
  ttfbMs?: number;
  gaps?: number[];
  bunched?: number;
  multiEventReads?: number;
  events?: number;
}

async function oneRequest(
  agent: ReturnType<typeof keepAliveAgent>,
  target: Target,
  mode: Mode,
  key: string,
  bodies: Record<Mode, Buffer>,
  spacingMs: number,
): Promise<Sample> {
  const url = new URL(target.path, target.url);
  const headers = {
    authorization: `Bearer ${key}`,
    "content-type": "application/json",
    accept: mode === "stream" ? "text/event-stream" : "application/json",
  };
  if (mode === "json") {
    const res = await httpCall({ agent, url, headers, body: bodies.json, timeoutMs: 30_000 });
    if (res.status !== 200 || !res.body.includes('"choices"')) {
      throw new Error(`${target.id} json: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    }
    return { latencyMs: res.endedAt - res.startedAt };
  }
  const timer = new SseTimer();
  const res = await httpCall({ agent, url, headers, body: bodies.stream, keepBody: false, timeoutMs: 30_000, onChunk: (c, at) => timer.feed(c, at) });
  const t = timer.done();
  if (res.status !== 200 || t.eventData[t.eventData.length - 1] !== "[DONE]" || t.firstDataAt === null) {
    throw new Error(`${target.id} stream: HTTP ${res.status}, ${t.eventData.length} events, last ${t.eventData[t.eventData.length - 1]?.slice(0, 200)}`);
  }
  const gaps = eventGaps(t.eventTimes);
  return {
    latencyMs: res.endedAt - res.startedAt,
    ttfbMs: t.firstDataAt - res.startedAt,
    gaps,
    bunched: gaps.filter((g) => g < spacingMs / 4).length,
    multiEventReads: t.multiEventReads,
    events: t.eventTimes.length,
  };
}

// ── CPU accounting ─────────────────────────────────────────────────────────────────────

function clientCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function groupCpu(groups: Record<string, () => number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    out[name] = name === "client" ? clientCpuMs() : pids().reduce((s, pid) => s + cpuMs(pid), 0);
  }
  return out;
}

/** CPU ms per wall ms each group burns while nothing is asked of it (timers, threads). */
async function idleRates(targets: Target[], ms = 1000): Promise<Map<string, number>> {
  const groups: Record<string, () => number[]> = {};
  for (const t of targets) for (const [name, pids] of Object.entries(t.cpuGroups)) groups[name === "worker" ? `worker:${t.id}` : name] = pids;
  const before = groupCpu(groups);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const after = groupCpu(groups);
  const wall = performance.now() - t0;
  return new Map(Object.keys(groups).map((k) => [k, Math.max(0, (after[k]! - before[k]!) / wall)]));
}

// ── Cells: one (mode, concurrency), every target, rotating order per round ─────────────

interface CellAccumulator {
  samples: Sample[];
  errors: string[];
  completed: number;
  elapsedMs: number;
  cpuMs: Record<string, number>;
}

async function runCell(
  targets: Target[],
  mode: Mode,
  concurrency: number,
  total: number,
  rounds: number,
  key: string,
  bodies: Record<Mode, Buffer>,
  idle: Map<string, number>,
  log: (line: string) => void,
): Promise<CellResult[]> {
  const acc = new Map<string, CellAccumulator>(targets.map((t) => [t.id, { samples: [], errors: [], completed: 0, elapsedMs: 0, cpuMs: {} }]));
  const perRound = Math.max(concurrency, Math.round(total / rounds));
  for (let round = 0; round < rounds; round++) {
    for (const target of rotated(targets, round)) {
      // A fresh agent per segment: a keep-alive socket left idle while other targets run
      // could be closed by the server just as it is reused ("socket hang up").
      const agent = keepAliveAgent(concurrency);
      try {
        const a = acc.get(target.id)!;
        const before = groupCpu(target.cpuGroups);
        const t0 = performance.now();
        const result = await runLoad({
          concurrency,
          count: perRound,
          maxDurationMs: mode === "json" ? 30_000 : 60_000,
          task: () => oneRequest(agent, target, mode, key, bodies, CHUNK_DELAY_MS),
        });
        const wall = performance.now() - t0;
        const after = groupCpu(target.cpuGroups);
        for (const name of Object.keys(after)) {
          // The client's "idle" (Miniflare housekeeping, GC) is not steady: not subtracted.
          const rate = name === "client" ? 0 : (idle.get(name === "worker" ? `worker:${target.id}` : name) ?? 0);
          a.cpuMs[name] = (a.cpuMs[name] ?? 0) + Math.max(0, after[name]! - before[name]! - rate * wall);
        }
        a.samples.push(...result.results);
        a.errors.push(...result.errors.map((e) => e.error));
        a.completed += result.results.length;
        a.elapsedMs += result.elapsedMs;
      } finally {
        agent.destroy();
      }
    }
  }
  const cells: CellResult[] = [];
  for (const target of targets) {
    const a = acc.get(target.id)!;
    const cell: CellResult = {
      target: target.id,
      mode,
      concurrency,
      requests: a.completed,
      errors: a.errors.length,
      ...(a.errors[0] ? { firstError: a.errors[0] } : {}),
      throughput: round(a.elapsedMs > 0 ? (a.completed * 1000) / a.elapsedMs : 0, 1),
      latency: roundSummary(summarize(a.samples.map((s) => s.latencyMs))),
      cpuUsPerRequest: Object.fromEntries(Object.entries(a.cpuMs).map(([k, v]) => [k, round((v * 1000) / Math.max(1, a.completed), 0)])),
    };
    if (mode === "stream") {
      const gaps = a.samples.flatMap((s) => s.gaps ?? []);
      cell.ttfb = roundSummary(summarize(a.samples.map((s) => s.ttfbMs!)));
      cell.gaps = {
        count: gaps.length,
        medianMs: round(median(gaps), 3),
        p10Ms: round(percentile(gaps, 10), 3),
        p99Ms: round(percentile(gaps, 99), 3),
        bunched: a.samples.reduce((s, x) => s + (x.bunched ?? 0), 0),
        multiEventReads: a.samples.reduce((s, x) => s + (x.multiEventReads ?? 0), 0),
      };
      cell.eventsPerStream = median(a.samples.map((s) => s.events ?? 0));
    }
    cells.push(cell);
    log(
      `  ${mode.padEnd(6)} c=${String(concurrency).padEnd(3)} ${target.id.padEnd(19)} ${fmt(cell.throughput, 0).padStart(6)} req/s  p50 ${fmt(cell.latency.p50)}  p99 ${fmt(cell.latency.p99)} ms` +
        (cell.ttfb ? `  first chunk p50 ${fmt(cell.ttfb.p50)} ms  gap ${fmt(cell.gaps!.medianMs)} ms  bunched ${cell.gaps!.bunched}  multi ${cell.gaps!.multiEventReads}` : "") +
        `  cpu µs/req ${JSON.stringify(cell.cpuUsPerRequest)}` +
        (cell.errors ? `  ERRORS ${cell.errors}: ${cell.firstError}` : ""),
    );
  }
  return cells;
}

async function warmUp(targets: Target[], key: string, bodies: Record<Mode, Buffer>, plan: Plan): Promise<void> {
  for (const target of targets) {
    const agent = keepAliveAgent(8);
    try {
      for (const mode of ["json", "stream"] as const) {
        const r = await runLoad({
          concurrency: mode === "json" ? 4 : 8,
          count: plan.warmup[mode],
          maxDurationMs: 30_000,
          task: () => oneRequest(agent, target, mode, key, bodies, 1),
        });
        if (r.errors.length > 0) throw new Error(`warm-up of ${target.id} (${mode}) failed: ${r.errors[0]!.error}`);
      }
    } finally {
      agent.destroy();
    }
  }
}

// ── Setup: bundles and runtimes ────────────────────────────────────────────────────────

interface WranglerApi {
  unstable_getMiniflareWorkerOptions(configPath: string): { workerOptions: Record<string, unknown> };
  unstable_splitSqlQuery(sql: string): string[];
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

/** Replaces src/chat/recording.ts at bundle time (src/ itself is never modified). */
function replaceRecording(root: string, contents: string): Plugin {
  const target = join(root, "src", "chat", "recording.ts");
  return {
    name: "replace-chat-recording",
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]chat[\\/]recording\.ts$/ }, (args) =>
        args.path === target ? { loader: "ts", contents, resolveDir: dirname(target) } : undefined,
      );
    },
  };
}

const NO_RECORDING = "export function recordChatCall(): void {}\n";


async function startRelay(
  name: string,
  scriptPath: string,
  wrangler: WranglerApi,
  root: string,
  vars: Record<string, string>,
): Promise<RunningWorker> {
  const relayOptions = wrangler.unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml")).workerOptions;
  const worker = await startMiniflareWorker({
    name,
    scriptPath,
    options: {
      ...(relayOptions as object),
      bindings: { ...((relayOptions.bindings as Record<string, string>) ?? {}), ...vars },
    },
  });
  // D1 migrations, statement by statement, before any load.
  const db = await worker.mf!.getD1Database("DB");
  const sql = readFileSync(join(root, "migrations", "0001_initial.sql"), "utf8");
  for (const statement of wrangler.unstable_splitSqlQuery(sql)) {
    if (statement.trim()) await db.prepare(statement).run();
  }
  return worker;
}

async function countChatCalls(worker: RunningWorker): Promise<number> {
  // Recording runs in waitUntil: give the last writes a moment.
  await new Promise((r) => setTimeout(r, 300));
  const db = await worker.mf!.getD1Database("DB");
  const row = await db.prepare("SELECT COUNT(*) AS n FROM chat_calls").first<{ n: number }>();
  return row?.n ?? 0;
}

// ── Profiling: per-step CPU inside workerd ─────────────────────────────────────────────

/**
 * A worker that runs one step of the relay's hot path (the relay's own code, imported
 * from src/) `n` times per request. workerd freezes clocks during execution, so the cost
 * is measured from outside: CPU time of its workerd process (/proc) around the request,
 * minus an empty request, divided by n. Upstream and D1 are in-isolate fakes here, so the
 * full-app steps are the relay's JavaScript cost alone, without any I/O.
 */
function profilerSource(root: string): string {
  const src = (p: string) => JSON.stringify(join(root, "src", p));
  return `
import app from ${src("index.ts")};
import { sha256Hex } from ${src("lib/crypto.ts")};
import { newId } from ${src("lib/ids.ts")};
import { ChatCompletionRequestSchema } from ${src("chat/schemas.ts")};
import { toUpstreamChatRequest, toChatCompletion, toStreamEvent } from ${src("chat/translate.ts")};
import { loadConfig } from ${src("config/env.ts")};
import { recordChatCall } from ${src("chat/recording.ts")};
import { relayOpenAIStream, sseData } from ${src("chat/openai-stream.ts")};
import { createParser } from "eventsource-parser";

let fx = null; // { requestJson, requestStream, answer, events }
const enc = new TextEncoder();
const envs = new Set();
const fakeDb = { prepare() { const s = { bind() { return s; }, async run() { return { success: true, meta: {}, results: [] }; } }; return s; } };
const fakeCtx = { waitUntil(p) { Promise.resolve(p).catch(() => {}); }, passThroughOnException() {}, props: {} };
const vars = { UPSTREAM_BASE_URL: "http://upstream.invalid", KEY_ENCRYPTION_SECRET: "x".repeat(40), CHAT_MODELS: "qwen3-max" };
const appEnv = { ...vars, DB: fakeDb, TASKS: {} };

function upstreamResponse(stream) {
  if (!stream) return new Response(fx.answer, { headers: { "content-type": "application/json; charset=utf-8" } });
  const chunks = fx.events.map((e) => enc.encode(e));
  let i = 0;
  return new Response(new ReadableStream({ pull(c) { if (i < chunks.length) c.enqueue(chunks[i++]); else c.close(); } }), { headers: { "content-type": "text/event-stream; charset=utf-8" } });
}
async function drain(body) { const r = body.getReader(); for (;;) { const { done } = await r.read(); if (done) return; } }
function appRequest(stream) {
  return new Request("http://relay.local/v1/chat/completions", { method: "POST", headers: { authorization: "Bearer bench-overhead-0123abcd", "content-type": "application/json" }, body: stream ? fx.requestStream : fx.requestJson });
}
let parsed = null;
const parser = createParser({ onEvent(m) { const v = JSON.parse(m.data); const e = toStreamEvent(v, "qwen3-max"); if (e.kind === "chunk" || e.kind === "usage") sseData(e.chunk); } });
const base = { tenant: "t".repeat(64), route: "openai", model: "qwen3-max", stream: false, startedAt: Date.now() };
const outcome = { status: "succeeded", httpStatus: 200, usage: { prompt_tokens: 10, completion_tokens: 32, total_tokens: 42 }, firstByteAt: Date.now() };

const steps = {
  noop: () => undefined,
  sha256: () => sha256Hex("bench-overhead-0123abcd"),
  newId: () => newId("req"),
  parseValidate: () => ChatCompletionRequestSchema.safeParse(JSON.parse(fx.requestJson)),
  upstreamBody: () => JSON.stringify(toUpstreamChatRequest(parsed)),
  jsonAnswer: () => JSON.stringify(toChatCompletion(JSON.parse(fx.answer), "qwen3-max")),
  streamEvent: () => parser.feed(fx.events[1]),
  configUncached: () => loadConfig({ ...vars }),
  recordBuild: () => recordChatCall(fakeCtx, fakeDb, base, outcome),
  relayStream: () => drain(relayOpenAIStream({ upstream: upstreamResponse(true).body, model: "qwen3-max", includeUsage: true, keepAliveMs: 15000, abortUpstream() {}, onDone() {} })),
  upstreamJsonBaseline: () => upstreamResponse(false).text(),
  upstreamStreamBaseline: () => drain(upstreamResponse(true).body),
  appJson: async () => { const res = await app.fetch(appRequest(false), appEnv, fakeCtx); if (res.status !== 200) throw new Error("appJson " + res.status + " " + (await res.text())); await res.text(); },
  appHealth: async () => { const res = await app.fetch(new Request("http://relay.local/health"), appEnv, fakeCtx); if (res.status !== 200) throw new Error("appHealth " + res.status); await res.text(); },
  appNative: async () => { const res = await app.fetch(new Request("http://relay.local/llmage/v1/chat/completions", { method: "POST", headers: { authorization: "Bearer bench-overhead-0123abcd", "content-type": "application/json" }, body: fx.requestJson }), appEnv, fakeCtx); if (res.status !== 200) throw new Error("appNative " + res.status); await res.text(); },
  appStream: async () => { const res = await app.fetch(appRequest(true), appEnv, fakeCtx); if (res.status !== 200) throw new Error("appStream " + res.status); await drain(res.body); },
};

export default {
  async fetch(request, env) {
    envs.add(env);
    const url = new URL(request.url);
    if (url.pathname === "/setup") {
      fx = await request.json();
      parsed = ChatCompletionRequestSchema.parse(JSON.parse(fx.requestJson));
      globalThis.fetch = async (input, init) => upstreamResponse(JSON.parse(typeof init?.body === "string" ? init.body : "{}").stream === true);
      return Response.json({ ok: true });
    }
    if (url.pathname === "/envs") return Response.json({ distinctEnvObjects: envs.size });
    const name = url.searchParams.get("name") ?? "noop";
    const n = Number(url.searchParams.get("n") ?? "1");
    const step = steps[name];
    if (!step || !fx) return new Response("unknown step or no setup", { status: 400 });
    try {
      for (let i = 0; i < n; i++) { const r = step(); if (r && typeof r.then === "function") await r; }
    } catch (err) {
      return new Response(String(err && err.stack || err), { status: 500 });
    }
    return Response.json({ name, n });
  },
};
`;
}

const PROFILE_STEPS: { name: string; label: string; note: string }[] = [
  { name: "sha256", label: "auth: sha256Hex(key) (tenant id)", note: "requireCaller, every request" },
  { name: "newId", label: "newId() (request id; chat id again when recording)", note: "requestId middleware" },
  { name: "parseValidate", label: "JSON.parse + zod ChatCompletionRequestSchema", note: "c.req.valid(\"json\")" },
  { name: "upstreamBody", label: "toUpstreamChatRequest + JSON.stringify", note: "re-serialisation for the upstream" },
  { name: "jsonAnswer", label: "JSON.parse answer + toChatCompletion + JSON.stringify", note: "non-streaming answer" },
  { name: "streamEvent", label: "one stream event: SSE parse + JSON.parse + toStreamEvent + stringify", note: `× ${EVENTS_PER_STREAM - 1} per stream` },
  { name: "configUncached", label: "loadConfig() on a new env object (cache miss)", note: "paid per request only if env identity changes" },
  { name: "recordBuild", label: "recordChatCall() with an in-isolate no-op D1", note: "record + newId + prepare/bind; the D1 work itself excluded" },
  { name: "upstreamJsonBaseline", label: "baseline: read an in-memory JSON Response", note: "what any reader pays" },
  { name: "appHealth", label: "whole app, GET /health (routing + requestId + c.json)", note: "framework floor" },
  { name: "appNative", label: "whole app, native route non-streaming (fake upstream + D1)", note: "zod + side parser, no translation" },
  { name: "appJson", label: "whole app, non-streaming (fake upstream + D1, no I/O)", note: "all relay JS for one call" },
  { name: "upstreamStreamBaseline", label: "baseline: drain an in-memory 12-event stream", note: "what any reader pays" },
  { name: "relayStream", label: "relayOpenAIStream over a 12-event stream", note: "per stream" },
  { name: "appStream", label: "whole app, streaming (fake upstream + D1, no I/O)", note: "all relay JS for one stream" },
];

export async function profileSteps(
  root: string,
  work: string,
  fixture: { requestJson: string; requestStream: string; answer: string; events: string[] },
  compat: { compatibilityDate: string; compatibilityFlags: string[] },
  quick: boolean,
  log: (line: string) => void,
): Promise<{ steps: ProfileStep[]; distinctEnvObjects: number }> {
  const entry = join(work, "profiler", "entry.js");
  mkdirSync(dirname(entry), { recursive: true });
  writeFileSync(entry, profilerSource(root));
  const script = await esbuildWorker(entry, join(work, "profiler", "index.js"), { nodePaths: [join(root, "node_modules")] });
  const worker = await startMiniflareWorker({ name: "step-profiler", scriptPath: script, options: compat });
  try {
    const base = worker.url;
    const setup = await fetch(new URL("/setup", base), { method: "POST", body: JSON.stringify(fixture) });
    if (!setup.ok) throw new Error(`profiler setup: ${await setup.text()}`);
    const cpu = () => worker.pids().reduce((s, pid) => s + cpuMs(pid), 0);
    const call = async (name: string, n: number): Promise<number> => {
      const before = cpu();
      const res = await fetch(new URL(`/step?name=${name}&n=${n}`, base));
      const text = await res.text();
      const after = cpu();
      if (!res.ok) throw new Error(`profiler step ${name}: ${text}`);
      return after - before;
    };
    const targetMs = quick ? 60 : 150;
    const reps = quick ? 3 : 5;
    const steps: ProfileStep[] = [];
    for (const step of PROFILE_STEPS) {
      await call(step.name, 50); // warm-up (JIT)
      let n = 50;
      for (let i = 0; i < 6; i++) {
        const spent = await call(step.name, n);
        if (spent >= targetMs / 4) {
          n = Math.max(10, Math.round((n * targetMs) / Math.max(spent, 1)));
          break;
        }
        n *= 4;
      }
      const perCall: number[] = [];
      for (let r = 0; r < reps; r++) {
        const empty = await call("noop", 1);
        const spent = await call(step.name, n);
        perCall.push(((spent - empty) * 1000) / n);
      }
      const us = median(perCall);
      steps.push({ step: step.label, usPerCall: round(us, 2), note: step.note });
      log(`  step ${step.label.padEnd(70)} ${fmt(us, 2).padStart(8)} µs`);
    }
    const envs = (await (await fetch(new URL("/envs", base))).json()) as { distinctEnvObjects: number };
    return { steps, distinctEnvObjects: envs.distinctEnvObjects };
  } finally {
    await worker.stop();
  }
}

/** One raw answer of each kind from the sim, as the relay would receive it. */
export async function captureFixture(upstream: string, key: string, bodies: Record<Mode, Buffer>) {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const answer = await (await fetch(`${upstream}${SIM_CHAT_PATH}`, { method: "POST", headers, body: bodies.json.toString("utf8") })).text();
  const streamText = await (await fetch(`${upstream}${SIM_CHAT_PATH}`, { method: "POST", headers, body: bodies.stream.toString("utf8") })).text();
  const events = streamText.split(/(?<=\n\n)/).filter((e) => e.trim() !== "");
  return { requestJson: bodies.json.toString("utf8"), requestStream: bodies.stream.toString("utf8"), answer, events };
}

// ── The benchmark ──────────────────────────────────────────────────────────────────────

export async function runChatOverhead(options: ChatOverheadOptions = {}): Promise<ChatOverheadResult> {
  const quick = options.quick === true;
  const scale = options.scale && options.scale > 0 ? options.scale : 1;
  const includeWranglerDev = options.includeWranglerDev !== false;
  const levels = options.concurrency?.length ? [...new Set(options.concurrency)].sort((a, b) => a - b) : [1, 8, 32];
  const profile = options.profile ?? !quick;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const plan = makePlan(quick, scale, levels);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  installCleanupHandlers();

  try {
    const root = repoRoot();
    const wrangler = (await import("wrangler")) as unknown as WranglerApi;
    const work = tempDir("chat-overhead");

    log("bundling (sim and relay with `wrangler deploy --dry-run`, the rest with esbuild) and starting workerd, one process per worker…");
    const relayEntry = join(root, "src", "index.ts");
    const relayOptions = wrangler.unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml")).workerOptions;
    const compat = { compatibilityDate: relayOptions.compatibilityDate as string, compatibilityFlags: relayOptions.compatibilityFlags as string[] };
    const simOptions = wrangler.unstable_getMiniflareWorkerOptions(join(root, "sim", "wrangler.toml")).workerOptions;
    const [simScript, relayScript, passScript, noRecScript] = await Promise.all([
      wranglerBundle(join(root, "sim", "wrangler.toml"), join(work, "sim"), root),
      wranglerBundle(join(root, "wrangler.toml"), join(work, "relay"), root),
      esbuildWorker(join(root, "bench", "workers", "passthrough.ts"), join(work, "passthrough", "index.js")),
      esbuildWorker(relayEntry, join(work, "relay-norec", "index.js"), { plugins: [replaceRecording(root, NO_RECORDING)] }),
    ]);
    const sim = await startMiniflareWorker({ name: "upstream-sim", scriptPath: simScript, options: simOptions as object });
    const upstream = sim.url.href.replace(/\/$/, "");
    const relayVars = { UPSTREAM_BASE_URL: upstream, KEY_ENCRYPTION_SECRET: randomBytes(32).toString("base64url") };
    // wrangler dev takes longest to come up: start it first, await it last.
    const devStarting = includeWranglerDev
      ? (async () => {
          const persistTo = join(work, "wrangler-dev-state");
          await wranglerApplyMigrations(join(root, "wrangler.toml"), "DB", persistTo, root);
          return startWranglerDev({ name: "relay-wrangler-dev", configPath: join(root, "wrangler.toml"), vars: relayVars, persistTo, readyPath: "/health", root });
        })()
      : Promise.resolve(null);
    devStarting.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
    const [passthrough, relay, noRec] = await Promise.all([
      startMiniflareWorker({ name: "passthrough", scriptPath: passScript, options: { ...compat, bindings: { UPSTREAM_BASE_URL: upstream } } }),
      startRelay("relay", relayScript, wrangler, root, relayVars),
      startRelay("relay-norec", noRecScript, wrangler, root, relayVars),
    ]);
    for (const w of [relay, noRec]) {
      const health = await fetch(new URL("/health", w.url));
      if (health.status !== 200) throw new Error(`${w.name} /health answered ${health.status}: ${await health.text()}`);
    }

    // The sim's behaviour for our keys: a fixed answer, CHUNK_SIZE characters per chunk.
    const key = `bench-overhead-${randomBytes(4).toString("hex")}`;
    const warmKey = `${key}-warm`;
    await postJson(`${upstream}/__sim/config`, { key, chat: { chunkDelayMs: CHUNK_DELAY_MS, chunkSize: CHUNK_SIZE, text: ANSWER } });
    await postJson(`${upstream}/__sim/config`, { key: warmKey, chat: { chunkDelayMs: 1, chunkSize: CHUNK_SIZE, text: ANSWER } });
    const bodies: Record<Mode, Buffer> = { json: requestBody(false), stream: requestBody(true) };

    const simPids = sim.pids;
    const client = () => [process.pid];
    const served = (id: string, w: RunningWorker, path = RELAY_CHAT_PATH): Target => ({ id, url: w.url, path, cpuGroups: { worker: w.pids, sim: simPids, client } });
    const targets: Target[] = [
      { id: "sim", url: sim.url, path: SIM_CHAT_PATH, cpuGroups: { sim: simPids, client } },
      served("passthrough", passthrough, SIM_CHAT_PATH),
      served("relay", relay),
      served("relay-norec", noRec),
    ];

    const dev = await devStarting;
    const devTarget: Target | null = dev ? served("relay-wrangler-dev", dev) : null;

    const memory = new MemorySampler(
      new Map<string, () => readonly number[]>([
        ["sim (workerd)", simPids],
        ["pass-through (workerd)", passthrough.pids],
        ["relay (workerd)", relay.pids],
        ...(devTarget ? ([["relay under wrangler dev (process tree)", devTarget.cpuGroups.worker!]] as [string, () => readonly number[]][]) : []),
        ["load generator (node)", client],
      ]),
      250,
    ).start();

    log("warming up…");
    const all = [...targets, ...(devTarget ? [devTarget] : [])];
    await warmUp(all, warmKey, bodies, plan);
    const idle = await idleRates(all);

    log(`measuring: ${plan.rounds} rounds per cell, targets in rotating order`);
    const cells: CellResult[] = [];
    const devCells: CellResult[] = [];
    for (const mode of ["json", "stream"] as const) {
      for (const c of levels) {
        const withDev = devTarget !== null && c === plan.devConcurrency;
        const result = await runCell(withDev ? [...targets, devTarget!] : targets, mode, c, plan.counts[mode][c]!, plan.rounds, key, bodies, idle, log);
        cells.push(...result.filter((cell) => cell.target !== devTarget?.id));
        if (withDev) devCells.push(...result.filter((cell) => cell.target === "relay" || cell.target === devTarget!.id));
      }
    }
    memory.stop();
    const relayRequests = cells.filter((c) => c.target === "relay").reduce((n, c) => n + c.requests, 0);
    const recorded = await countChatCalls(relay);
    const checks = {
      relayRequestsMeasured: relayRequests,
      chatCallsRecordedInD1: recorded,
      relayRuntimeLogLines: relay.output.length,
      relayRuntimeLogSample: relay.output.slice(-3),
    };
    log(`  D1 check: ${recorded} chat_calls rows for ${relayRequests} measured relay requests (plus warm-up); relay runtime log lines: ${relay.output.length}`);

    let profileResult: ChatOverheadResult["profile"];
    if (profile) {
      log("profiling: relay variants, then per-step CPU inside workerd…");
      const esbScript = await esbuildWorker(relayEntry, join(work, "relay-esbuild", "index.js"));
      const esb = await startRelay("relay-esbuild", esbScript, wrangler, root, relayVars);
      const variants: Target[] = [
        targets[1]!,
        targets[2]!,
        targets[3]!,
        served("relay-esbuild", esb),
        served("relay-native", relay, SIM_CHAT_PATH),
      ];
      // Fresh isolates: warm them as long as the others ran, so the JIT tiers compare alike.
      await warmUp(variants.slice(3, 4), warmKey, bodies, { ...plan, warmup: { json: plan.warmup.json * 6, stream: plan.warmup.stream * 2 } });
      const pidle = await idleRates(variants);
      const pcells: CellResult[] = [];
      const top = levels[levels.length - 1]!;
      const pcellsPlan: [Mode, number][] = [["json", levels[0]!], ["json", top], ["stream", top]];
      for (const [mode, c] of pcellsPlan) {
        pcells.push(...(await runCell(variants, mode, c, plan.counts[mode][c]!, plan.rounds, key, bodies, pidle, log)));
      }
      await esb.stop();
      const fixture = await captureFixture(upstream, warmKey, bodies);
      const stepResult = await profileSteps(root, work, fixture, compat, quick, log);
      profileResult = { cells: pcells, steps: stepResult.steps, distinctEnvObjects: stepResult.distinctEnvObjects };
    }

    return {
      startedAt,
      durationS: round((performance.now() - started) / 1000, 1),
      options: { quick, scale, includeWranglerDev, concurrency: levels, profile },
      setup: {
        runtime: "workerd via the Miniflare API, one process per worker, direct sockets; Miniflare's local D1",
        relayBundle: "wrangler deploy --dry-run (as production)",
        chunkDelayMs: CHUNK_DELAY_MS,
        chunkSize: CHUNK_SIZE,
        eventsPerStream: EVENTS_PER_STREAM,
        rounds: plan.rounds,
        requestsPerCell: plan.counts,
        client: "node:http keep-alive agent (one socket per concurrent request), closed loop",
        cores: availableParallelism(),
      },
      cells,
      devCells,
      checks,
      verdicts: evaluate(cells, levels),
      memory: Object.fromEntries([...memory.peakBytes].map(([k, v]) => [k, { peakMiB: round(v / 1048576, 1) }])),
      ...(profileResult ? { profile: profileResult } : {}),
    };
  } finally {
    await cleanupAll();
  }
}

// ── Targets ────────────────────────────────────────────────────────────────────────────

function cellOf(cells: CellResult[], target: string, mode: Mode, c: number): CellResult | undefined {
  return cells.find((x) => x.target === target && x.mode === mode && x.concurrency === c);
}

function evaluate(cells: CellResult[], levels: number[]): { name: string; target: string; rows: Verdict[] }[] {
  const out: { name: string; target: string; rows: Verdict[] }[] = [];
  for (const target of ["relay", "relay-norec"]) {
    const pair = (mode: Mode, c: number) => ({ r: cellOf(cells, target, mode, c), p: cellOf(cells, "passthrough", mode, c) });
    for (const mode of ["json", "stream"] as const) {
      out.push({
        name: `throughput ≥ 80 % of pass-through (${mode === "json" ? "non-streaming" : "streaming"})`,
        target,
        rows: levels.map((c) => {
          const { r, p } = pair(mode, c);
          const ratio = r && p && p.throughput > 0 ? r.throughput / p.throughput : Number.NaN;
          return { target, mode, concurrency: c, pass: ratio >= 0.8 && r?.errors === 0, value: `${fmt(ratio * 100, 0)} %` };
        }),
      });
    }
    out.push({
      name: "p50 adds < 1 ms over pass-through (non-streaming)",
      target,
      rows: levels.map((c) => {
        const { r, p } = pair("json", c);
        const d = r && p ? r.latency.p50 - p.latency.p50 : Number.NaN;
        return { target, mode: "json" as const, concurrency: c, pass: d < 1, value: `${fmtDelta(d)} ms` };
      }),
    });
    out.push({
      name: "stream first chunk within 1 ms of pass-through (p50)",
      target,
      rows: levels.map((c) => {
        const { r, p } = pair("stream", c);
        const d = r?.ttfb && p?.ttfb ? r.ttfb.p50 - p.ttfb.p50 : Number.NaN;
        return { target, mode: "stream" as const, concurrency: c, pass: d <= 1, value: `${fmtDelta(d)} ms` };
      }),
    });
    out.push({
      name: "chunk spacing preserved: median gap within 1 ms of the simulator's own (as sent), no merged events, bunching ≤ pass-through's + 1 %",
      target,
      rows: levels.map((c) => {
        const { r, p } = pair("stream", c);
        // "As sent": the simulator's spacing seen with no hop (its timer runs a little over).
        const sent = cellOf(cells, "sim", "stream", c)?.gaps?.medianMs ?? CHUNK_DELAY_MS;
        const g = r?.gaps;
        const allowance = (p?.gaps?.bunched ?? 0) + Math.max(1, Math.ceil((g?.count ?? 0) / 100));
        const ok = !!g && Math.abs(g.medianMs - sent) <= 1 && g.multiEventReads === 0 && g.bunched <= allowance;
        return { target, mode: "stream" as const, concurrency: c, pass: ok, value: g ? `${fmt(g.medianMs)} vs ${fmt(sent)} ms, ${g.multiEventReads} merged, ${g.bunched} bunched` : "–" };
      }),
    });
  }
  return out;
}

// ── Markdown ───────────────────────────────────────────────────────────────────────────

function cpuCell(c: CellResult, name: string): string {
  const v = c.cpuUsPerRequest[name];
  return v === undefined ? "–" : fmt(v, 0);
}

function row(c: CellResult, ref?: CellResult): string {
  const vs = ref && ref !== c && ref.throughput > 0 ? ` (${fmt((c.throughput / ref.throughput) * 100, 0)} %)` : "";
  const cells = [TARGET_LABEL[c.target] ?? c.target, String(c.concurrency), `${fmt(c.throughput, 0)}${vs}`, fmt(c.latency.p50), fmt(c.latency.p99)];
  if (c.mode === "stream") {
    const g = c.gaps;
    cells.push(fmt(c.ttfb?.p50), fmt(c.ttfb?.p99), fmt(g?.medianMs), fmt(g?.p99Ms, 1), g ? `${g.multiEventReads} / ${g.bunched}` : "–");
  }
  cells.push(cpuCell(c, "worker"), cpuCell(c, "sim"), cpuCell(c, "client"), String(c.errors));
  return `| ${cells.join(" | ")} |`;
}

function tableHeader(mode: Mode): string[] {
  const head = ["target", "conc.", "req/s (vs pass-through)", "p50 ms", "p99 ms"];
  if (mode === "stream") head.push("first chunk p50 ms", "first chunk p99 ms", `median gap ms (sent every ${CHUNK_DELAY_MS})`, "gap p99 ms", "merged / bunched events");
  head.push("worker CPU µs/req", "sim CPU µs/req", "client CPU µs/req", "errors");
  return [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
}

/** Derived, data-only statements (no judgement beyond arithmetic). */
function summaryFindings(r: ChatOverheadResult): string[] {
  const out: string[] = [];
  const d1: number[] = [];
  const share: number[] = [];
  for (const c of r.options.concurrency) {
    const rel = cellOf(r.cells, "relay", "json", c)?.cpuUsPerRequest.worker;
    const nr = cellOf(r.cells, "relay-norec", "json", c)?.cpuUsPerRequest.worker;
    if (rel !== undefined && nr !== undefined && rel > 0) {
      d1.push(rel - nr);
      share.push((rel - nr) / rel);
    }
  }
  if (d1.length) {
    const own = r.profile?.steps.find((s) => s.step.startsWith("recordChatCall"))?.usPerCall;
    out.push(
      `Recording each call in D1 costs ${fmt(Math.min(...d1), 0)}–${fmt(Math.max(...d1), 0)} µs of CPU in the relay's workerd process per non-streaming call (${fmt(Math.min(...share) * 100, 0)}–${fmt(Math.max(...share) * 100, 0)} % of it)` +
        (own !== undefined ? `, of which the relay's own code (recordChatCall: record, id, prepare/bind) is ${fmt(own, 1)} µs; the rest is Miniflare's local D1 (a SQLite-backed Durable Object and its JS shim) running in the same process and thread. Deployed, D1 runs elsewhere.` : "."),
    );
  }
  const steps = r.profile?.steps;
  if (steps) {
    const get = (prefix: string) => steps.find((s) => s.step.startsWith(prefix))?.usPerCall;
    // Per-request steps only (not the aggregates, baselines or the cache-miss case).
    const small = steps.filter((s) => !/^(whole app|baseline|relayOpenAIStream|loadConfig)/.test(s.step));
    const biggest = small.reduce((a, b) => (b.usPerCall > a.usPerCall ? b : a), small[0]!);
    out.push(
      `The relay's own JavaScript, without any I/O: ${fmt(get("whole app, non-streaming"), 0)} µs per non-streaming call, ${fmt(get("whole app, streaming"), 0)} µs per ${r.setup.eventsPerStream}-event stream; framework floor (GET /health) ${fmt(get("whole app, GET /health"), 0)} µs; no single step above ${fmt(biggest.usPerCall, 1)} µs (${biggest.step}).`,
    );
  }
  for (const c of r.options.concurrency) {
    const p = cellOf(r.cells, "passthrough", "stream", c)?.cpuUsPerRequest.worker;
    const nr = cellOf(r.cells, "relay-norec", "stream", c)?.cpuUsPerRequest.worker;
    if (c === r.options.concurrency[r.options.concurrency.length - 1] && p !== undefined && nr !== undefined) {
      out.push(
        `Streaming at c=${c}: ${fmt(nr, 0)} µs of worker CPU per stream without the D1 write vs ${fmt(p, 0)} µs for the pass-through, which never touches the body in JavaScript; the relay must read and re-emit every event in JS.`,
      );
    }
  }
  return out;
}

export function chatOverheadMarkdown(r: ChatOverheadResult): string {
  const lines: string[] = [];
  const levels = r.options.concurrency;
  lines.push(`### Chat relay overhead${r.options.quick ? " (quick)" : ""}`, "");
  lines.push(
    `The same OpenAI chat request (non-streaming, and streaming with \`include_usage\`) against each target in its own workerd process (Miniflare API, direct sockets — not \`wrangler dev\`): the simulator directly; a bare \`fetch(upstream)\` pass-through worker, the floor for any relay on this runtime; the relay, bundled by \`wrangler deploy --dry-run\`, with Miniflare's local D1 (migrations applied) recording every call; and, as a diagnostic, the same relay with the D1 recording replaced by a no-op at bundle time. ` +
      `Closed-loop load from Node 20 (\`node:http\`, keep-alive), warmed up, ${r.setup.rounds} rounds per cell with the targets in rotating order; the load generator and all workerd processes share ${r.setup.cores} cores. ` +
      `Streams: the simulator sends ${r.setup.eventsPerStream} events ${r.setup.chunkDelayMs} ms apart; first chunk = time to the first complete \`data:\` event; gaps measured at the client; "merged" = HTTP chunks carrying ≥ 2 events (the sender coalesced them), "bunched" = events arriving < ${r.setup.chunkDelayMs / 4} ms after the previous one. ` +
      `CPU per request from /proc (workerd idle CPU measured before the load subtracted): worker = the target's process (for \`wrangler dev\`: its whole process tree), client = the Node process running the load. Run took ${r.durationS} s.`,
    "",
  );
  for (const mode of ["json", "stream"] as const) {
    lines.push(mode === "json" ? "**Non-streaming**" : "**Streaming**", "");
    lines.push(...tableHeader(mode));
    for (const c of levels) {
      const ref = cellOf(r.cells, "passthrough", mode, c);
      for (const cell of r.cells.filter((x) => x.mode === mode && x.concurrency === c)) lines.push(row(cell, ref));
    }
    lines.push("");
  }
  if (r.devCells.length) {
    lines.push("**`wrangler dev`** — the same relay under the dev server (its proxy and inspector are in the path), next to the relay on workerd from the same cell. The dev server's cost, not the relay's:", "");
    for (const mode of ["json", "stream"] as const) {
      const rows = r.devCells.filter((c) => c.mode === mode);
      if (!rows.length) continue;
      const ref = rows.find((x) => x.target === "relay");
      lines.push(...tableHeader(mode).map((l, i) => (i === 0 ? l.replace("vs pass-through", "vs relay on workerd") : l)));
      for (const cell of rows) lines.push(row(cell, cell === ref ? undefined : ref));
      lines.push("");
    }
  }
  lines.push("**Targets** (each against the bare pass-through in the same cell):", "");
  lines.push(`| target | variant | ${levels.map((c) => `c=${c}`).join(" | ")} |`, `|---|---|${levels.map(() => "---").join("|")}|`);
  for (const v of r.verdicts) {
    lines.push(`| ${v.name} | ${TARGET_LABEL[v.target] ?? v.target} | ${v.rows.map((x) => `${x.pass ? "✅" : "❌"} ${x.value}`).join(" | ")} |`);
  }
  lines.push("");
  // What the shared cores allow: when CPU-bound, throughput ∝ 1 / (all CPU per request).
  const cpuNotes: string[] = [];
  for (const c of levels) {
    const p = cellOf(r.cells, "passthrough", "json", c);
    const rel = cellOf(r.cells, "relay", "json", c);
    const nr = cellOf(r.cells, "relay-norec", "json", c);
    if (!p || !rel || !nr) continue;
    const total = (x: CellResult) => (x.cpuUsPerRequest.worker ?? 0) + (x.cpuUsPerRequest.sim ?? 0) + (x.cpuUsPerRequest.client ?? 0);
    cpuNotes.push(
      `c=${c}: relay worker ${fmt(rel.cpuUsPerRequest.worker, 0)} µs (${fmt(nr.cpuUsPerRequest.worker, 0)} µs without the D1 write) vs pass-through ${fmt(p.cpuUsPerRequest.worker, 0)} µs; all processes ${fmt(total(rel), 0)} / ${fmt(total(nr), 0)} / ${fmt(total(p), 0)} µs → CPU-bound throughput ratio ≈ ${fmt((total(p) / total(rel)) * 100, 0)} % (${fmt((total(p) / total(nr)) * 100, 0)} % without the D1 write)`,
    );
  }
  if (cpuNotes.length) {
    lines.push("CPU per non-streaming request (on shared cores, throughput follows the sum over all processes):", "");
    for (const n of cpuNotes) lines.push(`- ${n}`);
    lines.push("");
  }
  const findings = summaryFindings(r);
  if (findings.length) {
    lines.push("What the numbers say:", "");
    for (const f of findings) lines.push(`- ${f}`);
    lines.push("");
  }
  lines.push(
    `Checks: ${r.checks.chatCallsRecordedInD1} rows in the relay's D1 \`chat_calls\` for ${r.checks.relayRequestsMeasured} measured relay calls (+ warm-up); the relay's runtime wrote ${r.checks.relayRuntimeLogLines} log lines.`,
    "",
  );
  const mem = Object.entries(r.memory).map(([k, v]) => `${k} ${fmt(v.peakMiB, 0)} MiB`).join(", ");
  lines.push(`Peak RSS: ${mem}.`, "");
  if (r.profile) {
    lines.push("**Profile** — relay variants under the same load (rotating order):", "");
    for (const mode of ["json", "stream"] as const) {
      const rows = r.profile.cells.filter((c) => c.mode === mode);
      if (!rows.length) continue;
      lines.push(...tableHeader(mode));
      for (const cell of rows) lines.push(row(cell, cellOf(r.profile.cells, "passthrough", mode, cell.concurrency)));
      lines.push("");
    }
    lines.push(
      `Per-step CPU inside workerd (the relay's own code run n times per request in a profiling worker; CPU of its process from /proc, minus an empty request, ÷ n; in-isolate fakes for upstream and D1). env object identity across requests: ${r.profile.distinctEnvObjects === 1 ? "stable (config cache hits)" : `${r.profile.distinctEnvObjects} distinct objects (config re-parsed!)`}.`,
      "",
    );
    lines.push("| step | µs | note |", "|---|---:|---|");
    for (const s of r.profile.steps) lines.push(`| ${s.step} | ${fmt(s.usPerCall, 1)} | ${s.note} |`);
    lines.push("");
  }
  return lines.join("\n");
}

// ── CLI ────────────────────────────────────────────────────────────────────────────────

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (/chat-overhead\.[cm]?[jt]s$/.test(process.argv[1] ?? "")) {
  const scaleArg = Number(argValue("--scale"));
  const conc = argValue("--concurrency")
    ?.split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  try {
    const result = await runChatOverhead({
      quick: process.argv.includes("--quick"),
      scale: Number.isFinite(scaleArg) && scaleArg > 0 ? scaleArg : 1,
      includeWranglerDev: !process.argv.includes("--no-wrangler-dev"),
      ...(process.argv.includes("--profile") ? { profile: true } : process.argv.includes("--no-profile") ? { profile: false } : {}),
      ...(conc?.length ? { concurrency: conc } : {}),
    });
    console.log(chatOverheadMarkdown(result));
    // argv[1] is this source file (scripts/run-ts.mjs keeps it so), not the bundle.
    const outDir = join(dirname(process.argv[1] ?? "bench/x"), "results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "chat-overhead.json"), `${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  }
}
