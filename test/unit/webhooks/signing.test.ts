import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { fromBase64 } from "../../../src/lib/crypto";
import {
  decodeWebhookSecret,
  generateWebhookSecret,
  signWebhook,
  webhookHeaders,
  WEBHOOK_USER_AGENT,
} from "../../../src/webhooks/signing";

// The verifiers refuse timestamps more than 5 minutes from their own clock.
const now = (): number => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ id: "evt_0123", type: "task.succeeded", data: { prompt: "雪山 ✓" } });

const verifiers = [
  ["standardwebhooks", (secret: string) => new StandardWebhook(secret)],
  ["svix", (secret: string) => new SvixWebhook(secret)],
] as const;

describe("generateWebhookSecret", () => {
  it("is whsec_ + base64 of 32 random bytes", () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fromBase64(a.slice("whsec_".length))).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});

describe("signWebhook", () => {
  it("matches a fixed HMAC-SHA256 vector (the standardwebhooks library's own test)", async () => {
    // From standard-webhooks/libraries/javascript tests: same inputs, same signature.
    const signature = await signWebhook({
      id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    });
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("signs once per live secret, space-separated, without duplicates", async () => {
    const [s1, s2] = [generateWebhookSecret(), generateWebhookSecret()];
    const input = { id: "evt_1", timestamp: now(), body };
    const both = await signWebhook({ ...input, secrets: [s1, s2, s1] });
    const parts = both.split(" ");
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(await signWebhook({ ...input, secrets: [s1] }));
    expect(parts[1]).toBe(await signWebhook({ ...input, secrets: [s2] }));
  });

  it("refuses inputs that would produce undeliverable or ambiguous signatures", async () => {
    const secrets = [generateWebhookSecret()];
    await expect(signWebhook({ id: "evt_1", timestamp: Date.now(), body, secrets })).rejects.toThrow(/unix seconds/);
    await expect(signWebhook({ id: "evt_1", timestamp: 1.5, body, secrets })).rejects.toThrow(/unix seconds/);
    await expect(signWebhook({ id: "evt.1", timestamp: now(), body, secrets })).rejects.toThrow(/webhook id/);
    await expect(signWebhook({ id: "evt_1", timestamp: now(), body, secrets: [] })).rejects.toThrow(/secret/);
    await expect(
      signWebhook({ id: "evt_1", timestamp: now(), body, secrets: ["sk_bm90IGEgd2hzZWM="] }),
    ).rejects.toThrow(/whsec_/);
  });
});

describe("decodeWebhookSecret", () => {
  it("refuses malformed secrets", () => {
    expect(() => decodeWebhookSecret("whsec_")).toThrow(/empty/);
    expect(() => decodeWebhookSecret("whsec_***")).toThrow(/base64/);
  });
});

describe.each(verifiers)("the official %s verifier", (_name, makeVerifier) => {
  it("accepts a delivery signed with one secret and returns the payload", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders({ id: "evt_single", timestamp: now(), body, secrets: [secret] });
    expect(makeVerifier(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("accepts with either secret while two are live (rotation overlap)", async () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const headers = await webhookHeaders({
      id: "evt_rotation",
      timestamp: now(),
      body,
      secrets: [newSecret, oldSecret],
    });
    expect(makeVerifier(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(makeVerifier(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => makeVerifier(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it("rejects a tampered body, id or timestamp", async () => {
    const secret = generateWebhookSecret();
    const ts = now();
    const headers = await webhookHeaders({ id: "evt_tamper", timestamp: ts, body, secrets: [secret] });
    const verifier = makeVerifier(secret);
    expect(() => verifier.verify(body.replace("succeeded", "failed"), headers)).toThrow();
    expect(() => verifier.verify(body, { ...headers, "webhook-id": "evt_other" })).toThrow();
    expect(() => verifier.verify(body, { ...headers, "webhook-timestamp": String(ts - 1) })).toThrow();
  });
});

describe("webhookHeaders", () => {
  it("sends the Standard Webhooks headers, JSON content type and a user agent", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders({ id: "evt_h", timestamp: 1_800_000_000, body, secrets: [secret] });
    expect(headers).toEqual({
      "content-type": "application/json",
      "user-agent": WEBHOOK_USER_AGENT,
      "webhook-id": "evt_h",
      "webhook-timestamp": "1800000000",
      "webhook-signature": await signWebhook({ id: "evt_h", timestamp: 1_800_000_000, body, secrets: [secret] }),
    });
    const custom = await webhookHeaders({ id: "evt_h", timestamp: 1, body, secrets: [secret], userAgent: "x/1" });
    expect(custom["user-agent"]).toBe("x/1");
  });
});
