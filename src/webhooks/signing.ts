/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, docs/API.md), on WebCrypto
 * so it runs in Workers without a Node shim. The official `standardwebhooks` and `svix`
 * verifiers are the test oracle for everything here.
 */
import { fromBase64, toBase64 } from "../lib/crypto";

export const WEBHOOK_SECRET_PREFIX = "whsec_";
export const WEBHOOK_USER_AGENT = "Yuanjing-Relay-Webhooks/1.0";

// The spec asks for 24 to 64 random bytes; 32 is the relay's choice and HMAC-SHA256's
// output size, so the key is never the weak link.
const SECRET_BYTES = 32;

// Anything above this is surely milliseconds: 1e11 s is the year 5138. Verifiers refuse a
// timestamp more than 5 minutes off, so a millisecond value would fail every delivery
// silently; better to fail loudly here.
const MAX_PLAUSIBLE_UNIX_SECONDS = 1e11;

// The signed content is "{id}.{timestamp}.{body}"; an id containing "." would let one
// (id, timestamp, body) triple collide with another. Relay ids are `evt_` + base32.
const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

const encoder = new TextEncoder();

export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The raw HMAC key of a `whsec_…` secret; throws on anything else. */
export function decodeWebhookSecret(secret: string): Uint8Array {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new Error(`webhook secret must start with "${WEBHOOK_SECRET_PREFIX}"`);
  }
  let key: Uint8Array;
  try {
    key = fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length));
  } catch (cause) {
    throw new Error("webhook secret is not valid base64 after the prefix", { cause });
  }
  if (key.length === 0) throw new Error("webhook secret is empty");
  return key;
}

export interface SignWebhookInput {
  /** The event id (`evt_…`), sent as `webhook-id`. */
  id: string;
  /** Unix seconds of this attempt, sent as `webhook-timestamp`. */
  timestamp: number;
  /** The exact bytes that will be sent, as a string. */
  body: string;
  /**
   * Every live secret: one normally, two during the 24 h after a rotation so receivers
   * still holding the old secret keep verifying.
   */
  secrets: readonly string[];
}

/** The `webhook-signature` header value: `v1,<sig>` per secret, space-separated. */
export async function signWebhook(input: SignWebhookInput): Promise<string> {
  const { id, timestamp, body } = input;
  if (!MESSAGE_ID_PATTERN.test(id)) {
    throw new Error("webhook id must be 1-256 characters of [A-Za-z0-9_-]");
  }
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0 || timestamp >= MAX_PLAUSIBLE_UNIX_SECONDS) {
    throw new RangeError(`webhook timestamp must be whole unix seconds, got ${timestamp}`);
  }
  const secrets = [...new Set(input.secrets)];
  if (secrets.length === 0) throw new Error("at least one webhook secret is required");

  const content = encoder.encode(`${id}.${timestamp}.${body}`);
  const signatures = await Promise.all(
    secrets.map(async (secret) => {
      const key = await crypto.subtle.importKey(
        "raw",
        decodeWebhookSecret(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const mac = await crypto.subtle.sign("HMAC", key, content);
      return `v1,${toBase64(new Uint8Array(mac))}`;
    }),
  );
  return signatures.join(" ");
}

export interface WebhookHeadersInput extends SignWebhookInput {
  userAgent?: string;
}

/** Every header of one delivery attempt. */
export async function webhookHeaders(input: WebhookHeadersInput): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "user-agent": input.userAgent ?? WEBHOOK_USER_AGENT,
    "webhook-id": input.id,
    "webhook-timestamp": String(input.timestamp),
    "webhook-signature": await signWebhook(input),
  };
}
