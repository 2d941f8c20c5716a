import { newId } from "../lib/ids";
import { parseRetryAfter } from "./retry-schedule";
import { webhookHeaders } from "./signing";
import type { AttemptRow } from "./storage";
import { checkWebhookUrl } from "./url-safety";

/**
 * One delivery attempt: sign, POST, classify. Used by the task's Durable Object for
 * scheduled attempts and redeliveries, and by the Worker for `webhook.test`.
 * Redirects are never followed (a 3xx is a failed attempt), the URL is re-checked before
 * every attempt (DNS and settings change), and the response is read only far enough to
 * keep a short snippet for the log.
 */
export interface AttemptInput {
  url: string;
  eventId: string;
  body: string;
  secrets: readonly string[];
  timeoutMs: number;
  allowPrivate: boolean;
  nowMs?: number;
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseSnippet: string | null;
  /** The receiver's Retry-After (429/503 only), in ms. */
  retryAfterMs: number | null;
  /** 410 Gone: the receiver asks never to be called again. */
  gone: boolean;
  /** The URL is no longer acceptable: retrying cannot help. */
  permanent: boolean;
}

const SNIPPET_BYTES = 512;

async function readSnippet(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  const text = new TextDecoder().decode(all.subarray(0, SNIPPET_BYTES)).trim();
  return text === "" ? null : text;
}

export async function attemptDelivery(input: AttemptInput): Promise<AttemptResult> {
  const started = Date.now();
  const check = checkWebhookUrl(input.url, { allowPrivate: input.allowPrivate });
  if (!check.ok) {
    return { ok: false, statusCode: null, durationMs: 0, error: `refused: ${check.reason}`, responseSnippet: null, retryAfterMs: null, gone: false, permanent: true };
  }
  const nowMs = input.nowMs ?? Date.now();
  let headers: Record<string, string>;
  try {
    headers = await webhookHeaders({
      id: input.eventId,
      timestamp: Math.floor(nowMs / 1000),
      body: input.body,
      secrets: input.secrets,
    });
  } catch (err) {
    const error = `could not sign: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, statusCode: null, durationMs: 0, error, responseSnippet: null, retryAfterMs: null, gone: false, permanent: false };
  }
  try {
    const res = await fetch(check.url.href, {
      method: "POST",
      headers,
      body: input.body,
      redirect: "manual",
      signal: AbortSignal.timeout(input.timeoutMs),
    });
    const snippet = await readSnippet(res).catch(() => null);
    const durationMs = Date.now() - started;
    const status = res.status;
    const ok = status >= 200 && status < 300;
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers.get("retry-after"), Date.now()) : null;
    let error: string | null = null;
    if (!ok) {
      error = status >= 300 && status < 400 ? `redirect (HTTP ${status}) not followed` : `HTTP ${status}`;
    }
    return { ok, statusCode: status, durationMs, error, responseSnippet: snippet, retryAfterMs, gone: status === 410, permanent: false };
  } catch (err) {
    const durationMs = Date.now() - started;
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const error = timedOut ? `timed out after ${input.timeoutMs} ms` : `network error: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, statusCode: null, durationMs, error, responseSnippet: null, retryAfterMs: null, gone: false, permanent: false };
  }
}

/** The log row of one attempt (delivery_attempts), the same whoever made it. */
export function attemptLogRow(
  input: { deliveryId: string; tenant: string; attempt: number; trigger: AttemptRow["trigger"]; attemptedAt: string },
  result: AttemptResult,
): AttemptRow {
  return {
    id: newId("att"),
    delivery_id: input.deliveryId,
    tenant: input.tenant,
    attempt: input.attempt,
    trigger: input.trigger,
    attempted_at: input.attemptedAt,
    status_code: result.statusCode,
    duration_ms: result.durationMs,
    error: result.error,
    response_snippet: result.responseSnippet,
  };
}
