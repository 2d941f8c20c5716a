import { env } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto";
import { call, callJson, simForceTask, uniqueKey, type ErrorBody } from "../support/helpers";
import { fireAlarm, startTask } from "../support/tasks";
import {
  callWithBindings,
  configureHook,
  createEndpoint,
  hookUrl,
  receivedHooks,
  uniqueHook,
  type DeliveryObject,
  type EndpointObject,
  type ListOf,
} from "../support/webhooks";

const SECRET_FORMAT = /^whsec_[A-Za-z0-9+/]{43}=$/;

function expectError(body: unknown, param: string | null, code?: string): void {
  const error = (body as ErrorBody).error;
  expect(error.type).toBe("invalid_request_error");
  expect(error.param).toBe(param);
  if (code) expect(error.code).toBe(code);
}

async function endpointRows(key: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE tenant = ?").bind(await sha256Hex(key)).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("default secret", () => {
  it("is created on first use, stable, whsec_ formatted, per tenant, and rotates", async () => {
    const key = uniqueKey();
    const first = await callJson<{ secret: string; key: string }>("/v1/webhooks/default/secret", { key });
    expect(first.status).toBe(200);
    expect(first.body.secret).toMatch(SECRET_FORMAT);
    expect(first.body.key).toBe(first.body.secret); // Replicate's field name, same value
    const again = await callJson<{ secret: string }>("/v1/webhooks/default/secret", { key });
    expect(again.body.secret).toBe(first.body.secret);

    const other = await callJson<{ secret: string }>("/v1/webhooks/default/secret", { key: uniqueKey() });
    expect(other.body.secret).toMatch(SECRET_FORMAT);
    expect(other.body.secret).not.toBe(first.body.secret);

    const before = Date.now();
    const rotated = await callJson<{ secret: string; key: string; previous_secret_expires_at: string }>("/v1/webhooks/default/secret/rotate", {
      key,
      method: "POST",
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(SECRET_FORMAT);
    expect(rotated.body.secret).not.toBe(first.body.secret);
    expect(rotated.body.key).toBe(rotated.body.secret);
    const overlap = Date.parse(rotated.body.previous_secret_expires_at) - before;
    expect(overlap).toBeGreaterThan(23.9 * 3600_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3600_000 + 5_000);
    const after = await callJson<{ secret: string }>("/v1/webhooks/default/secret", { key });
    expect(after.body.secret).toBe(rotated.body.secret);
    // At rest, only sealed.
    const row = await env.DB.prepare("SELECT * FROM tenant_secrets WHERE tenant = ?").bind(await sha256Hex(key)).first<Record<string, string>>();
    expect(JSON.stringify(row)).not.toContain(rotated.body.secret.slice(6));
    expect(JSON.stringify(row)).not.toContain(first.body.secret.slice(6));
  });

  it("needs a key", async () => {
    const res = await call("/v1/webhooks/default/secret");
    expect(res.status).toBe(401);
  });
});

describe("endpoints", () => {
  it("round-trips create, get, list, patch, rotate and delete", async () => {
    const key = uniqueKey();
    const created = await createEndpoint(key, { url: hookUrl(uniqueHook()), description: "main" });
    expect(created.id).toMatch(/^wh_[0-9a-z]{20}$/);
    expect(created).toMatchObject({
      object: "webhook_endpoint",
      events: ["task.running", "task.succeeded", "task.failed", "task.expired"],
      description: "main",
      enabled: true,
      disabled_reason: null,
    });
    expect(created.secret).toMatch(SECRET_FORMAT);
    expect(Date.parse(created.created_at)).not.toBeNaN();

    const got = await callJson<EndpointObject>(`/v1/webhooks/${created.id}`, { key });
    expect(got.status).toBe(200);
    const { secret: _secret, ...withoutSecret } = created;
    expect(got.body).toEqual(withoutSecret);
    expect(got.body).not.toHaveProperty("secret");

    const listed = await callJson<ListOf<EndpointObject>>("/v1/webhooks", { key });
    expect(listed.body).toMatchObject({ object: "list", has_more: false, next_cursor: null });
    expect(listed.body.data.map((e) => e.id)).toEqual([created.id]);
    expect(listed.body.data[0]).not.toHaveProperty("secret");

    const newUrl = hookUrl(uniqueHook("moved"));
    const patched = await callJson<EndpointObject>(`/v1/webhooks/${created.id}`, {
      key,
      method: "PATCH",
      json: { url: newUrl, events: ["task.succeeded", "task.succeeded", "task.failed"], description: null, enabled: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ url: newUrl, events: ["task.succeeded", "task.failed"], description: null, enabled: false, disabled_reason: null });
    expect(patched.body.updated_at >= created.updated_at).toBe(true);

    // Re-enabling clears a disabled_reason (as a 410 would have set it).
    await env.DB.prepare("UPDATE webhook_endpoints SET disabled_reason = 'receiver answered 410 Gone' WHERE id = ?").bind(created.id).run();
    const disabled = await callJson<EndpointObject>(`/v1/webhooks/${created.id}`, { key });
    expect(disabled.body.disabled_reason).toBe("receiver answered 410 Gone");
    const enabled = await callJson<EndpointObject>(`/v1/webhooks/${created.id}`, { key, method: "PATCH", json: { enabled: true } });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null, url: newUrl });

    const rotated = await callJson<EndpointObject>(`/v1/webhooks/${created.id}/rotate-secret`, { key, method: "POST" });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(SECRET_FORMAT);
    expect(rotated.body.secret).not.toBe(created.secret);
    expect(Date.parse(rotated.body.previous_secret_expires_at ?? "")).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect(rotated.body.id).toBe(created.id);

    const raw = await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").bind(created.id).first<Record<string, string>>();
    expect(JSON.stringify(raw)).not.toContain(created.secret.slice(6));
    expect(JSON.stringify(raw)).not.toContain((rotated.body.secret ?? "").slice(6));

    const deleted = await callJson(`/v1/webhooks/${created.id}`, { key, method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: created.id, object: "webhook_endpoint", deleted: true });
    expect((await callJson(`/v1/webhooks/${created.id}`, { key })).status).toBe(404);
    expect((await callJson(`/v1/webhooks/${created.id}`, { key, method: "DELETE" })).status).toBe(404);
    expect(await endpointRows(key)).toBe(0);
  });

  it("paginates newest first with a working cursor", async () => {
    const key = uniqueKey();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await createEndpoint(key, { url: hookUrl(uniqueHook()), description: `n${i}` })).id);
      await new Promise((r) => setTimeout(r, 3)); // distinct created_at
    }
    const first = await callJson<ListOf<EndpointObject>>("/v1/webhooks?limit=2", { key });
    expect(first.body.has_more).toBe(true);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(first.body.data.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    const second = await callJson<ListOf<EndpointObject>>(`/v1/webhooks?limit=2&cursor=${first.body.next_cursor}`, { key });
    expect(second.body.has_more).toBe(false);
    expect(second.body.next_cursor).toBeNull();
    expect(second.body.data.map((e) => e.id)).toEqual([ids[0]]);

    const badCursor = await callJson("/v1/webhooks?cursor=garbage!", { key });
    expect(badCursor.status).toBe(400);
    expectError(badCursor.body, "cursor");
    const badLimit = await callJson("/v1/webhooks?limit=101", { key });
    expect(badLimit.status).toBe(400);
    expectError(badLimit.body, "limit");
  });

  it("validates bodies on create and PATCH, naming the field", async () => {
    const key = uniqueKey();
    const cases: Array<{ json: unknown; param: string | null }> = [
      { json: {}, param: "url" },
      { json: { url: 42 }, param: "url" },
      { json: { url: "not a url" }, param: "url" },
      { json: { url: hookUrl("x"), events: [] }, param: "events" },
      { json: { url: hookUrl("x"), events: ["task.exploded"] }, param: "events.0" },
      { json: { url: hookUrl("x"), events: ["webhook.test"] }, param: "events.0" },
      { json: { url: hookUrl("x"), description: "d".repeat(513) }, param: "description" },
      { json: { url: hookUrl("x"), enabled: false }, param: null }, // not a create field
    ];
    for (const c of cases) {
      const res = await callJson("/v1/webhooks", { key, json: c.json });
      expect(res.status, JSON.stringify(c.json)).toBe(400);
      expectError(res.body, c.param);
    }
    const malformed = await callJson("/v1/webhooks", { key, body: "{nope", headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(await endpointRows(key)).toBe(0);

    const { id } = await createEndpoint(key, { url: hookUrl(uniqueHook()) });
    const patches: Array<{ json: unknown; param: string | null }> = [
      { json: { url: "ftp://example.com/x" }, param: "url" },
      { json: { url: "http://user:pw@hooks.sim/hooks/x" }, param: "url" },
      { json: { events: ["task.queued"] }, param: "events.0" },
      { json: { events: [] }, param: "events" },
      { json: { enabled: "no" }, param: "enabled" },
      { json: { enable: false }, param: null }, // a typo is refused, not ignored
    ];
    for (const p of patches) {
      const res = await callJson(`/v1/webhooks/${id}`, { key, method: "PATCH", json: p.json });
      expect(res.status, JSON.stringify(p.json)).toBe(400);
      expectError(res.body, p.param);
    }
    const unchanged = await callJson<EndpointObject>(`/v1/webhooks/${id}`, { key });
    expect(unchanged.body.enabled).toBe(true);
    expect(unchanged.body.events).toHaveLength(4);
  });

  it("hides one tenant's endpoint from another (404, never 403)", async () => {
    const owner = uniqueKey("owner");
    const stranger = uniqueKey("stranger");
    const hook = uniqueHook();
    const { id } = await createEndpoint(owner, { url: hookUrl(hook) });
    const attempts: Array<[string, string, unknown?]> = [
      ["GET", `/v1/webhooks/${id}`],
      ["PATCH", `/v1/webhooks/${id}`, { enabled: false }],
      ["DELETE", `/v1/webhooks/${id}`],
      ["POST", `/v1/webhooks/${id}/rotate-secret`],
      ["POST", `/v1/webhooks/${id}/test`],
      ["GET", `/v1/webhooks/${id}/deliveries`],
    ];
    for (const [method, path, json] of attempts) {
      const res = await callJson(path, { key: stranger, method, ...(json !== undefined ? { json } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expectError(res.body, "id", "webhook_not_found");
    }
    const list = await callJson<ListOf<EndpointObject>>("/v1/webhooks", { key: stranger });
    expect(list.body.data).toEqual([]);
    // Nothing happened to it: still enabled, nothing sent.
    const mine = await callJson<EndpointObject>(`/v1/webhooks/${id}`, { key: owner });
    expect(mine.body.enabled).toBe(true);
    expect(await receivedHooks(hook)).toEqual([]);
  });

  it("appears in /openapi.json", async () => {
    const doc = await callJson<{ paths: Record<string, Record<string, unknown>> }>("/openapi.json");
    for (const path of [
      "/v1/webhooks",
      "/v1/webhooks/{id}",
      "/v1/webhooks/{id}/rotate-secret",
      "/v1/webhooks/{id}/test",
      "/v1/webhooks/{id}/deliveries",
      "/v1/webhooks/default/secret",
      "/v1/webhooks/default/secret/rotate",
      "/v1/tasks/{id}/deliveries",
      "/v1/deliveries/{id}/redeliver",
    ]) {
      expect(doc.body.paths, path).toHaveProperty([path]);
    }
    expect(Object.keys(doc.body.paths["/v1/webhooks/{id}"] ?? {}).sort()).toEqual(["delete", "get", "patch"]);
  });
});

describe("URL safety at registration (production rules: WEBHOOK_ALLOW_PRIVATE=false)", () => {
  const PRODUCTION = { WEBHOOK_ALLOW_PRIVATE: "false" };
  const UNSAFE: Array<[string, string]> = [
    ["plain http", "http://hooks.example.com/x"],
    ["ftp scheme", "ftp://hooks.example.com/x"],
    ["file scheme", "file:///etc/passwd"],
    ["javascript scheme", "javascript:alert(1)"],
    ["relative", "/hooks/x"],
    ["credentials", "https://user:pass@hooks.example.com/x"],
    ["username only", "https://user@hooks.example.com/x"],
    ["leading space", " https://hooks.example.com/x"],
    ["loopback", "https://127.0.0.1/x"],
    ["loopback, other address", "https://127.8.9.10:8443/x"],
    ["loopback, decimal", "https://2130706433/x"],
    ["loopback, hex", "https://0x7f000001/x"],
    ["loopback, octal", "https://0177.0.0.1/x"],
    ["loopback, shortened", "https://127.1/x"],
    ["loopback, percent-encoded", "https://%31%32%37.0.0.1/x"],
    ["loopback, full-width digits", "https://１２７.０.０.１/x"],
    ["this network", "https://0.0.0.0/x"],
    ["private 10/8", "https://10.1.2.3/x"],
    ["private 172.16/12", "https://172.31.255.1/x"],
    ["private 192.168/16", "https://192.168.0.1/x"],
    ["link-local / cloud metadata", "https://169.254.169.254/latest/meta-data/"],
    ["CGNAT", "https://100.64.0.1/x"],
    ["CGNAT, top", "https://100.127.255.254/x"],
    ["multicast", "https://224.0.0.1/x"],
    ["broadcast", "https://255.255.255.255/x"],
    ["documentation", "https://192.0.2.10/x"],
    ["IPv6 loopback", "https://[::1]/x"],
    ["IPv6 unspecified", "https://[::]/x"],
    ["IPv6 loopback, long form", "https://[0:0:0:0:0:0:0:1]/x"],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/x"],
    ["IPv4-mapped, hex", "https://[::ffff:7f00:1]/x"],
    ["IPv4-mapped metadata", "https://[::ffff:169.254.169.254]/x"],
    ["IPv4-mapped public (smuggling form)", "https://[::ffff:8.8.8.8]/x"],
    ["IPv4-compatible", "https://[::127.0.0.1]/x"],
    ["IPv6 link-local", "https://[fe80::1]/x"],
    ["IPv6 unique local", "https://[fd12:3456:789a::1]/x"],
    ["IPv6 multicast", "https://[ff02::1]/x"],
    ["NAT64 of private", "https://[64:ff9b::a00:1]/x"],
    ["6to4 of loopback", "https://[2002:7f00:1::1]/x"],
    ["IPv6 documentation", "https://[2001:db8::1]/x"],
    ["localhost", "https://localhost/x"],
    ["localhost, upper case and trailing dot", "https://LOCALHOST./x"],
    ["localhost subdomain", "https://api.localhost/x"],
    ["metadata name", "https://metadata.google.internal/computeMetadata/v1/"],
    ["single-label name", "https://metadata/x"],
    ["mDNS .local", "https://printer.local/x"],
    ["reserved .test", "https://hooks.test/x"],
  ];

  it(`refuses ${UNSAFE.length} unsafe URLs with a 400 on url, writing nothing`, async () => {
    expect(UNSAFE.length).toBeGreaterThanOrEqual(25);
    const key = uniqueKey("ssrf");
    for (const [label, url] of UNSAFE) {
      const res = await callWithBindings(PRODUCTION, "/v1/webhooks", { key, json: { url } });
      expect(res.status, `${label}: ${url}`).toBe(400);
      expectError(res.body, "url", "invalid_webhook_url");
    }
    expect(await endpointRows(key)).toBe(0);
  });

  it("accepts a public https URL under the same rules (the harness is not refusing everything)", async () => {
    const key = uniqueKey("ssrf-ok");
    const res = await callWithBindings(PRODUCTION, "/v1/webhooks", { key, json: { url: "https://hooks.example.com/yuanjing?token=abc" } });
    expect(res.status).toBe(201);
    expect(res.body.url).toBe("https://hooks.example.com/yuanjing?token=abc");
    // ...and PATCH applies the same check.
    const patched = await callWithBindings(PRODUCTION, `/v1/webhooks/${String(res.body.id)}`, {
      key,
      method: "PATCH",
      json: { url: "https://[::ffff:10.0.0.1]/x" },
    });
    expect(patched.status).toBe(400);
    expectError(patched.body, "url", "invalid_webhook_url");
    expect(await endpointRows(key)).toBe(1);
  });
});

describe("test events and the delivery log", () => {
  it("sends a signed webhook.test now and logs the delivery with its attempt", async () => {
    const key = uniqueKey();
    const hook = uniqueHook();
    const endpoint = await createEndpoint(key, { url: hookUrl(hook) });
    await configureHook(hook, { secrets: [endpoint.secret], responses: [{ status: 200, body: { ok: true } }] });

    const sent = await callJson<DeliveryObject>(`/v1/webhooks/${endpoint.id}/test`, { key, method: "POST" });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({
      object: "delivery",
      event_type: "webhook.test",
      task_id: null,
      webhook_id: endpoint.id,
      url: endpoint.url,
      status: "succeeded",
      attempts_count: 1,
      next_attempt_at: null,
      last_status_code: 200,
      last_error: null,
    });
    expect(sent.body.id).toMatch(/^dlv_/);
    expect(sent.body.event_id).toMatch(/^evt_/);
    expect(sent.body.attempts).toHaveLength(1);
    expect(sent.body.attempts[0]).toMatchObject({ attempt: 1, trigger: "test", status_code: 200, error: null, response_snippet: '{"ok":true}' });

    const [got, ...more] = await receivedHooks(hook);
    expect(more).toEqual([]);
    expect(got?.verified).toBe(true);
    expect(got?.webhookId).toBe(sent.body.event_id);
    // The official verifier accepts it with the secret handed out at creation.
    const payload = new Webhook(endpoint.secret).verify(got?.body ?? "", got?.headers ?? {}) as Record<string, unknown>;
    expect(payload).toMatchObject({ id: sent.body.event_id, type: "webhook.test", created_at: sent.body.created_at });
    expect(payload.data).toMatchObject({ webhook_id: endpoint.id });
    expect(() => new Webhook("whsec_" + btoa("x".repeat(32))).verify(got?.body ?? "", got?.headers ?? {})).toThrow();

    const log = await callJson<ListOf<DeliveryObject>>(`/v1/webhooks/${endpoint.id}/deliveries`, { key });
    expect(log.status).toBe(200);
    expect(log.body.data).toEqual([sent.body]);
  });

  it("logs a receiver's 500 as a failed delivery with status code and response snippet", async () => {
    const key = uniqueKey();
    const hook = uniqueHook();
    const endpoint = await createEndpoint(key, { url: hookUrl(hook) });
    await configureHook(hook, { responses: [{ status: 500, body: "receiver exploded" }] });
    const sent = await callJson<DeliveryObject>(`/v1/webhooks/${endpoint.id}/test`, { key, method: "POST" });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ status: "failed", last_status_code: 500, last_error: "HTTP 500", next_attempt_at: null, attempts_count: 1 });
    expect(sent.body.attempts[0]).toMatchObject({ status_code: 500, error: "HTTP 500", response_snippet: "receiver exploded", trigger: "test" });
    const row = await env.DB.prepare("SELECT * FROM delivery_attempts WHERE delivery_id = ?").bind(sent.body.id).all();
    expect(row.results).toHaveLength(1);
  });

  it("a 410 on a test disables the endpoint, as on task deliveries", async () => {
    const key = uniqueKey();
    const hook = uniqueHook();
    const endpoint = await createEndpoint(key, { url: hookUrl(hook) });
    await configureHook(hook, { responses: [{ status: 410 }] });
    const sent = await callJson<DeliveryObject>(`/v1/webhooks/${endpoint.id}/test`, { key, method: "POST" });
    expect(sent.body).toMatchObject({ status: "gone", last_status_code: 410 });
    const after = await callJson<EndpointObject>(`/v1/webhooks/${endpoint.id}`, { key });
    expect(after.body).toMatchObject({ enabled: false, disabled_reason: "receiver answered 410 Gone" });
    // Redelivery to a disabled endpoint is logged, not sent.
    const again = await callJson<DeliveryObject>(`/v1/deliveries/${sent.body.id}/redeliver`, { key, method: "POST" });
    expect(again.status).toBe(200);
    expect(again.body.attempts.at(-1)).toMatchObject({ attempt: 2, trigger: "redeliver", status_code: null, error: expect.stringMatching(/^endpoint disabled/) });
    expect(await receivedHooks(hook)).toHaveLength(1);
  });

  it("after rotate-secret, deliveries carry two signatures and both secrets verify", async () => {
    const key = uniqueKey();
    const hook = uniqueHook();
    const endpoint = await createEndpoint(key, { url: hookUrl(hook) });
    const rotated = await callJson<EndpointObject & { secret: string }>(`/v1/webhooks/${endpoint.id}/rotate-secret`, { key, method: "POST" });
    await configureHook(hook, { secrets: [endpoint.secret, rotated.body.secret] });
    const sent = await callJson<DeliveryObject>(`/v1/webhooks/${endpoint.id}/test`, { key, method: "POST" });
    expect(sent.body.status).toBe("succeeded");
    const [got] = await receivedHooks(hook);
    expect(got?.signatures).toHaveLength(2);
    expect(got?.headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
    expect([...(got?.matchedSecrets ?? [])].sort()).toEqual([0, 1]);
    for (const secret of [endpoint.secret, rotated.body.secret]) {
      expect(new Webhook(secret).verify(got?.body ?? "", got?.headers ?? {})).toMatchObject({ id: sent.body.event_id });
    }
  });

  it("redelivers a test delivery with the same webhook-id and body; the attempts list grows", async () => {
    const key = uniqueKey();
    const hook = uniqueHook();
    const endpoint = await createEndpoint(key, { url: hookUrl(hook) });
    await configureHook(hook, { secrets: [endpoint.secret], responses: [{ status: 503 }] });
    const sent = await callJson<DeliveryObject>(`/v1/webhooks/${endpoint.id}/test`, { key, method: "POST" });
    expect(sent.body.status).toBe("failed");

    const again = await callJson<DeliveryObject>(`/v1/deliveries/${sent.body.id}/redeliver`, { key, method: "POST" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: sent.body.id, event_id: sent.body.event_id, status: "succeeded", attempts_count: 2, last_status_code: 204 });
    expect(again.body.attempts.map((a) => [a.attempt, a.trigger, a.status_code])).toEqual([
      [1, "test", 503],
      [2, "redeliver", 204],
    ]);

    const received = await receivedHooks(hook);
    expect(received).toHaveLength(2);
    expect(received.map((r) => r.webhookId)).toEqual([sent.body.event_id, sent.body.event_id]);
    expect(received[1]?.body).toBe(received[0]?.body); // rebuilt byte for byte
    expect(received.every((r) => r.verified)).toBe(true);

    // Another tenant cannot redeliver it, nor learn that it exists.
    const stranger = await callJson(`/v1/deliveries/${sent.body.id}/redeliver`, { key: uniqueKey(), method: "POST" });
    expect(stranger.status).toBe(404);
    expectError(stranger.body, "id", "delivery_not_found");
    expect(await receivedHooks(hook)).toHaveLength(2);
    const unknown = await callJson("/v1/deliveries/dlv_nope/redeliver", { key, method: "POST" });
    expect(unknown.status).toBe(404);
  });

  it("lists an endpoint's deliveries newest first, paginated", async () => {
    const key = uniqueKey();
    const endpoint = await createEndpoint(key, { url: hookUrl(uniqueHook()) });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await callJson<DeliveryObject>(`/v1/webhooks/${endpoint.id}/test`, { key, method: "POST" })).body.id);
      await new Promise((r) => setTimeout(r, 3));
    }
    const first = await callJson<ListOf<DeliveryObject>>(`/v1/webhooks/${endpoint.id}/deliveries?limit=2`, { key });
    expect(first.body.data.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.has_more).toBe(true);
    expect(first.body.data.every((d) => d.attempts.length === 1)).toBe(true);
    const second = await callJson<ListOf<DeliveryObject>>(`/v1/webhooks/${endpoint.id}/deliveries?limit=2&cursor=${first.body.next_cursor}`, { key });
    expect(second.body.data.map((d) => d.id)).toEqual([ids[0]]);
    expect(second.body.has_more).toBe(false);
  });
});

describe("task deliveries", () => {
  it("lists a task's deliveries (by relay id or upstream taskid) and redelivers through the task's object", async () => {
    const key = uniqueKey();
    const hook = uniqueHook("task");
    const endpointHook = uniqueHook("account");
    const endpoint = await createEndpoint(key, { url: hookUrl(endpointHook), events: ["task.succeeded"] });
    const { secret: defaultSecret } = (await callJson<{ secret: string }>("/v1/webhooks/default/secret", { key })).body;
    const { init, stub, taskid } = await startTask(key, { webhooks: [{ url: hookUrl(hook), events: ["task.succeeded"] }] });
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);

    const byId = await callJson<ListOf<DeliveryObject>>(`/v1/tasks/${init.id}/deliveries`, { key });
    expect(byId.status).toBe(200);
    expect(byId.body.data).toHaveLength(2);
    const taskDelivery = byId.body.data.find((d) => d.webhook_id === null);
    const endpointDelivery = byId.body.data.find((d) => d.webhook_id === endpoint.id);
    expect(taskDelivery).toMatchObject({ task_id: init.id, event_type: "task.succeeded", status: "succeeded", attempts_count: 1 });
    expect(taskDelivery?.attempts).toMatchObject([{ attempt: 1, trigger: "schedule", status_code: 204 }]);
    expect(endpointDelivery).toMatchObject({ task_id: init.id, status: "succeeded" });
    const byTaskid = await callJson<ListOf<DeliveryObject>>(`/v1/tasks/${taskid}/deliveries`, { key });
    expect(byTaskid.body.data.map((d) => d.id).sort()).toEqual(byId.body.data.map((d) => d.id).sort());
    const viaEndpoint = await callJson<ListOf<DeliveryObject>>(`/v1/webhooks/${endpoint.id}/deliveries`, { key });
    expect(viaEndpoint.body.data.map((d) => d.id)).toEqual([endpointDelivery?.id]);

    const again = await callJson<DeliveryObject>(`/v1/deliveries/${taskDelivery?.id}/redeliver`, { key, method: "POST" });
    expect(again.status).toBe(200);
    expect(again.body.attempts.map((a) => [a.attempt, a.trigger])).toEqual([
      [1, "schedule"],
      [2, "redeliver"],
    ]);
    const received = await receivedHooks(hook);
    expect(received.map((r) => r.webhookId)).toEqual([taskDelivery?.event_id, taskDelivery?.event_id]);
    for (const r of received) expect(new Webhook(defaultSecret).verify(r.body, r.headers)).toMatchObject({ type: "task.succeeded" });

    for (const path of [`/v1/tasks/${init.id}/deliveries`, `/v1/tasks/${taskid}/deliveries`]) {
      const res = await callJson(path, { key: uniqueKey() });
      expect(res.status, path).toBe(404);
      expectError(res.body, "id", "task_not_found");
    }
    const strangerRedeliver = await callJson(`/v1/deliveries/${taskDelivery?.id}/redeliver`, { key: uniqueKey(), method: "POST" });
    expect(strangerRedeliver.status).toBe(404);
    expect(await receivedHooks(hook)).toHaveLength(2);
  });
});
