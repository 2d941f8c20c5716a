import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, readSse, simConfig, simFaults, simRequests, uniqueKey, type ErrorBody } from "../support/helpers";

const ask = (extra: Record<string, unknown> = {}) => ({
  model: "qwen3-max",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "developer", content: [{ type: "text", text: "Answer in English." }] },
    { role: "user", content: "first question" },
    { role: "assistant", content: "first answer" },
    { role: "user", content: [{ type: "text", text: "who are" }, { type: "text", text: "you?" }] },
  ],
  ...extra,
});

describe("POST /v1/chat/completions (non-streaming)", () => {
  it("translates the request to the upstream's form and returns a strict chat.completion", async () => {
    const key = uniqueKey();
    const { status, body } = await callJson<Record<string, unknown>>("/v1/chat/completions", { key, json: ask({ temperature: 0.3, max_tokens: 50 }) });
    expect(status).toBe(200);
    const [sent] = await simRequests(key, "chat");
    expect(sent?.json).toMatchObject({
      model: "qwen3-max",
      stream: false,
      prompt: "who are\nyou?",
      sys_prompt: "Be brief.\n\nAnswer in English.",
      temperature: 0.3,
      max_tokens: 50,
    });
    expect((sent?.json?.messages as unknown[]).length).toBe(5);
    expect(body.object).toBe("chat.completion");
    const choice = (body.choices as Array<{ message: { role: string; content: string }; finish_reason: string }>)[0];
    expect(choice?.message.role).toBe("assistant");
    expect(choice?.message.content).toBe(sent?.sentText);
    expect(choice?.finish_reason).toBe("stop");
    expect(body.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    // The upstream's extra top-level fields do not leak into the OpenAI shape.
    expect(body).not.toHaveProperty("finish");
    expect(body).not.toHaveProperty("content");
  });

  it("turns a 200 with status FAILED into a 502 upstream_error", async () => {
    const key = uniqueKey();
    await simFaults(key, [{ route: "chat", fault: { kind: "failed_200" } }]);
    const { status, body } = await callJson<ErrorBody>("/v1/chat/completions", { key, json: ask() });
    expect(status).toBe(502);
    expect(body.error.type).toBe("upstream_error");
  });

  it("keeps the upstream's 401 and 429 statuses and messages in the contract's error shape", async () => {
    const bad = await callJson<ErrorBody>("/v1/chat/completions", { key: uniqueKey("invalid"), json: ask() });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatchObject({ type: "authentication_error", message: "Invalid API Key" });
    const broke = await callJson<ErrorBody>("/v1/chat/completions", { key: uniqueKey("nobalance"), json: ask() });
    expect(broke.status).toBe(429);
    expect(broke.body.error).toMatchObject({ type: "insufficient_quota", message: "Insufficient balance" });
  });

  it("maps upstream 5xx to 502", async () => {
    const key = uniqueKey();
    await simFaults(key, [{ route: "chat", fault: { kind: "status", status: 503 } }]);
    const { status, body } = await callJson<ErrorBody>("/v1/chat/completions", { key, json: ask() });
    expect(status).toBe(502);
    expect(body.error.type).toBe("upstream_error");
  });

  it("refuses invalid requests before calling the upstream", async () => {
    const key = uniqueKey();
    const noUser = await callJson<ErrorBody>("/v1/chat/completions", { key, json: { model: "qwen3-max", messages: [{ role: "system", content: "x" }] } });
    expect(noUser.status).toBe(400);
    expect(noUser.body.error.param).toBe("messages");
    const badTemp = await callJson<ErrorBody>("/v1/chat/completions", { key, json: ask({ temperature: 9 }) });
    expect(badTemp.status).toBe(400);
    expect(badTemp.body.error.param).toBe("temperature");
    const malformed = await callJson<ErrorBody>("/v1/chat/completions", { key, body: "{not json", headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.type).toBe("invalid_request_error");
    expect(await simRequests(key, "chat")).toHaveLength(0);
  });
});

describe("POST /v1/chat/completions (streaming)", () => {
  it("relays every chunk as a strict chat.completion.chunk, then [DONE]", async () => {
    const key = uniqueKey();
    await simConfig(key, { chat: { reasoning: "thinking first" } });
    const res = await call("/v1/chat/completions", { key, json: ask({ stream: true }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const { events } = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
    let text = "";
    let reasoning = "";
    for (const chunk of chunks) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk).not.toHaveProperty("finish");
      expect(chunk).not.toHaveProperty("llmusageid");
      const choices = chunk.choices as Array<{ delta: { content?: string; reasoning_content?: string } }>;
      expect(choices.length).toBeGreaterThan(0);
      text += choices[0]?.delta.content ?? "";
      reasoning += choices[0]?.delta.reasoning_content ?? "";
    }
    const [sent] = await simRequests(key, "chat");
    expect(text).toBe(sent?.sentText);
    expect(reasoning).toBe("thinking first");
  });

  it("sends the usage-only chunk only when include_usage is asked for", async () => {
    const key = uniqueKey();
    const withUsage = await readSse(await call("/v1/chat/completions", { key, json: ask({ stream: true, stream_options: { include_usage: true } }) }));
    const usageChunk = JSON.parse(withUsage.events.at(-2) ?? "{}") as { choices: unknown[]; usage?: { total_tokens: number } };
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage?.total_tokens).toBeGreaterThan(0);
    const without = await readSse(await call("/v1/chat/completions", { key, json: ask({ stream: true }) }));
    for (const e of without.events.slice(0, -1)) expect((JSON.parse(e) as { choices: unknown[] }).choices.length).toBeGreaterThan(0);
  });

  it.each([
    ["a stream cut mid-way", { kind: "cut_after", chunks: 3 }],
    ["an error event sent with HTTP 200", { kind: "error_event", after: 2 }],
    ["a malformed chunk", { kind: "malformed_chunk", after: 2 }],
  ])("ends %s with an error event and no [DONE]", async (_name, fault) => {
    const key = uniqueKey();
    await simFaults(key, [{ route: "chat", fault }]);
    const { events } = await readSse(await call("/v1/chat/completions", { key, json: ask({ stream: true }) }));
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1) ?? "{}") as ErrorBody;
    expect(last.error.type).toBe("upstream_error");
  });

  it("parses a stream the upstream labels application/json", async () => {
    const key = uniqueKey();
    await simFaults(key, [{ route: "chat", fault: { kind: "json_content_type" } }]);
    const res = await call("/v1/chat/completions", { key, json: ask({ stream: true }) });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { events } = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
  });

  it("sends keep-alive comments while the upstream is silent", async () => {
    const key = uniqueKey();
    // SSE_KEEPALIVE_MS is 1000 in tests; the upstream pauses 1.3 s between chunks.
    await simConfig(key, { chat: { text: "A short answer.", chunkSize: 64 } });
    await simFaults(key, [{ route: "chat", fault: { kind: "slow_chunks", ms: 1300 } }]);
    const { comments, events } = await readSse(await call("/v1/chat/completions", { key, json: ask({ stream: true }) }));
    expect(comments).toContain(": keep-alive");
    expect(events.at(-1)).toBe("[DONE]");
  });
});

describe("POST /llmage/v1/chat/completions (native)", () => {
  it("passes the request and the streamed answer through byte for byte", async () => {
    const key = uniqueKey();
    const raw = '{"model":"qwen3-max","prompt":"你好","stream":true,  "extra_field":[1,2]}';
    const res = await call("/llmage/v1/chat/completions", { key, body: raw, headers: { "content-type": "application/json" } });
    const text = await res.text();
    const [sent] = await simRequests(key, "chat");
    expect(sent?.json).toEqual(JSON.parse(raw));
    // The upstream's own chunk format, extra fields and all.
    expect(text).toContain('"finish": "0"');
    expect(text).toContain("llmusageid");
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
  });

  it("returns the upstream's own error body", async () => {
    const res = await call("/llmage/v1/chat/completions", { key: uniqueKey("invalid"), json: { prompt: "hi" } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Invalid API Key" });
  });
});

describe("usage", () => {
  it("records each chat call for the tenant and reports totals by model and day", async () => {
    const key = uniqueKey();
    await callJson("/v1/chat/completions", { key, json: ask() });
    await readSse(await call("/v1/chat/completions", { key, json: ask({ stream: true }) }));
    await call("/llmage/v1/chat/completions", { key, json: { model: "qwen3-max", prompt: "x" } }).then((r) => r.text());
    // Usage is written after the response (waitUntil); give it a moment.
    let report: { chat: { totals: { calls: number; total_tokens: number }; by_model: Array<{ model: string }> } } | undefined;
    for (let i = 0; i < 20; i++) {
      report = (await callJson<typeof report & object>("/v1/usage", { key })).body;
      if (report.chat.totals.calls === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(report?.chat.totals.calls).toBe(3);
    expect(report?.chat.totals.total_tokens).toBeGreaterThan(0);
    expect(report?.chat.by_model.map((m) => m.model)).toEqual(["qwen3-max"]);
    // Another tenant sees nothing of it, and the raw key is stored nowhere.
    const other = await callJson<{ chat: { totals: { calls: number } } }>("/v1/usage", { key: uniqueKey() });
    expect(other.body.chat.totals.calls).toBe(0);
    const dump = await env.DB.prepare("SELECT * FROM chat_calls").all();
    expect(JSON.stringify(dump.results)).not.toContain(key);
  });
});
