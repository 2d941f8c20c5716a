/**
 * POST /llmage/v1/chat/completions, in the upstream's wire format: streamed as
 * `data: {json}\n\n` chunks with the upstream's extra top-level fields (`content`,
 * `reasoning_content`, `finish`, `llmusageid`), a usage-only final chunk and
 * `data: [DONE]`; or one `chat.completion` object. The answer is deterministic (built
 * from the request and the key's config) so tests can predict every byte but the ids.
 */
import { authFailure } from "./auth";
import { CHAT_MODELS } from "./catalog";
import { type Fault, preFault, takeFault } from "./faults";
import { bearerKey, isRecord, nanoId, parseJson, pyJson, sleep, upstreamJson } from "./http";
import { type ChatConfig, getScope, Life, record } from "./state";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface ChatPlan {
  id: string;
  created: number;
  model: string;
  llmusageid: string;
  text: string;
  reasoning: string | null;
  promptTokens: number;
  completionTokens: number;
}

interface StreamEvent {
  data: string;
  content?: string;
  reasoning?: string;
}

function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (isRecord(part) && typeof part.text === "string" ? part.text : ""))
      .join("");
  }
  return "";
}

function codePoints(text: string): string[] {
  return Array.from(text);
}

/** Deterministic token counts: a quarter of the characters, rounded up. */
function tokens(text: string): number {
  return Math.ceil(codePoints(text).length / 4);
}

function isStream(value: unknown): boolean {
  return value === true || value === "true" || value === 1 || value === "1";
}

function answerText(config: ChatConfig, model: string, prompt: string): string {
  const excerpt = codePoints(prompt).slice(0, 60).join("");
  if (config.text !== null) return config.text.replaceAll("{prompt}", prompt).replaceAll("{model}", model);
  return (
    `This is the Yuanjing upstream simulator answering as ${model}. You said: "${excerpt}". ` +
    "Every chunk of this reply is deterministic, so a test can predict the whole stream."
  );
}

function chunkText(text: string, size: number): string[] {
  const chars = codePoints(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""));
  return out;
}

function sse(payload: unknown): string {
  return `data: ${pyJson(payload, true)}\n\n`;
}

function buildEvents(plan: ChatPlan, chunkSize: number): StreamEvent[] {
  const head = { id: plan.id, object: "chat.completion.chunk", created: plan.created };
  const tail = (reasoning: string | null, content: string): Record<string, unknown> => ({
    model: plan.model,
    reasoning_content: reasoning,
    content,
    finish: "0",
    llmusageid: plan.llmusageid,
  });
  const events: StreamEvent[] = [
    {
      data: sse({
        ...head,
        choices: [{ logprobs: null, index: 0, delta: { content: "", role: "assistant" } }],
        ...tail(null, ""),
      }),
    },
  ];
  if (plan.reasoning) {
    for (const piece of chunkText(plan.reasoning, chunkSize)) {
      events.push({
        data: sse({ ...head, choices: [{ delta: { content: "", role: null }, index: 0 }], ...tail(piece, "") }),
        reasoning: piece,
      });
    }
  }
  for (const piece of chunkText(plan.text, chunkSize)) {
    events.push({
      data: sse({ ...head, choices: [{ delta: { content: piece, role: null }, index: 0 }], ...tail(null, piece) }),
      content: piece,
    });
  }
  events.push({
    data: sse({
      ...head,
      choices: [{ delta: { content: "", role: null }, index: 0, finish_reason: "stop" }],
      ...tail(null, ""),
    }),
  });
  events.push({
    data: sse({
      ...head,
      choices: [],
      model: plan.model,
      finish: "1",
      usage: {
        total_tokens: plan.promptTokens + plan.completionTokens,
        completion_tokens: plan.completionTokens,
        prompt_tokens: plan.promptTokens,
        prompt_tokens_details: { cached_tokens: 0 },
      },
      llmusageid: plan.llmusageid,
    }),
  });
  return events;
}

function failedEvent(plan: ChatPlan, message: string): string {
  return `data: ${pyJson({ error: `ERROR:${message}`, status: "FAILED", llmusageid: plan.llmusageid }, true)}\n\n`;
}

const MALFORMED_LINE = 'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{"delta": \n\n';

/** Between chunks, a stream this quiet checks every so often that its client is still there. */
const PROBE_MS = 25;
const EMPTY = new Uint8Array(0);

/**
 * Waits `ms` between two chunks. A runtime-side cancel (client gone) only surfaces on the
 * writer's next write, so a long pause is cut into short slices with an empty write
 * between them (no bytes reach the client): a slow stream notices a disconnect within
 * ~PROBE_MS instead of at its next chunk. request.signal, when the runtime provides it,
 * ends the wait at once.
 */
async function pause(ms: number, writer: WritableStreamDefaultWriter<Uint8Array>, signal: AbortSignal): Promise<boolean> {
  let left = ms;
  while (left > 0) {
    const step = Math.min(left, PROBE_MS);
    if (!(await sleep(step, signal))) return false;
    left -= step;
    if (left > 0) await writer.write(EMPTY);
  }
  return !signal.aborted;
}

function streamResponse(plan: ChatPlan, config: ChatConfig, fault: Fault | null, life: Life, ctx: ExecutionContext): Response {
  const events = buildEvents(plan, config.chunkSize);
  const at = (n: number): number => Math.min(n, events.length);
  const delayMs = fault?.kind === "slow_chunks" ? fault.ms : config.chunkDelayMs;
  const cutAt = fault?.kind === "cut_after" ? at(fault.chunks) : null;
  const malformedAt = fault?.kind === "malformed_chunk" ? at(fault.after) : null;
  const errorAt = fault?.kind === "error_event" ? at(fault.after) : null;
  const rec = life.rec;
  rec.sentText = "";
  rec.sentChunks = 0;
  if (plan.reasoning) rec.sentReasoning = "";

  // A writer loop (not a pull source): workerd reports a client that went away as a
  // failed write, while a pull source's cancel() is not reliably called.
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (text: string): Promise<void> => writer.write(encoder.encode(text));

  const run = async (): Promise<void> => {
    try {
      for (let index = 0; ; ) {
        if (index > 0 && !(await pause(delayMs, writer, life.signal))) break;
        if (errorAt !== null && index === errorAt) {
          const message = fault?.kind === "error_event" && fault.message ? fault.message : "simulated upstream failure";
          await write(failedEvent(plan, message) + "data: [DONE]\n\n");
          break;
        }
        if (malformedAt !== null && index === malformedAt) await write(MALFORMED_LINE);
        if (cutAt !== null && index === cutAt) {
          // Aborting the body makes the runtime fail the response mid-way: the reader gets
          // an error (between workers) or an early end (over HTTP), and never [DONE].
          life.end();
          await writer.abort(new Error("simulated connection cut"));
          return;
        }
        const event = events[index];
        if (!event) {
          await write("data: [DONE]\n\n");
          break;
        }
        await write(event.data);
        index++;
        rec.sentChunks = index;
        if (event.content !== undefined) rec.sentText += event.content;
        if (event.reasoning !== undefined) rec.sentReasoning = (rec.sentReasoning ?? "") + event.reasoning;
      }
      if (life.signal.aborted) {
        await writer.abort(new Error("client went away")).catch(() => undefined);
        return;
      }
      life.end();
      await writer.close();
    } catch {
      // A write failed: the client is gone.
      life.cancel();
    }
  };
  ctx.waitUntil(run());

  const contentType = fault?.kind === "json_content_type" ? "application/json" : "text/event-stream; charset=utf-8";
  life.started(200, fault?.kind ?? null);
  return new Response(readable, {
    status: 200,
    headers: { "content-type": contentType, "cache-control": "no-cache", "content-encoding": "identity" },
  });
}

function completionBody(plan: ChatPlan): string {
  return pyJson({
    id: plan.id,
    object: "chat.completion",
    created: plan.created,
    choices: [{ finish_reason: "stop", index: 0, message: { content: plan.text, role: "assistant" } }],
    model: plan.model,
    reasoning_content: plan.reasoning,
    content: plan.text,
    finish: "1",
    usage: {
      completion_tokens: plan.completionTokens,
      prompt_tokens: plan.promptTokens,
      prompt_tokens_details: { cached_tokens: 0 },
      total_tokens: plan.promptTokens + plan.completionTokens,
    },
  });
}

function nonStreamResponse(plan: ChatPlan, fault: Fault | null, life: Life): Response {
  const rec = life.rec;
  const headers = { "content-type": "application/json; charset=utf-8" };
  if (fault?.kind === "error_event") {
    const body = { error: `ERROR:${fault.message ?? "simulated upstream failure"}`, status: "FAILED", llmusageid: plan.llmusageid };
    return life.finish(upstreamJson(body), "error_event");
  }
  const text = completionBody(plan);
  if (fault?.kind === "cut_after" || fault?.kind === "malformed_chunk") {
    const bytes = encoder.encode(text);
    const half = bytes.slice(0, Math.floor(bytes.length / 2));
    const cut = fault.kind === "cut_after";
    rec.sentText = decoder.decode(half);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(half);
        // cut_after drops the connection; malformed_chunk ends cleanly on a truncated document.
        if (cut) controller.error(new Error("simulated connection cut"));
        else controller.close();
        life.end();
      },
      cancel() {
        life.cancel();
      },
    });
    life.started(200, fault.kind);
    return new Response(body, { status: 200, headers });
  }
  rec.sentText = plan.text;
  if (plan.reasoning) rec.sentReasoning = plan.reasoning;
  return life.finish(new Response(text, { status: 200, headers }), fault?.kind ?? null);
}

export async function handleChat(request: Request, url: URL, ctx: ExecutionContext): Promise<Response> {
  const key = bearerKey(request);
  const scope = getScope(key);
  const rec = record(scope, "chat", request, url);
  const life = new Life(scope, rec, request);
  const raw = await request.arrayBuffer();
  rec.bodySize = raw.byteLength;
  const parsed = parseJson(decoder.decode(raw));
  if (parsed.ok) rec.json = parsed.value;
  else rec.rawBody = decoder.decode(raw);

  const fault = takeFault(scope, "chat");
  const pre = await preFault(fault, life);
  if (pre) return pre;
  const denied = authFailure(key);
  if (denied) return life.finish(denied);
  if (!parsed.ok || !isRecord(parsed.value)) {
    return life.finish(upstreamJson({ error: "Invalid JSON body" }, 400));
  }
  const body = parsed.value;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const prompt = typeof body.prompt === "string" ? body.prompt : "";
  if (!prompt && messages.length === 0) {
    return life.finish(upstreamJson({ error: "Missing required parameter: prompt" }, 400));
  }
  const model = typeof body.model === "string" && body.model ? body.model : "qwen3-max";
  if (!CHAT_MODELS.includes(model) && !scope.chat.models.includes(model)) {
    return life.finish(upstreamJson({ status: "FAILED", error: `ERROR:model ${model} not found` }));
  }
  if (fault?.kind === "failed_200") {
    return life.finish(upstreamJson({ status: "FAILED", error: fault.error ?? "ERROR:simulated upstream failure" }), "failed_200");
  }

  // Like the upstream's template: `messages` when present, else sys_prompt + prompt.
  const lastUser = [...messages].reverse().find((m) => isRecord(m) && m.role === "user");
  const echo = prompt || (isRecord(lastUser) ? messageText(lastUser.content) : "");
  const promptBasis =
    messages.length > 0
      ? messages.map((m) => (isRecord(m) ? messageText(m.content) : "")).join("\n")
      : `${typeof body.sys_prompt === "string" ? body.sys_prompt : ""}${prompt}`;
  const text = answerText(scope.chat, model, echo);
  const reasoning = scope.chat.reasoning;
  const plan: ChatPlan = {
    id: `chatcmpl-${crypto.randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model,
    llmusageid: nanoId(),
    text,
    reasoning,
    promptTokens: Math.max(1, tokens(promptBasis)),
    completionTokens: tokens(text + (reasoning ?? "")),
  };
  return isStream(body.stream) ? streamResponse(plan, scope.chat, fault, life, ctx) : nonStreamResponse(plan, fault, life);
}
