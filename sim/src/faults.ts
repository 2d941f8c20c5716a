/**
 * Fault injection. Rules are per key and per route, consumed in order: each request takes
 * the first rule for its route that has uses left, so `[{503, times: 2}, {500, times: 1}]`
 * plays as 503, 503, 500, then normal answers.
 */
import { isRecord, pyJson, sleep, upstreamJson } from "./http";
import type { Life, Scope } from "./state";

export type FaultRoute = "chat" | "video" | "tasks" | "hooks";

export type Fault =
  | { kind: "status"; status: number; body?: unknown; retryAfter?: number | string }
  | { kind: "slow_first_byte"; ms: number }
  | { kind: "slow_chunks"; ms: number }
  | { kind: "cut_after"; chunks: number }
  | { kind: "malformed_chunk"; after: number }
  | { kind: "error_event"; after: number; message?: string }
  | { kind: "json_content_type" }
  | { kind: "failed_200"; error?: string }
  | { kind: "hang" }
  | { kind: "garbage"; body?: string }
  | { kind: "wrapped"; variant: "data" | "resposne" };

export interface FaultRule {
  route: FaultRoute;
  /** Uses left; null = unlimited. */
  times: number | null;
  fault: Fault;
}

const ROUTES: readonly string[] = ["chat", "video", "tasks", "hooks"];

function count(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number`);
  }
  return Math.floor(value);
}

/** Checks one fault from the control API; throws a readable message when it is wrong. */
export function parseFault(value: unknown): Fault {
  if (!isRecord(value)) throw new Error("fault must be an object");
  switch (value.kind) {
    case "status": {
      const status = count(value.status, "status");
      if (status < 200 || status > 599) throw new Error("status must be 200-599");
      const retryAfter = value.retryAfter;
      if (retryAfter !== undefined && typeof retryAfter !== "number" && typeof retryAfter !== "string") {
        throw new Error("retryAfter must be a number or string");
      }
      return { kind: "status", status, body: value.body, ...(retryAfter !== undefined ? { retryAfter } : {}) };
    }
    case "slow_first_byte":
      return { kind: "slow_first_byte", ms: count(value.ms, "ms") };
    case "slow_chunks":
      return { kind: "slow_chunks", ms: count(value.ms, "ms") };
    case "cut_after":
      return { kind: "cut_after", chunks: count(value.chunks, "chunks") };
    case "malformed_chunk":
      return { kind: "malformed_chunk", after: count(value.after ?? 1, "after") };
    case "error_event":
      return {
        kind: "error_event",
        after: count(value.after ?? 1, "after"),
        ...(typeof value.message === "string" ? { message: value.message } : {}),
      };
    case "json_content_type":
      return { kind: "json_content_type" };
    case "failed_200":
      return { kind: "failed_200", ...(typeof value.error === "string" ? { error: value.error } : {}) };
    case "hang":
      return { kind: "hang" };
    case "garbage":
      return { kind: "garbage", ...(typeof value.body === "string" ? { body: value.body } : {}) };
    case "wrapped":
      if (value.variant !== "data" && value.variant !== "resposne") {
        throw new Error('variant must be "data" or "resposne"');
      }
      return { kind: "wrapped", variant: value.variant };
    default:
      throw new Error(`unknown fault kind ${JSON.stringify(value.kind)}`);
  }
}

export function parseRule(value: unknown): FaultRule {
  if (!isRecord(value)) throw new Error("rule must be an object");
  if (typeof value.route !== "string" || !ROUTES.includes(value.route)) {
    throw new Error(`route must be one of ${ROUTES.join(", ")}`);
  }
  const times = value.times === undefined || value.times === null ? null : count(value.times, "times");
  return { route: value.route as FaultRoute, times, fault: parseFault(value.fault) };
}

/** Takes the next fault for this route, consuming one use of its rule. */
export function takeFault(scope: Scope, route: FaultRoute): Fault | null {
  const index = scope.faults.findIndex((rule) => rule.route === route && (rule.times === null || rule.times > 0));
  if (index < 0) return null;
  const rule = scope.faults[index];
  if (!rule) return null;
  if (rule.times !== null) {
    rule.times--;
    if (rule.times === 0) scope.faults.splice(index, 1);
  }
  return rule.fault;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Invalid API Key",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Request Entity Too Large",
  429: "Insufficient balance",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function statusFaultResponse(fault: Extract<Fault, { kind: "status" }>): Response {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  if (fault.status === 204 || fault.status === 205 || fault.status === 304) {
    return new Response(null, { status: fault.status, headers });
  }
  if (typeof fault.body === "string") {
    return new Response(fault.body, {
      status: fault.status,
      headers: { "content-type": "text/plain; charset=utf-8", ...headers },
    });
  }
  const body = fault.body ?? { error: STATUS_TEXT[fault.status] ?? `HTTP ${fault.status}` };
  return upstreamJson(body, fault.status, headers);
}

/** A body that is not JSON, like the HTML error page of a proxy in front of the upstream. */
export function garbageResponse(fault: Extract<Fault, { kind: "garbage" }>): Response {
  return new Response(fault.body ?? "<html><body><h1>502 Bad Gateway</h1>upstream garbage {not json", {
    status: 200,
    headers: { "content-type": "application/json" },
  });
}

/** Holds the request until the client goes away (or five minutes, as a safety net). */
export async function hang(life: Life): Promise<Response> {
  // Waiting on timers (not a bare promise) keeps workerd from deciding the request can
  // never complete and failing it on its own.
  const deadline = Date.now() + 5 * 60_000;
  while (!life.signal.aborted && Date.now() < deadline) await sleep(1000, life.signal);
  return new Response(pyJson({ error: "simulated hang ended" }), { status: 504 });
}

/**
 * Applies the faults that replace or delay the whole answer (the same for every route).
 * Returns the response to send, or null to answer normally (possibly after a delay).
 */
export async function preFault(fault: Fault | null, life: Life): Promise<Response | null> {
  if (!fault) return null;
  switch (fault.kind) {
    case "status":
      return life.finish(statusFaultResponse(fault), "status");
    case "garbage":
      return life.finish(garbageResponse(fault), "garbage");
    case "hang":
      life.rec.fault = "hang";
      return life.finish(await hang(life), "hang");
    case "slow_first_byte":
      life.rec.fault = "slow_first_byte";
      await sleep(fault.ms, life.signal);
      return null;
    default:
      return null;
  }
}
