import { env, SELF } from "cloudflare:test";

/**
 * Tiny helpers for integration tests: call the relay as a client would (SELF), and drive
 * the upstream simulator through its control API. Every test uses its own key, so the
 * simulator's per-key state keeps tests apart.
 */
export function uniqueKey(label = "test"): string {
  return `sk-${label}-${crypto.randomUUID()}`;
}

export interface CallOptions {
  key?: string | null;
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

export function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.key) headers.set("authorization", `Bearer ${options.key}`);
  let body = options.body;
  if (options.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(options.json);
  }
  return SELF.fetch(`http://relay.test${path}`, {
    method: options.method ?? (body !== undefined ? "POST" : "GET"),
    headers,
    ...(body !== undefined ? { body } : {}),
  });
}

export async function callJson<T = Record<string, unknown>>(path: string, options: CallOptions = {}): Promise<{ status: number; body: T; res: Response }> {
  const res = await call(path, options);
  const body = (await res.json()) as T;
  return { status: res.status, body, res };
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

// ---- simulator control ----

async function simPost(path: string, json: unknown): Promise<Response> {
  const res = await env.SIM.fetch(`http://upstream.sim${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(json),
  });
  if (!res.ok) throw new Error(`simulator ${path} answered ${res.status}: ${await res.text()}`);
  return res;
}

export async function simConfig(key: string, config: Record<string, unknown>): Promise<void> {
  await simPost("/__sim/config", { key, ...config });
}

export async function simFaults(key: string, rules: unknown[]): Promise<void> {
  await simPost("/__sim/faults", { key, rules });
}

export interface SimRequest {
  id: string;
  route: string;
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  json?: Record<string, unknown>;
  form?: Record<string, Array<string | { filename: string; type: string; size: number; sha256: string; firstBytesHex: string }>>;
  cancelled: boolean;
  sentText?: string;
  sentChunks?: number;
  receivedAt: number;
  finishedAt: number | null;
}

export async function simRequests(key: string, route?: string): Promise<SimRequest[]> {
  const q = new URLSearchParams({ key });
  if (route) q.set("route", route);
  const res = await env.SIM.fetch(`http://upstream.sim/__sim/requests?${q}`);
  const body = (await res.json()) as { requests?: SimRequest[] } | SimRequest[];
  return Array.isArray(body) ? body : (body.requests ?? []);
}

export async function simForceTask(taskid: string, fields: Record<string, unknown>): Promise<void> {
  await simPost(`/__sim/tasks/${taskid}`, fields);
}

export async function readSse(res: Response): Promise<{ events: string[]; comments: string[]; raw: string }> {
  const raw = await res.text();
  const events: string[] = [];
  const comments: string[] = [];
  for (const block of raw.split("\n\n")) {
    for (const line of block.split("\n")) {
      if (line.startsWith("data: ")) events.push(line.slice(6));
      else if (line.startsWith(":")) comments.push(line);
    }
  }
  return { events, comments, raw };
}

export { eventually } from "./eventually";
