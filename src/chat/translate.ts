import { ApiError } from "../errors/api-error";
import { upstreamFailure } from "../upstream/client";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage, ChatUsage } from "./schemas";

/**
 * Translation between OpenAI's chat format and the upstream's loosely OpenAI-shaped one.
 * Pure functions: the route and the stream relay do the I/O.
 */

/** Text of a message's content; array parts are flattened to their text (docs/API.md). */
export function contentText(content: ChatMessage["content"]): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part) => ("text" in part && typeof part.text === "string" ? part.text : ""))
    .filter((text) => text !== "")
    .join("\n");
}

/** Keys the relay sets itself; everything else the caller sent goes upstream as it came. */
const RELAY_OWNED = new Set(["model", "messages", "stream", "prompt", "sys_prompt"]);

export function toUpstreamChatRequest(req: ChatCompletionRequest): Record<string, unknown> {
  const lastUser = [...req.messages].reverse().find((m) => m.role === "user");
  if (!lastUser) {
    throw new ApiError("invalid_request", "messages must contain at least one `user` message.", { param: "messages" });
  }
  const prompt = contentText(lastUser.content);
  const system = req.messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => contentText(m.content))
    .filter((t) => t !== "");
  const body: Record<string, unknown> = {
    model: req.model,
    stream: req.stream === true,
    prompt,
  };
  if (system.length > 0) body.sys_prompt = system.join("\n\n");
  body.messages = req.messages.map((m) =>
    Array.isArray(m.content) ? { ...m, content: contentText(m.content) } : m,
  );
  for (const [key, value] of Object.entries(req)) {
    if (!RELAY_OWNED.has(key) && value !== undefined) body[key] = value;
  }
  return body;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function asInt(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) : 0;
}

export function toUsage(value: unknown): ChatUsage | undefined {
  const u = asRecord(value);
  if (!u) return undefined;
  const usage: ChatUsage = {
    prompt_tokens: asInt(u.prompt_tokens),
    completion_tokens: asInt(u.completion_tokens),
    total_tokens: asInt(u.total_tokens) || asInt(u.prompt_tokens) + asInt(u.completion_tokens),
  };
  const details = asRecord(u.prompt_tokens_details);
  if (details) usage.prompt_tokens_details = { cached_tokens: asInt(details.cached_tokens) };
  return usage;
}

function chatId(raw: Record<string, unknown>): string {
  return asString(raw.id) ?? `chatcmpl-${crypto.randomUUID()}`;
}

function created(raw: Record<string, unknown>): number {
  return typeof raw.created === "number" ? Math.trunc(raw.created) : Math.floor(Date.now() / 1000);
}

/** A non-streaming upstream answer → a strict `chat.completion`, or the failure it hides. */
export function toChatCompletion(raw: unknown, requestedModel: string): ChatCompletion {
  const failure = upstreamFailure(raw);
  if (failure) throw failure;
  const r = asRecord(raw);
  const choices = r && Array.isArray(r.choices) ? r.choices : null;
  if (!r || !choices) {
    throw new ApiError("upstream_error", "The upstream answered with something that is not a chat completion.", {
      detailCode: "upstream_malformed",
    });
  }
  const topReasoning = asString(r.reasoning_content);
  const completion: ChatCompletion = {
    id: chatId(r),
    object: "chat.completion",
    created: created(r),
    model: asString(r.model) ?? requestedModel,
    choices: choices.map((choiceValue, i) => {
      const choice = asRecord(choiceValue) ?? {};
      const message = asRecord(choice.message) ?? {};
      const content = asString(message.content) ?? (i === 0 ? asString(r.content) : undefined) ?? null;
      const reasoning = asString(message.reasoning_content) ?? (i === 0 ? topReasoning : undefined);
      return {
        index: typeof choice.index === "number" ? choice.index : i,
        message: {
          role: "assistant" as const,
          content,
          ...(reasoning ? { reasoning_content: reasoning } : {}),
        },
        finish_reason: asString(choice.finish_reason) ?? "stop",
        logprobs: null,
      };
    }),
  };
  const usage = toUsage(r.usage);
  if (usage) completion.usage = usage;
  return completion;
}

/** What one upstream stream event means to the relay. */
export type StreamEvent =
  | { kind: "chunk"; chunk: ChatCompletionChunk; finished: boolean }
  | { kind: "usage"; chunk: ChatCompletionChunk; usage: ChatUsage; llmusageid?: string }
  | { kind: "failure"; error: ApiError; llmusageid?: string }
  | { kind: "skip" };

/**
 * One upstream SSE `data:` payload (already JSON-parsed) → the strict OpenAI chunk.
 * The upstream's top-level `reasoning_content` moves into the delta; its duplicate
 * top-level `content`, `finish` and `llmusageid` are dropped.
 */
export function toStreamEvent(raw: unknown, requestedModel: string): StreamEvent {
  const r = asRecord(raw);
  if (!r) return { kind: "skip" };
  const llmusageid = asString(r.llmusageid);
  const failure = upstreamFailure(r);
  if (failure) return { kind: "failure", error: failure, ...(llmusageid ? { llmusageid } : {}) };
  const base = { id: chatId(r), object: "chat.completion.chunk" as const, created: created(r), model: asString(r.model) ?? requestedModel };
  const choices = Array.isArray(r.choices) ? r.choices : [];
  if (choices.length === 0) {
    const usage = toUsage(r.usage);
    if (!usage) return { kind: "skip" };
    return { kind: "usage", chunk: { ...base, choices: [], usage }, usage, ...(llmusageid ? { llmusageid } : {}) };
  }
  const topReasoning = asString(r.reasoning_content);
  let finished = false;
  const mapped = choices.map((choiceValue, i) => {
    const choice = asRecord(choiceValue) ?? {};
    const delta = asRecord(choice.delta) ?? {};
    const finishReason = asString(choice.finish_reason) ?? null;
    if (finishReason) finished = true;
    const role = delta.role === "assistant" ? ("assistant" as const) : undefined;
    const content = asString(delta.content);
    const reasoning = asString(delta.reasoning_content) ?? (i === 0 ? topReasoning : undefined);
    return {
      index: typeof choice.index === "number" ? choice.index : i,
      delta: {
        ...(role ? { role } : {}),
        ...(content !== undefined ? { content } : {}),
        ...(reasoning ? { reasoning_content: reasoning } : {}),
      },
      finish_reason: finishReason,
      logprobs: null,
    };
  });
  return { kind: "chunk", chunk: { ...base, choices: mapped }, finished };
}
