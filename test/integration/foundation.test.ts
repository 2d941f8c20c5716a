import { describe, expect, it } from "vitest";
import { call, callJson, uniqueKey, type ErrorBody } from "../support/helpers";

describe("operations and conventions", () => {
  it("GET /health answers without auth", async () => {
    const { status, body } = await callJson<{ status: string; version: string }>("/health");
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("serves an OpenAPI 3.1 document generated from the route schemas, and a docs page", async () => {
    const { body } = await callJson<{ openapi: string; paths: Record<string, unknown> }>("/openapi.json");
    expect(body.openapi).toBe("3.1.0");
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        "/v1/chat/completions",
        "/llmage/v1/chat/completions",
        "/v1/models",
        "/v1/usage",
        "/health",
        "/v1/videos",
        "/llmage/video",
        "/v1/tasks",
        "/v1/tasks/{id}",
        "/llmage/tasks",
        "/v1/tasks/watch",
        "/v1/tasks/{id}/webhooks",
        "/v1/webhooks",
        "/v1/deliveries/{id}/redeliver",
      ]),
    );
    const docs = await call("/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });

  it("echoes the caller's x-request-id, or mints one, on every response", async () => {
    const mine = await call("/health", { headers: { "x-request-id": "abc-123" } });
    expect(mine.headers.get("x-request-id")).toBe("abc-123");
    const minted = await call("/nope");
    expect(minted.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("renders unknown routes as a contract 404", async () => {
    const { status, body } = await callJson<ErrorBody>("/v1/nothing-here", { key: uniqueKey() });
    expect(status).toBe(404);
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "unknown_route" });
  });

  it.each([
    ["missing", undefined],
    ["not bearer", "Basic abc"],
    ["empty bearer", "Bearer "],
  ])("refuses a %s Authorization header with 401", async (_name, header) => {
    const { status, body } = await callJson<ErrorBody>("/v1/models", { headers: header ? { authorization: header } : {} });
    expect(status).toBe(401);
    expect(body.error.type).toBe("authentication_error");
  });

  it("lists chat models and video models", async () => {
    const { status, body } = await callJson<{ object: string; data: Array<{ id: string; kind: string }> }>("/v1/models", { key: uniqueKey() });
    expect(status).toBe(200);
    expect(body.object).toBe("list");
    expect(body.data.find((m) => m.id === "qwen3-max")?.kind).toBe("chat");
  });
});

describe("configuration", () => {
  it("a missing KEY_ENCRYPTION_SECRET fails loudly and clearly, naming the setting", async () => {
    const { callWithBindings } = await import("../support/webhooks");
    const { status, body } = await callWithBindings({ KEY_ENCRYPTION_SECRET: "" }, "/v1/models", { key: uniqueKey() });
    expect(status).toBe(500);
    expect(body.error).toMatchObject({ type: "server_error", code: "relay_misconfigured" });
    expect(String((body.error as { message: string }).message)).toContain("KEY_ENCRYPTION_SECRET");
  });

  it("refuses an unusable setting with its name", async () => {
    const { callWithBindings } = await import("../support/webhooks");
    const { body } = await callWithBindings({ POLL_MIN_INTERVAL_MS: "soon" }, "/v1/models", { key: uniqueKey() });
    expect(String((body.error as { message: string }).message)).toContain("POLL_MIN_INTERVAL_MS");
  });
});
