import { createRoute, z } from "@hono/zod-openapi";
import { createParser } from "eventsource-parser";
import type { Context } from "hono";
import { ApiError } from "../errors/api-error";
import type { AppEnv, Caller } from "../http/app-env";
import { bearerSecurity, errorResponses } from "../http/openapi";
import { createRouter } from "../http/router";
import { readJson, upstreamFailure, upstreamFetch, upstreamHttpError } from "../upstream/client";
import { relayOpenAIStream, type StreamOutcome } from "./openai-stream";
import { recordChatCall } from "./recording";
import {
  ChatCompletionChunkSchema,
  ChatCompletionRequestSchema,
  ChatCompletionSchema,
  type ChatUsage,
} from "./schemas";
import { toChatCompletion, toUpstreamChatRequest, toUsage } from "./translate";

const UPSTREAM_CHAT_PATH = "/llmage/v1/chat/completions";

export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // Compression would make the runtime buffer events; identity keeps each one flowing.
  "content-encoding": "identity",
  "x-accel-buffering": "no",
};

/** Aborts the upstream call when the client goes away (needs enable_request_signal). */
function linkClientAbort(request: Request): AbortController {
  const abort = new AbortController();
  const signal = request.signal as AbortSignal | undefined;
  if (signal) {
    if (signal.aborted) abort.abort();
    else signal.addEventListener("abort", () => abort.abort(), { once: true });
  }
  return abort;
}

const chatCompletions = createRoute({
  method: "post",
  path: "/v1/chat/completions",
  tags: ["Chat"],
  summary: "OpenAI-compatible chat completion (streaming and not)",
  security: bearerSecurity,
  request: {
    body: { required: true, content: { "application/json": { schema: ChatCompletionRequestSchema } } },
  },
  responses: {
    200: {
      description: "A `chat.completion`, or with `stream: true` a `text/event-stream` of `chat.completion.chunk` events ending in `data: [DONE]`.",
      content: {
        "application/json": { schema: ChatCompletionSchema },
        "text/event-stream": { schema: ChatCompletionChunkSchema },
      },
    },
    ...errorResponses(400, 401, 429, 502, 504),
  },
});

const NativeChatRequestSchema = z
  .object({
    model: z.string().optional(),
    prompt: z.string().optional(),
    sys_prompt: z.string().optional(),
    stream: z.boolean().optional(),
    messages: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .passthrough()
  .openapi("NativeChatRequest");

const nativeChat = createRoute({
  method: "post",
  path: "/llmage/v1/chat/completions",
  tags: ["Chat"],
  summary: "Native Yuanjing chat pass-through (the upstream's own formats, byte for byte)",
  security: bearerSecurity,
  request: {
    body: { required: true, content: { "application/json": { schema: NativeChatRequestSchema } } },
  },
  responses: {
    200: {
      description: "The upstream's own answer, unchanged.",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) }, "text/event-stream": { schema: z.string() } },
    },
    ...errorResponses(400, 401, 429, 502, 504),
  },
});

/** A non-streaming body the upstream sent as SSE anyway: folded into one completion. */
function foldSse(text: string): unknown {
  let content = "";
  let reasoning = "";
  let last: Record<string, unknown> | null = null;
  let usage: unknown = undefined;
  let failure: unknown = null;
  let finishReason: string | null = null;
  const parser = createParser({
    onEvent: (message) => {
      if (message.data.trim() === "[DONE]") return;
      let value: unknown;
      try {
        value = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!value || typeof value !== "object") return;
      const r = value as Record<string, unknown>;
      if (upstreamFailure(r)) failure = r;
      last = r;
      if (r.usage) usage = r.usage;
      if (typeof r.reasoning_content === "string") reasoning += r.reasoning_content;
      const choice = Array.isArray(r.choices) ? (r.choices[0] as Record<string, unknown> | undefined) : undefined;
      const delta = choice?.delta as Record<string, unknown> | undefined;
      if (typeof delta?.content === "string") content += delta.content;
      if (typeof choice?.finish_reason === "string") finishReason = choice.finish_reason;
    },
  });
  parser.feed(text);
  parser.feed("\n\n");
  if (failure) return failure;
  if (!last) return null;
  const base = last as Record<string, unknown>;
  return {
    id: base.id,
    created: base.created,
    model: base.model,
    choices: [{ index: 0, finish_reason: finishReason ?? "stop", message: { role: "assistant", content } }],
    reasoning_content: reasoning || null,
    usage,
  };
}

async function readCompletionBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return /^\s*data:/.test(text) ? foldSse(text) : null;
  }
}

export const chatRoutes = createRouter();

type ChatCallBase = Parameters<typeof recordChatCall>[2];

/** The upstream call of both chat routes; a call that never got an answer is recorded here. */
async function postUpstreamChat(
  c: Context<AppEnv>,
  base: ChatCallBase,
  abort: AbortController,
  body: string,
  accept: string | undefined,
): Promise<Response> {
  try {
    return await upstreamFetch(c.get("config"), {
      method: "POST",
      path: UPSTREAM_CHAT_PATH,
      key: c.get("caller").key,
      body,
      contentType: "application/json",
      ...(accept ? { accept } : {}),
      signal: abort.signal,
    });
  } catch (err) {
    const error = err instanceof ApiError ? err : new ApiError("upstream_error", "The upstream call was interrupted.", { cause: err });
    recordChatCall(c.executionCtx, c.env.DB, base, { status: abort.signal.aborted ? "cancelled" : "failed", httpStatus: error.status, error: error.message });
    throw error;
  }
}

chatRoutes.openapi(chatCompletions, async (c) => {
  const request = c.req.valid("json");
  const config = c.get("config");
  const caller: Caller = c.get("caller");
  const stream = request.stream === true;
  const includeUsage = request.stream_options?.include_usage === true;
  const upstreamBody = toUpstreamChatRequest(request);
  const startedAt = Date.now();
  const base = { tenant: caller.tenant, route: "openai" as const, model: request.model, stream, startedAt };
  const abort = linkClientAbort(c.req.raw);

  const res = await postUpstreamChat(c, base, abort, JSON.stringify(upstreamBody), stream ? "text/event-stream" : "application/json");

  if (!res.ok) {
    const error = upstreamHttpError(res.status, await readJson(res));
    recordChatCall(c.executionCtx, c.env.DB, base, { status: "failed", httpStatus: error.status, error: error.message });
    throw error;
  }

  if (!stream || !res.body) {
    const firstByteAt = Date.now();
    try {
      const completion = toChatCompletion(await readCompletionBody(res), request.model);
      recordChatCall(c.executionCtx, c.env.DB, base, { status: "succeeded", httpStatus: 200, usage: completion.usage, firstByteAt });
      return c.json(completion, 200);
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError("upstream_error", "Unreadable upstream answer.", { cause: err });
      recordChatCall(c.executionCtx, c.env.DB, base, { status: "failed", httpStatus: error.status, error: error.message, firstByteAt });
      throw error;
    }
  }

  let settle: (outcome: StreamOutcome) => void = () => {};
  const outcome = new Promise<StreamOutcome>((resolve) => (settle = resolve));
  const body = relayOpenAIStream({
    upstream: res.body,
    model: request.model,
    includeUsage,
    keepAliveMs: config.sseKeepAliveMs,
    abortUpstream: () => abort.abort(),
    onDone: settle,
  });
  c.executionCtx.waitUntil(
    outcome.then((o) =>
      recordChatCall(c.executionCtx, c.env.DB, base, {
        status: o.status,
        httpStatus: 200,
        error: o.error ?? null,
        usage: o.usage,
        llmusageid: o.llmusageid,
        firstByteAt: o.firstByteAt,
      }),
    ),
  );
  return new Response(body, { status: 200, headers: SSE_HEADERS });
});

/**
 * Native pass-through: the caller's bytes go upstream and the upstream's bytes come back,
 * unchanged. A side parser watches the copy going by, only to record usage.
 */
chatRoutes.openapi(nativeChat, async (c) => {
  const parsed = c.req.valid("json");
  const raw = await c.req.text();
  const caller: Caller = c.get("caller");
  const startedAt = Date.now();
  const stream = parsed.stream === true;
  const base = { tenant: caller.tenant, route: "native" as const, model: parsed.model ?? "qwen3-max", stream, startedAt };
  const abort = linkClientAbort(c.req.raw);

  const res = await postUpstreamChat(c, base, abort, raw, stream ? "text/event-stream" : undefined);

  const headers = new Headers();
  const contentType = res.headers.get("content-type");
  if (contentType) headers.set("content-type", contentType);
  headers.set("cache-control", "no-cache");
  headers.set("content-encoding", "identity");
  if (!res.body) {
    recordChatCall(c.executionCtx, c.env.DB, base, { status: res.ok ? "succeeded" : "failed", httpStatus: res.status });
    return new Response(null, { status: res.status, headers });
  }

  const watcher = watchNativeBody(res.status);
  if (!stream) {
    // Nothing to stream: the body goes back as the upstream sent it, without a JS stream
    // in between (a third of this route's cost when measured).
    const bytes = new Uint8Array(await res.arrayBuffer());
    const firstByteAt = Date.now();
    watcher.feed(bytes);
    recordChatCall(c.executionCtx, c.env.DB, base, { ...watcher.result(), firstByteAt });
    return new Response(bytes, { status: res.status, headers });
  }
  const reader = res.body.getReader();
  let firstByteAt: number | undefined;
  const finish = (status: "succeeded" | "failed" | "cancelled", error?: string) =>
    recordChatCall(c.executionCtx, c.env.DB, base, {
      ...watcher.result(),
      ...(status === "cancelled" ? { status, error: error ?? "client disconnected" } : error ? { status: "failed", error } : {}),
      firstByteAt,
    });
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            finish("succeeded");
            return;
          }
          firstByteAt ??= Date.now();
          watcher.feed(value);
          controller.enqueue(value);
        } catch (err) {
          controller.error(err);
          finish("failed", "upstream stream broke off");
        }
      },
      cancel() {
        abort.abort();
        reader.cancel().catch(() => {});
        finish("cancelled");
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: res.status, headers });
});

/** Observes a native answer (SSE or JSON) to learn its usage and whether it failed. */
function watchNativeBody(httpStatus: number) {
  const decoder = new TextDecoder();
  const MAX_JSON = 1 << 20;
  let text = "";
  let sse = false;
  let usage: ChatUsage | undefined;
  let llmusageid: string | undefined;
  let error: string | undefined;
  const parser = createParser({
    onEvent: (message) => {
      try {
        const value = JSON.parse(message.data) as Record<string, unknown>;
        if (typeof value.llmusageid === "string") llmusageid = value.llmusageid;
        const u = toUsage(value.usage);
        if (u) usage = u;
        const failure = upstreamFailure(value);
        if (failure) error = failure.message;
      } catch {
        // [DONE] and non-JSON lines carry no usage.
      }
    },
  });
  return {
    feed(bytes: Uint8Array) {
      const chunk = decoder.decode(bytes, { stream: true });
      if (!sse && text === "" && /^\s*data:/.test(chunk)) sse = true;
      if (sse) parser.feed(chunk);
      else if (text.length < MAX_JSON) text += chunk;
    },
    result(): { status: "succeeded" | "failed"; httpStatus: number; usage?: ChatUsage; llmusageid?: string; error?: string } {
      if (!sse && text) {
        try {
          const value = JSON.parse(text) as Record<string, unknown>;
          usage = toUsage(value.usage) ?? usage;
          if (typeof value.llmusageid === "string") llmusageid = value.llmusageid;
          const failure = upstreamFailure(value);
          if (failure) error = failure.message;
        } catch {
          error ??= httpStatus >= 400 ? `upstream HTTP ${httpStatus}` : undefined;
        }
      }
      const failed = httpStatus >= 400 || error !== undefined;
      return {
        status: failed ? "failed" : "succeeded",
        httpStatus,
        ...(usage ? { usage } : {}),
        ...(llmusageid ? { llmusageid } : {}),
        ...(failed ? { error: error ?? `upstream HTTP ${httpStatus}` } : {}),
      };
    },
  };
}
