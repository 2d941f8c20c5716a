/**
 * Webhook receivers for demos and tests: POST /hooks/<name> records each delivery and
 * answers with the receiver's next configured response (default 204); GET /hooks/<name>
 * shows what arrived. When the receiver knows the secrets it checks Standard Webhooks
 * signatures itself (WebCrypto), so a test reads `verified` instead of re-implementing it.
 *
 * A delivery carries no API key, so a receiver's name is its scope: faults with route
 * "hooks" and the records under /__sim/requests use key = <name>.
 */
import { preFault, takeFault } from "./faults";
import { controlError, controlJson, fromBase64, isRecord, parseJson, sleep, toBase64 } from "./http";
import { getScope, Life, record, type RequestRecord } from "./state";

export interface HookResponse {
  status: number;
  retryAfter?: number | string;
  delayMs?: number;
  body?: unknown;
  /** For 3xx: where to send the client (default: a sibling receiver `<name>-redirected`). */
  location?: string;
}

interface Delivery {
  rec: RequestRecord;
  body: string;
  webhookId: string | null;
  webhookTimestamp: string | null;
  signatures: string[];
  verified: boolean | null;
  matchedSecrets: number[];
}

interface Receiver {
  name: string;
  secrets: string[];
  responses: HookResponse[];
  deliveries: Delivery[];
}

const MAX_DELIVERIES = 1000;
const receivers = new Map<string, Receiver>();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function receiver(name: string): Receiver {
  let r = receivers.get(name);
  if (!r) {
    r = { name, secrets: [], responses: [], deliveries: [] };
    receivers.set(name, r);
  }
  return r;
}

export function deleteReceiver(name: string): boolean {
  return receivers.delete(name);
}

export function clearReceivers(): void {
  receivers.clear();
}

function parseHookResponse(value: unknown): HookResponse {
  if (!isRecord(value)) throw new Error("each response must be an object");
  const status = value.status;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new Error("response.status must be an integer 200-599");
  }
  const out: HookResponse = { status };
  if (typeof value.retryAfter === "number" || typeof value.retryAfter === "string") out.retryAfter = value.retryAfter;
  if (typeof value.delayMs === "number" && value.delayMs > 0) out.delayMs = value.delayMs;
  if (value.body !== undefined) out.body = value.body;
  if (typeof value.location === "string") out.location = value.location;
  return out;
}

/** PUT /__sim/hooks/<name> `{ secrets?, responses? }`: replaces what is given, keeps deliveries. */
export function configureReceiver(name: string, body: Record<string, unknown>): Response {
  const r = receiver(name);
  try {
    if (body.secrets !== undefined) {
      if (!Array.isArray(body.secrets) || !body.secrets.every((s) => typeof s === "string")) {
        throw new Error("secrets must be a list of strings");
      }
      r.secrets = body.secrets as string[];
    }
    if (body.responses !== undefined) {
      if (!Array.isArray(body.responses)) throw new Error("responses must be a list");
      r.responses = body.responses.map(parseHookResponse);
    }
  } catch (err) {
    return controlError(400, err instanceof Error ? err.message : String(err));
  }
  return controlJson(receiverView(r));
}

function secretBytes(secret: string): Uint8Array {
  return fromBase64(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
}

/** Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", any `v1,` entry may match. */
async function verify(
  secrets: string[],
  id: string | null,
  timestamp: string | null,
  signatures: string[],
  raw: Uint8Array,
): Promise<{ verified: boolean | null; matched: number[] }> {
  if (secrets.length === 0) return { verified: null, matched: [] };
  if (!id || !timestamp || signatures.length === 0) return { verified: false, matched: [] };
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + raw.length);
  signed.set(prefix);
  signed.set(raw, prefix.length);
  const matched: number[] = [];
  for (const [index, secret] of secrets.entries()) {
    let keyBytes: Uint8Array;
    try {
      keyBytes = secretBytes(secret);
    } catch {
      continue;
    }
    const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, signed)));
    if (signatures.includes(mac)) matched.push(index);
  }
  return { verified: matched.length > 0, matched };
}

function respond(r: Receiver, next: HookResponse | undefined, origin: string): Response {
  if (!next) return new Response(null, { status: 204 });
  const headers: Record<string, string> = {};
  if (next.retryAfter !== undefined) headers["retry-after"] = String(next.retryAfter);
  if (next.status >= 300 && next.status < 400) {
    headers.location = next.location ?? `${origin}/hooks/${encodeURIComponent(`${r.name}-redirected`)}`;
  }
  if (next.status === 204 || next.status === 304 || next.body === undefined) {
    return new Response(null, { status: next.status, headers });
  }
  if (typeof next.body === "string") {
    return new Response(next.body, { status: next.status, headers: { "content-type": "text/plain", ...headers } });
  }
  return new Response(JSON.stringify(next.body), {
    status: next.status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export async function handleHookDelivery(request: Request, url: URL, name: string): Promise<Response> {
  const scope = getScope(name);
  const rec = record(scope, "hooks", request, url);
  const life = new Life(scope, rec, request);
  const raw = new Uint8Array(await request.arrayBuffer());
  const body = decoder.decode(raw);
  rec.bodySize = raw.byteLength;
  const parsed = parseJson(body);
  if (parsed.ok) rec.json = parsed.value;
  else rec.rawBody = body;

  const r = receiver(name);
  const id = request.headers.get("webhook-id") ?? request.headers.get("svix-id");
  const timestamp = request.headers.get("webhook-timestamp") ?? request.headers.get("svix-timestamp");
  const signatureHeader = request.headers.get("webhook-signature") ?? request.headers.get("svix-signature") ?? "";
  const signatures = signatureHeader
    .split(" ")
    .map((part) => part.trim())
    .filter((part) => part.startsWith("v1,"))
    .map((part) => part.slice(3));
  const { verified, matched } = await verify(r.secrets, id, timestamp, signatures, raw);
  r.deliveries.push({ rec, body, webhookId: id, webhookTimestamp: timestamp, signatures, verified, matchedSecrets: matched });
  if (r.deliveries.length > MAX_DELIVERIES) r.deliveries.shift();

  const pre = await preFault(takeFault(scope, "hooks"), life);
  if (pre) return pre;
  const next = r.responses.shift();
  if (next?.delayMs) await sleep(next.delayMs, life.signal);
  return life.finish(respond(r, next, url.origin));
}

function deliveryView(d: Delivery): Record<string, unknown> {
  const { rec } = d;
  return {
    id: rec.id,
    receivedAt: rec.receivedAt,
    finishedAt: rec.finishedAt,
    method: rec.method,
    path: rec.path,
    headers: rec.headers,
    body: d.body,
    json: rec.json,
    webhookId: d.webhookId,
    webhookTimestamp: d.webhookTimestamp,
    signatures: d.signatures,
    verified: d.verified,
    matchedSecrets: d.matchedSecrets,
    status: rec.status,
    cancelled: rec.cancelled,
    fault: rec.fault,
  };
}

function receiverView(r: Receiver): Record<string, unknown> {
  return {
    name: r.name,
    secrets: r.secrets.length,
    pendingResponses: r.responses,
    deliveries: r.deliveries.map(deliveryView),
  };
}

export function handleHookRead(name: string): Response {
  const r = receivers.get(name);
  return controlJson(r ? receiverView(r) : { name, secrets: 0, pendingResponses: [], deliveries: [] });
}

export function handleHookList(): Response {
  const list = [...receivers.values()].map((r) => ({
    name: r.name,
    deliveries: r.deliveries.length,
    lastReceivedAt: r.deliveries.at(-1)?.rec.receivedAt ?? null,
  }));
  return controlJson({ receivers: list });
}
