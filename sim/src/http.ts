/**
 * Small HTTP helpers shared by the simulator's routes. Upstream-facing answers are
 * serialised the way the real upstream (Python, `json.dumps` defaults) writes them, so a
 * relay that passes bytes through can be checked against the same bytes.
 */

/**
 * `json.dumps` with Python's default separators (", " and ": "). With `ascii` every
 * character outside printable ASCII is escaped as \uXXXX (Python's ensure_ascii), as the
 * upstream's streamed chunks are; its non-streamed answers carry raw UTF-8.
 */
export function pyJson(value: unknown, ascii = false): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") {
    const text = JSON.stringify(value);
    return ascii
      ? text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
      : text;
  }
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map((v) => pyJson(v, ascii)).join(", ")}]`;
  if (typeof value === "object") {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      parts.push(`${pyJson(k, ascii)}: ${pyJson(v, ascii)}`);
    }
    return `{${parts.join(", ")}}`;
  }
  return "null";
}

/** An answer shaped like the upstream's own (Python-style JSON). */
export function upstreamJson(value: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(pyJson(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headersToRecord(headers) },
  });
}

/** An answer of the simulator's own control API (plain JSON). */
export function controlJson(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

export function controlError(status: number, message: string): Response {
  return controlJson({ error: message }, status);
}

function headersToRecord(headers: HeadersInit): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

export function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

/** The bearer key, or "" when absent: an empty key is its own (anonymous) scope. */
export function bearerKey(request: Request): string {
  const header = request.headers.get("authorization") ?? "";
  const match = /^bearer\s+(.*)$/i.exec(header.trim());
  return match?.[1]?.trim() ?? "";
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export async function readJsonObject(request: Request): Promise<Record<string, unknown> | null> {
  const parsed = parseJson(await request.text());
  return parsed.ok && isRecord(parsed.value) ? parsed.value : null;
}

/**
 * Waits `ms`, or less if `signal` aborts first. Resolves true when the full time passed.
 * Every wait in the simulator goes through here so a disconnect is noticed at once, not
 * after the current delay.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/** A nanoid-like id, the shape of the upstream's `llmusageid` ("K9_veNBxeqvrFfbGWXs0R"). */
export function nanoId(length = 21): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}
