import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { seal } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { generateWebhookSecret } from "../../src/webhooks/signing";
import { tenantSecrets } from "../../src/webhooks/secrets";
import { insertEndpoint } from "../../src/webhooks/storage";
import { eventually, simForceTask, uniqueKey } from "../support/helpers";
import { configureReceiver, received, receiverUrl } from "../support/receiver";
import { fireAlarm, startTask } from "../support/tasks";

const SECRET = "test-secret-test-secret-test-secret-0123456789";

async function defaultSecret(tenant: string): Promise<string> {
  return (await tenantSecrets(env.DB, SECRET, tenant)).current;
}

async function addEndpoint(tenant: string, url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const secret = generateWebhookSecret();
  const id = newId("wh");
  const now = new Date().toISOString();
  await insertEndpoint(env.DB, {
    id,
    tenant,
    url,
    description: null,
    events_json: JSON.stringify(events),
    enabled: 1,
    secret_sealed: await seal(SECRET, "webhook-secret", secret),
    previous_secret_sealed: null,
    previous_expires_at: null,
    disabled_reason: null,
    created_at: now,
    updated_at: now,
  });
  return { id, secret };
}

async function deliveriesOf(taskId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM deliveries WHERE task_id = ? ORDER BY created_at").bind(taskId).all<Record<string, unknown>>();
  return results;
}

async function attemptsOf(deliveryId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt").bind(deliveryId).all<Record<string, unknown>>();
  return results;
}

describe("webhook delivery from the task's Durable Object", () => {
  it("delivers a signed task.succeeded carrying the task and its metadata", async () => {
    const key = uniqueKey();
    const hook = `ok-${crypto.randomUUID()}`;
    const { stub, taskid, init } = await startTask(key, {
      metadata: { order: "42" },
      webhooks: [{ url: receiverUrl(hook), events: ["task.succeeded"] }],
    });
    await configureReceiver(hook, { secrets: [await defaultSecret(init.tenant)] });
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    const got = await received(hook);
    expect(got).toHaveLength(1);
    const [d] = got;
    expect(d?.verified).toBe(true);
    expect(d?.webhookId).toMatch(/^evt_/);
    const body = JSON.parse(d?.body ?? "{}") as { id: string; type: string; data: { id: string; status: string; metadata: Record<string, string>; video_url: string } };
    expect(body.id).toBe(d?.webhookId);
    expect(body.type).toBe("task.succeeded");
    expect(body.data.id).toBe(init.id);
    expect(body.data.status).toBe("succeeded");
    expect(body.data.video_url).toMatch(/video\.mp4$/);
    expect(body.data.metadata).toEqual({ order: "42" });
    const [logged] = await deliveriesOf(init.id);
    expect(logged).toMatchObject({ status: "succeeded", attempts: 1, event_type: "task.succeeded", last_status_code: 204 });
  });

  it("retries a failing receiver on the schedule with the same webhook-id, logging every attempt", async () => {
    const key = uniqueKey();
    const hook = `flaky-${crypto.randomUUID()}`;
    const { stub, taskid, init } = await startTask(key, { webhooks: [{ url: receiverUrl(hook), events: ["task.failed"] }] });
    await configureReceiver(hook, { responses: [{ status: 500, body: "boom" }, { status: 503, retryAfter: 1 }] });
    await simForceTask(taskid, { status: "FAILED", error: "ERROR:nope" });
    await fireAlarm(stub); // poll + attempt 1 (500)
    await fireAlarm(stub); // attempt 2 (503)
    await fireAlarm(stub); // attempt 3 (204)
    const got = await received(hook);
    expect(got.map((d) => d.status)).toEqual([500, 503, 204]);
    expect(new Set(got.map((d) => d.webhookId)).size).toBe(1);
    const [delivery] = await deliveriesOf(init.id);
    expect(delivery).toMatchObject({ status: "succeeded", attempts: 3 });
    const attempts = await attemptsOf(String(delivery?.id));
    expect(attempts.map((a) => a.status_code)).toEqual([500, 503, 204]);
    expect(attempts[0]?.response_snippet).toBe("boom");
    expect((await stub.inspect()).alarm).toBeNull();
  });

  it("stops calling a webhook that answers 410 Gone", async () => {
    const key = uniqueKey();
    const hook = `gone-${crypto.randomUUID()}`;
    const { stub, taskid, init } = await startTask(key, { webhooks: [{ url: receiverUrl(hook), events: ["task.running", "task.succeeded"] }] });
    await configureReceiver(hook, { responses: [{ status: 410 }] });
    await simForceTask(taskid, { status: "RUNNING" });
    await fireAlarm(stub);
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    expect((await received(hook)).length).toBe(1);
    const rows = await deliveriesOf(init.id);
    expect(rows.map((r) => r.status)).toEqual(["gone"]);
  });

  it("fans out to the tenant's endpoints by event filter, and never to another tenant's", async () => {
    const key = uniqueKey();
    const { stub, taskid, init } = await startTask(key);
    const onFailed = `ep-failed-${crypto.randomUUID()}`;
    const onSucceeded = `ep-ok-${crypto.randomUUID()}`;
    const otherTenant = `ep-other-${crypto.randomUUID()}`;
    const a = await addEndpoint(init.tenant, receiverUrl(onFailed), ["task.failed"]);
    const b = await addEndpoint(init.tenant, receiverUrl(onSucceeded), ["task.succeeded"]);
    await addEndpoint("f".repeat(64), receiverUrl(otherTenant), ["task.succeeded", "task.failed"]);
    await configureReceiver(onSucceeded, { secrets: [b.secret] });
    await configureReceiver(onFailed, { secrets: [a.secret] });
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    expect(await received(onFailed)).toHaveLength(0);
    expect(await received(otherTenant)).toHaveLength(0);
    const got = await received(onSucceeded);
    expect(got).toHaveLength(1);
    expect(got[0]?.verified).toBe(true);
    const rows = await deliveriesOf(init.id);
    expect(rows.map((r) => r.endpoint_id)).toEqual([b.id]);
  });

  it("delivers at once to a webhook added after the task finished (beside the one it had)", async () => {
    const key = uniqueKey();
    const hook = `late-${crypto.randomUUID()}`;
    const first = `first-${crypto.randomUUID()}`;
    const { stub, taskid } = await startTask(key, { webhooks: [{ url: receiverUrl(first), events: ["task.succeeded"] }] });
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    await stub.addWebhook({ url: receiverUrl(hook), events: ["task.succeeded"] });
    // Due at once: the runtime fires the alarm by itself.
    const got = await eventually(async () => {
      const list = await received(hook);
      return list.length > 0 ? list : null;
    });
    expect(got).toHaveLength(1);
    expect(JSON.parse(got?.[0]?.body ?? "{}")).toMatchObject({ type: "task.succeeded" });
    // Same event, one delivery per destination.
    expect(got?.[0]?.webhookId).toBe((await received(first))[0]?.webhookId);
    expect((await stub.inspect()).deliveries).toHaveLength(2);
  });

  it("redelivers with the same webhook-id and logs the attempt", async () => {
    const key = uniqueKey();
    const hook = `again-${crypto.randomUUID()}`;
    const { stub, taskid, init } = await startTask(key, { webhooks: [{ url: receiverUrl(hook), events: ["task.succeeded"] }] });
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    const [delivery] = await deliveriesOf(init.id);
    const result = await stub.redeliver(String(delivery?.id));
    expect(result?.ok).toBe(true);
    const got = await received(hook);
    expect(got).toHaveLength(2);
    expect(got[1]?.webhookId).toBe(got[0]?.webhookId);
    const attempts = await attemptsOf(String(delivery?.id));
    expect(attempts.map((a) => a.trigger)).toEqual(["schedule", "redeliver"]);
  });

  it("gives up an attempt after WEBHOOK_TIMEOUT_MS and retries it", async () => {
    const key = uniqueKey();
    const hook = `slow-${crypto.randomUUID()}`;
    const { stub, taskid, init } = await startTask(key, { webhooks: [{ url: receiverUrl(hook), events: ["task.succeeded"] }] });
    // WEBHOOK_TIMEOUT_MS is 1500 in tests; the receiver takes 3 s the first time.
    await configureReceiver(hook, { responses: [{ status: 200, delayMs: 3000 }] });
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    const [delivery] = await deliveriesOf(init.id);
    expect(delivery).toMatchObject({ status: "pending", attempts: 1, last_status_code: null });
    expect(String(delivery?.last_error)).toContain("timed out after 1500 ms");
    await fireAlarm(stub);
    const [after] = await deliveriesOf(init.id);
    expect(after).toMatchObject({ status: "succeeded", attempts: 2 });
  });

  it("does not follow redirects", async () => {
    const key = uniqueKey();
    const hook = `redirect-${crypto.randomUUID()}`;
    const { stub, taskid, init } = await startTask(key, { webhooks: [{ url: receiverUrl(hook), events: ["task.succeeded"] }] });
    await configureReceiver(hook, { responses: [{ status: 302 }] });
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    expect(await received(`${hook}-redirected`)).toHaveLength(0);
    const [delivery] = await deliveriesOf(init.id);
    expect(delivery).toMatchObject({ status: "pending", last_status_code: 302 });
    expect(String(delivery?.last_error)).toContain("redirect");
  });
});

describe("default secret rotation", () => {
  it("signs with both secrets during the 24 h overlap, and only with the new one after it", async () => {
    const { rotateTenantDefaultSecret } = await import("../../src/webhooks/secrets");
    const key = uniqueKey();
    const during = `rot-during-${crypto.randomUUID()}`;
    const after = `rot-after-${crypto.randomUUID()}`;
    const first = await startTask(key, { webhooks: [{ url: receiverUrl(during), events: ["task.succeeded"] }] });
    const old = await defaultSecret(first.init.tenant);
    const rotated = await rotateTenantDefaultSecret(env.DB, SECRET, first.init.tenant, Date.now());
    await configureReceiver(during, { secrets: [old, rotated.current] });
    await simForceTask(first.taskid, { status: "SUCCEEDED" });
    await fireAlarm(first.stub);
    const [d1] = await received(during);
    expect(d1?.signatures).toHaveLength(2);
    expect(d1?.matchedSecrets.sort()).toEqual([0, 1]);

    // 24 h later the old secret no longer signs.
    await env.DB.prepare("UPDATE tenant_secrets SET previous_expires_at = ? WHERE tenant = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), first.init.tenant)
      .run();
    const second = await startTask(key, { webhooks: [{ url: receiverUrl(after), events: ["task.succeeded"] }] });
    await configureReceiver(after, { secrets: [old, rotated.current] });
    await simForceTask(second.taskid, { status: "SUCCEEDED" });
    await fireAlarm(second.stub);
    const [d2] = await received(after);
    expect(d2?.signatures).toHaveLength(1);
    expect(d2?.matchedSecrets).toEqual([1]);
  });
});
