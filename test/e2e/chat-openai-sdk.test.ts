import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { relayUrl, sim, simRequests, uniqueKey } from "./support";

function client(key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${relayUrl()}/v1`, maxRetries: 0, timeout: 30_000 });
}

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Tell me about the relay." },
];

describe("the official openai SDK against the relay", () => {
  it("non-streaming: returns the completion the upstream produced", async () => {
    const key = uniqueKey();
    const completion = await client(key).chat.completions.create({ model: "qwen3-max", messages });
    const [sent] = await simRequests(key, "chat");
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.content).toBe(sent?.sentText);
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("streaming: the text reassembled equals what the simulator sent; no usage chunk unless asked", async () => {
    const key = uniqueKey();
    const stream = await client(key).chat.completions.create({ model: "qwen3-max", messages, stream: true });
    let text = "";
    let usageSeen = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usageSeen = true;
    }
    const [sent] = await simRequests(key, "chat");
    expect(text).toBe(sent?.sentText);
    expect(text.length).toBeGreaterThan(20);
    expect(usageSeen).toBe(false);
  });

  it("streaming with include_usage: the last chunk carries usage and no choices", async () => {
    const key = uniqueKey();
    const stream = await client(key).chat.completions.create({ model: "qwen3-max", messages, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it.each([
    ["a stream cut mid-way", { kind: "cut_after", chunks: 3 }],
    ["an upstream error event sent with HTTP 200", { kind: "error_event", after: 2 }],
  ])("%s makes the SDK throw instead of returning a truncated answer", async (_name, fault) => {
    const key = uniqueKey();
    await sim("/__sim/faults", { json: { key, rules: [{ route: "chat", fault }] } });
    const stream = await client(key).chat.completions.create({ model: "qwen3-max", messages, stream: true });
    let text = "";
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      })(),
    ).rejects.toThrow(OpenAI.APIError);
    // What arrived is a strict prefix of the full answer (a fault-free run of the same prompt).
    const fullKey = uniqueKey();
    await client(fullKey).chat.completions.create({ model: "qwen3-max", messages });
    const [full] = await simRequests(fullKey, "chat");
    expect(full?.sentText?.startsWith(text)).toBe(true);
    expect(text.length).toBeLessThan(full?.sentText?.length ?? 0);
  });

  it("upstream 401 and 429 surface as the SDK's error classes with the upstream's message", async () => {
    const unauthorized = client(uniqueKey("invalid")).chat.completions.create({ model: "qwen3-max", messages });
    await expect(unauthorized).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(unauthorized).rejects.toThrow(/Invalid API Key/);
    const broke = client(uniqueKey("nobalance")).chat.completions.create({ model: "qwen3-max", messages, stream: true });
    await expect(broke).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(broke).rejects.toThrow(/Insufficient balance/);
  });

  it("a client that disconnects cancels the upstream request", async () => {
    const key = uniqueKey();
    await sim("/__sim/config", { json: { key, chat: { chunkDelayMs: 300, chunkSize: 4 } } });
    const controller = new AbortController();
    const stream = await client(key).chat.completions.create({ model: "qwen3-max", messages, stream: true }, { signal: controller.signal });
    let received = 0;
    try {
      for await (const _chunk of stream) {
        received++;
        if (received === 2) controller.abort();
      }
    } catch {
      // The SDK may end the loop quietly or throw an abort error; either is a disconnect.
    }
    expect(received).toBeLessThan(5);
    const cancelled = await (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const [req] = await simRequests(key, "chat");
        if (req?.cancelled) return req;
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    })();
    expect(cancelled?.cancelled).toBe(true);
    // It stopped early: the upstream sent only a small part of the full answer.
    const fullKey = uniqueKey();
    await client(fullKey).chat.completions.create({ model: "qwen3-max", messages });
    const [full] = await simRequests(fullKey, "chat");
    expect((cancelled?.sentText ?? "").length).toBeLessThan((full?.sentText ?? "").length / 2);
  });

  it("does not buffer: with chunks 200 ms apart, the first arrives long before the last is sent", async () => {
    const key = uniqueKey();
    await sim("/__sim/config", { json: { key, chat: { chunkDelayMs: 200, chunkSize: 8, text: "one two three four five six seven eight nine ten eleven" } } });
    const started = Date.now();
    const stream = await client(key).chat.completions.create({ model: "qwen3-max", messages, stream: true });
    const arrivals: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(Date.now() - started);
    const total = Date.now() - started;
    expect(arrivals.length).toBeGreaterThanOrEqual(6);
    // Sent over ≥ 1.2 s; the first content arrived within the first few hundred ms and
    // each later one about 200 ms after the previous (no coalescing).
    expect(total).toBeGreaterThan(1200);
    expect(arrivals[0]).toBeLessThan(total - 900);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] ?? 0));
    expect(gaps.filter((g) => g >= 120).length).toBeGreaterThanOrEqual(gaps.length - 1);
  });
});
