import type { RelayConfig } from "../config/env";
import { ApiError } from "../errors/api-error";

/**
 * Talking to the Yuanjing upstream: one place builds the request (auth, no client
 * Accept-Encoding so streams are not compressed on the way) and one place turns the
 * upstream's own errors (`{"error": "Invalid API Key"}`, a 200 with `"status":"FAILED"`,
 * 403 for auth per the code's docs) into contract errors with the upstream's status kept.
 */
export interface UpstreamRequest {
  method: "GET" | "POST";
  path: string;
  key: string;
  body?: BodyInit | null;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function upstreamFetch(config: RelayConfig, req: UpstreamRequest): Promise<Response> {
  const headers = new Headers({ authorization: `Bearer ${req.key}` });
  if (req.contentType) headers.set("content-type", req.contentType);
  if (req.accept) headers.set("accept", req.accept);
  const signals: AbortSignal[] = [];
  if (req.signal) signals.push(req.signal);
  if (req.timeoutMs) signals.push(AbortSignal.timeout(req.timeoutMs));
  const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  try {
    return await fetch(`${config.upstreamBaseUrl}${req.path}`, {
      method: req.method,
      headers,
      body: req.body ?? null,
      signal: signal ?? null,
      redirect: "manual",
    });
  } catch (err) {
    if (err instanceof Error && (err.name === "TimeoutError" || /timed? ?out/i.test(err.message))) {
      throw new ApiError("upstream_timeout", "The upstream did not answer in time.", { cause: err });
    }
    if (err instanceof Error && err.name === "AbortError") throw err;
    throw new ApiError("upstream_error", "Could not reach the upstream.", { cause: err });
  }
}

/** The upstream's message from any of its error bodies, without its `ERROR:` prefix. */
export function upstreamMessage(body: unknown, fallback: string): string {
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    const candidate = record.error ?? record.message ?? record.msg;
    if (typeof candidate === "string" && candidate.trim() !== "") return candidate.replace(/^ERROR:\s*/i, "");
    if (candidate && typeof candidate === "object") {
      const nested = (candidate as Record<string, unknown>).message;
      if (typeof nested === "string") return nested.replace(/^ERROR:\s*/i, "");
    }
  }
  return fallback;
}

/** Maps a non-2xx upstream answer to the relay's error, keeping the upstream's status. */
export function upstreamHttpError(status: number, body: unknown): ApiError {
  const message = upstreamMessage(body, `The upstream answered HTTP ${status}.`);
  if (status === 401 || status === 403) {
    return new ApiError("unauthorized", message, { status, detailCode: "upstream_unauthorized" });
  }
  if (status === 429) {
    return /balance|quota|price/i.test(message)
      ? new ApiError("insufficient_quota", message, { detailCode: "insufficient_balance" })
      : new ApiError("rate_limited", message, { detailCode: "upstream_rate_limited" });
  }
  if (status === 404) return new ApiError("not_found", message, { detailCode: "upstream_not_found" });
  if (status === 413) return new ApiError("payload_too_large", message, { detailCode: "upstream_payload_too_large" });
  if (status >= 400 && status < 500) return new ApiError("invalid_request", message, { status, detailCode: "upstream_rejected" });
  if (status === 504) return new ApiError("upstream_timeout", message);
  return new ApiError("upstream_error", `${message}`, { detailCode: `upstream_http_${status}` });
}

/** A 200 answer that is really a failure (docs/UPSTREAM.md): `{"status":"FAILED","error":…}`. */
export function upstreamFailure(body: unknown): ApiError | null {
  if (!body || typeof body !== "object") return null;
  const record = body as Record<string, unknown>;
  const failed = typeof record.status === "string" && record.status.toUpperCase() === "FAILED";
  if (!failed && !(typeof record.error === "string" && !("choices" in record))) return null;
  return new ApiError("upstream_error", upstreamMessage(body, "The upstream reported a failure."), {
    detailCode: "upstream_failed",
  });
}

/** Reads an upstream body as JSON, or null when it is not JSON. */
export async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
