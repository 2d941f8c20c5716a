import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { eventually, relayUrl, restartRelay, sim, simUrl, uniqueKey } from "./support";

interface Task {
  id: string;
  status: string;
  video_url: string | null;
  metadata: Record<string, string>;
}

interface Received {
  webhookId: string;
  body: string;
  headers: Record<string, string>;
  status: number;
}

async function relay<T>(path: string, key: string, init: { method?: string; json?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${relayUrl()}${path}`, {
    method: init.method ?? (init.json !== undefined ? "POST" : "GET"),
    headers: {
      authorization: `Bearer ${key}`,
      ...(init.json !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function deliveries(name: string): Promise<Received[]> {
  const body = (await sim(`/hooks/${name}`)) as { deliveries: Received[] };
  return body.deliveries;
}

/** Verifies a delivery the way a user's receiver would, with both official libraries. */
function verifyWithLibraries(secret: string, d: Received): unknown {
  const headers = { "webhook-id": d.headers["webhook-id"] ?? "", "webhook-timestamp": d.headers["webhook-timestamp"] ?? "", "webhook-signature": d.headers["webhook-signature"] ?? "" };
  const viaStandard = new StandardWebhook(secret).verify(d.body, headers);
  const viaSvix = new SvixWebhook(secret).verify(d.body, {
    "svix-id": headers["webhook-id"],
    "svix-timestamp": headers["webhook-timestamp"],
    "svix-signature": headers["webhook-signature"],
  });
  expect(viaSvix).toEqual(viaStandard);
  return viaStandard;
}

const fastTask = { task: { createdMs: 0, pendingMs: 200, runningMs: 600 } };

describe("video tasks on the real local server", () => {
  it("submit, then Prefer: wait returns the finished task with the simulator's video URL", async () => {
    const key = uniqueKey();
    await sim("/__sim/config", { json: { key, ...fastTask } });
    const submitted = await relay<Task>("/v1/videos", key, { json: { model: "viduq3-pro", prompt: "a cat", duration: 5 } });
    expect(submitted.status).toBe(202);
    const done = await relay<Task>(`/v1/tasks/${submitted.body.id}`, key, { headers: { prefer: "wait=30" } });
    expect(done.body.status).toBe("succeeded");
    expect(done.body.video_url).toMatch(new RegExp(`^${simUrl()}/idfile\\?path=.*video\\.mp4$`));
    const video = await fetch(done.body.video_url ?? "");
    expect(video.headers.get("content-type")).toBe("video/mp4");
    expect(new TextDecoder().decode((await video.arrayBuffer()).slice(4, 8))).toBe("ftyp");
  });
});

describe("webhooks on the real local server", () => {
  it("delivers a completion both official verifiers accept, carrying the task and its metadata", async () => {
    const key = uniqueKey();
    const hook = `e2e-${crypto.randomUUID()}`;
    await sim("/__sim/config", { json: { key, ...fastTask } });
    const { body: secretBody } = await relay<{ secret: string }>("/v1/webhooks/default/secret", key);
    const submitted = await relay<Task>("/v1/videos", key, {
      json: { model: "viduq3-pro", prompt: "a dog", metadata: { order: "A-17" }, webhook: `${simUrl()}/hooks/${hook}` },
    });
    expect(submitted.status).toBe(202);
    const [delivery] = (await eventually(async () => ((await deliveries(hook)).length > 0 ? deliveries(hook) : null), 20_000)) ?? [];
    expect(delivery).toBeDefined();
    const event = verifyWithLibraries(secretBody.secret, delivery as Received) as { type: string; data: Task };
    expect(event.type).toBe("task.succeeded");
    expect(event.data.id).toBe(submitted.body.id);
    expect(event.data.status).toBe("succeeded");
    expect(event.data.metadata).toEqual({ order: "A-17" });
    expect(() => verifyWithLibraries(`whsec_${btoa("x".repeat(32))}`, delivery as Received)).toThrow();
  });

  it("keeps retrying a receiver that is down, across a relay restart, with one webhook-id", async () => {
    const key = uniqueKey();
    const hook = `down-${crypto.randomUUID()}`;
    await sim("/__sim/config", { json: { key, ...fastTask } });
    // Down for the first three attempts (WEBHOOK_RETRY_SCHEDULE is 1,1,1,1 s here).
    await fetch(`${simUrl()}/__sim/hooks/${hook}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ responses: [{ status: 503 }, { status: 500 }, { status: 502 }] }),
    });
    const { body: secretBody } = await relay<{ secret: string }>("/v1/webhooks/default/secret", key);
    const submitted = await relay<Task>("/v1/videos", key, { json: { model: "viduq3-pro", prompt: "rain", webhook: `${simUrl()}/hooks/${hook}` } });
    // The first failed attempt has happened: now restart the relay process.
    expect(await eventually(async () => (await deliveries(hook)).length >= 1, 20_000)).toBe(true);
    await restartRelay();
    const all = await eventually(async () => {
      const list = await deliveries(hook);
      return list.some((d) => d.status === 204) ? list : null;
    }, 30_000);
    expect(all?.map((d) => d.status)).toEqual([503, 500, 502, 204]);
    expect(new Set(all?.map((d) => d.webhookId)).size).toBe(1);
    verifyWithLibraries(secretBody.secret, all?.at(-1) as Received);
    const log = await relay<{ data: Array<{ status: string; attempts: Array<{ status_code: number }> }> }>(`/v1/tasks/${submitted.body.id}/deliveries`, key);
    expect(log.body.data[0]?.status).toBe("succeeded");
    expect(log.body.data[0]?.attempts.map((a) => a.status_code)).toEqual([503, 500, 502, 204]);
  });

  it("during a default-secret rotation, deliveries verify with the old and the new secret", async () => {
    const key = uniqueKey();
    const hook = `rot-${crypto.randomUUID()}`;
    await sim("/__sim/config", { json: { key, ...fastTask } });
    const old = (await relay<{ secret: string }>("/v1/webhooks/default/secret", key)).body.secret;
    const rotated = await relay<{ secret: string; previous_secret_expires_at: string }>("/v1/webhooks/default/secret/rotate", key, { method: "POST" });
    expect(rotated.body.secret).not.toBe(old);
    await relay<Task>("/v1/videos", key, { json: { model: "viduq3-pro", prompt: "sun", webhook: `${simUrl()}/hooks/${hook}` } });
    const [delivery] = (await eventually(async () => ((await deliveries(hook)).length > 0 ? deliveries(hook) : null), 20_000)) ?? [];
    verifyWithLibraries(old, delivery as Received);
    verifyWithLibraries(rotated.body.secret, delivery as Received);
  });
});
