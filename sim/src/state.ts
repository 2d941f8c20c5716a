/**
 * All of the simulator's state, in module memory. One isolate serves every request (wrangler
 * dev locally, the auxiliary worker in tests), so plain Maps are shared by all requests;
 * nothing survives a restart, which is what a test double wants. Everything is scoped by
 * API key so parallel tests using different keys never see each other; tasks are also
 * indexed by taskid alone because the real upstream lets any key read any task.
 */
import type { FaultRule } from "./faults";

export type Route = "chat" | "video" | "tasks" | "hooks" | "idfile";
export type TaskOutcome = "SUCCEEDED" | "FAILED" | "UNKNOWN";
export type WrapVariant = "data" | "resposne";

export interface ChatConfig {
  /** Fixed answer text; `{prompt}` and `{model}` are substituted. Default: an echo sentence. */
  text: string | null;
  /** When set, streamed first as reasoning chunks (top-level `reasoning_content`). */
  reasoning: string | null;
  chunkDelayMs: number;
  /** Characters (code points) per content chunk. */
  chunkSize: number;
  /** Extra model names accepted besides the built-in list. */
  models: string[];
}

export interface TaskConfig {
  createdMs: number;
  pendingMs: number;
  runningMs: number;
  outcome: TaskOutcome;
  failReason: string;
  /** The upstream only refreshes a task's stored status every period, counted from submission. */
  queryPeriodMs: number | null;
  /** After this long the task is "moved to history" and answers "not exist". */
  historyAfterMs: number | null;
  wrapped: WrapVariant | null;
}

export const DEFAULT_CHAT: ChatConfig = {
  text: null,
  reasoning: null,
  chunkDelayMs: 10,
  chunkSize: 12,
  models: [],
};

export const DEFAULT_TASK: TaskConfig = {
  createdMs: 500,
  pendingMs: 1500,
  runningMs: 5000,
  outcome: "SUCCEEDED",
  failReason: "ERROR:simulated provider failure",
  queryPeriodMs: null,
  historyAfterMs: null,
  wrapped: null,
};

export interface FileInfo {
  filename: string;
  type: string;
  size: number;
  sha256: string;
  firstBytesHex: string;
}

export type FormValue = string | FileInfo;

export interface RequestRecord {
  id: string;
  route: Route;
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  headers: Record<string, string>;
  bodySize: number;
  json?: unknown;
  form?: Record<string, FormValue[]>;
  /** The body as text when it was neither JSON nor a form (or not valid JSON). */
  rawBody?: string;
  receivedAt: number;
  finishedAt: number | null;
  cancelled: boolean;
  status: number | null;
  fault: string | null;
  sentText?: string;
  sentReasoning?: string;
  sentChunks?: number;
  taskid?: string;
}

export interface Stats {
  chat: number;
  video: number;
  tasks: number;
  hooks: number;
  idfile: number;
  tasksCreated: number;
  cancelled: number;
}

export interface Scope {
  key: string;
  chat: ChatConfig;
  task: TaskConfig;
  faults: FaultRule[];
  requests: RequestRecord[];
  stats: Stats;
}

export interface SimTask {
  taskid: string;
  key: string;
  createdAt: number;
  llmid: string;
  action: "t2v" | "i2v" | "r2v";
  model: string;
  resolution: string;
  duration: number;
  offPeak: boolean;
  /** Timing and outcome are fixed at submission, so later config changes don't move old tasks. */
  config: TaskConfig;
  forced: { status: string; fields: Record<string, unknown> } | null;
  history: boolean;
  polls: number;
}

// Bounds keep a long benchmark from growing the isolate without limit.
const MAX_RECORDS_PER_KEY = 2000;
const MAX_TASKS = 100_000;

const scopes = new Map<string, Scope>();
export const tasks = new Map<string, SimTask>();
let recordSeq = 0;

function emptyStats(): Stats {
  return { chat: 0, video: 0, tasks: 0, hooks: 0, idfile: 0, tasksCreated: 0, cancelled: 0 };
}

export function getScope(key: string): Scope {
  let scope = scopes.get(key);
  if (!scope) {
    scope = {
      key,
      chat: { ...DEFAULT_CHAT, models: [] },
      task: { ...DEFAULT_TASK },
      faults: [],
      requests: [],
      stats: emptyStats(),
    };
    scopes.set(key, scope);
  }
  return scope;
}

export function peekScope(key: string): Scope | undefined {
  return scopes.get(key);
}

/** Forgets everything about one key: config, faults, recordings, counters and its tasks. */
export function resetScope(key: string): void {
  scopes.delete(key);
  for (const [taskid, task] of tasks) if (task.key === key) tasks.delete(taskid);
}

export function resetAll(): void {
  scopes.clear();
  tasks.clear();
}

export function addTask(task: SimTask): void {
  if (tasks.size >= MAX_TASKS) {
    const oldest = tasks.keys().next();
    if (!oldest.done) tasks.delete(oldest.value);
  }
  tasks.set(task.taskid, task);
}

/** Starts the record of one incoming request; the route fills in the rest as it answers. */
export function record(scope: Scope, route: Route, request: Request, url: URL): RequestRecord {
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, name) => {
    query[name] = value;
  });
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const rec: RequestRecord = {
    id: `req_${++recordSeq}`,
    route,
    method: request.method,
    path: url.pathname,
    query,
    contentType: request.headers.get("content-type"),
    headers,
    bodySize: 0,
    receivedAt: Date.now(),
    finishedAt: null,
    cancelled: false,
    status: null,
    fault: null,
  };
  scope.requests.push(rec);
  if (scope.requests.length > MAX_RECORDS_PER_KEY) scope.requests.shift();
  scope.stats[route]++;
  return rec;
}

/**
 * Ties a request record to the client connection: `signal` aborts when the client goes away
 * (request.signal, which needs the `enable_request_signal` compatibility flag) or when the
 * response stream is cancelled, and the record is marked cancelled if it had not finished.
 */
export class Life {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal = this.controller.signal;

  constructor(
    private readonly scope: Scope,
    readonly rec: RequestRecord,
    request: Request,
  ) {
    const incoming = request.signal as AbortSignal | undefined;
    if (incoming) {
      if (incoming.aborted) this.cancel();
      else incoming.addEventListener("abort", () => this.cancel(), { once: true });
    }
  }

  cancel(): void {
    if (this.rec.finishedAt === null) {
      this.rec.cancelled = true;
      this.rec.finishedAt = Date.now();
      this.scope.stats.cancelled++;
    }
    if (!this.signal.aborted) this.controller.abort();
  }

  /** Marks the answer complete; returns the response for chaining. */
  finish<T extends Response>(response: T, fault: string | null = null): T {
    this.rec.status = response.status;
    if (fault) this.rec.fault = fault;
    if (this.rec.finishedAt === null) this.rec.finishedAt = Date.now();
    return response;
  }

  /** Records the status of a streamed answer now; `end()` sets finishedAt when the body is done. */
  started(status: number, fault: string | null = null): void {
    this.rec.status = status;
    if (fault) this.rec.fault = fault;
  }

  end(): void {
    if (this.rec.finishedAt === null) this.rec.finishedAt = Date.now();
  }
}
