import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ApiError } from "../errors/api-error";
import type { ChatUsage } from "./schemas";
import { toStreamEvent } from "./translate";

/**
 * Relays an upstream chat stream to an OpenAI client, event by event, as it arrives.
 *
 * Pull-based: a chunk is read from the upstream only when the client's side wants more,
 * so a slow client slows the upstream read instead of filling memory, and nothing is
 * held back once parsed (no coalescing). The upstream body is parsed as SSE whatever its
 * content type says (it sometimes says application/json). A failure after the first byte
 * becomes a `data: {"error": …}` event and the stream ends WITHOUT `[DONE]`, because the
 * openai SDK treats a clean close as a complete answer.
 */
export interface StreamOutcome {
  status: "succeeded" | "failed" | "cancelled";
  error?: string;
  usage?: ChatUsage;
  llmusageid?: string;
  /** ms since the epoch when the first upstream body byte arrived. */
  firstByteAt?: number;
}

export interface OpenAIStreamOptions {
  upstream: ReadableStream<Uint8Array>;
  model: string;
  includeUsage: boolean;
  keepAliveMs: number;
  /** Aborts the upstream request; called when the client goes away. */
  abortUpstream: () => void;
  onDone: (outcome: StreamOutcome) => void;
}

const encoder = new TextEncoder();
const DONE = encoder.encode("data: [DONE]\n\n");
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

export function sseData(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
}

export function relayOpenAIStream(options: OpenAIStreamOptions): ReadableStream<Uint8Array> {
  const reader = options.upstream.getReader();
  const decoder = new TextDecoder();
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | null = null;
  let finished = false;
  let keepAlive: ReturnType<typeof setTimeout> | undefined;
  let usage: ChatUsage | undefined;
  let llmusageid: string | undefined;
  let firstByteAt: number | undefined;
  let emitted = 0;
  const emit = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    emitted++;
    controller.enqueue(bytes);
  };
  const parser = createParser({
    onEvent: (message) => {
      if (controllerRef) onEvent(controllerRef, message);
    },
  });

  const armKeepAlive = () => {
    clearTimeout(keepAlive);
    keepAlive = setTimeout(() => {
      if (finished || !controllerRef) return;
      emit(controllerRef, KEEP_ALIVE);
      armKeepAlive();
    }, options.keepAliveMs);
  };

  const finish = (outcome: Omit<StreamOutcome, "usage" | "llmusageid" | "firstByteAt">) => {
    if (finished) return;
    finished = true;
    clearTimeout(keepAlive);
    options.onDone({
      ...outcome,
      ...(usage ? { usage } : {}),
      ...(llmusageid ? { llmusageid } : {}),
      ...(firstByteAt !== undefined ? { firstByteAt } : {}),
    });
  };

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: ApiError) => {
    if (finished) return;
    emit(controller, sseData(error.toBody()));
    controller.close();
    finish({ status: "failed", error: error.message });
    // Release the upstream connection; nothing more will be read from it.
    reader.cancel().catch(() => {});
  };

  const onEvent = (controller: ReadableStreamDefaultController<Uint8Array>, message: EventSourceMessage) => {
    if (finished) return;
    const data = message.data.trim();
    if (data === "") return;
    if (data === "[DONE]") {
      emit(controller, DONE);
      controller.close();
      finish({ status: "succeeded" });
      reader.cancel().catch(() => {});
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      // The upstream drops unparsable provider lines itself; one reaching us means the
      // stream is damaged, and passing on what follows would hide a hole in the answer.
      fail(controller, new ApiError("upstream_error", "The upstream sent a malformed stream event.", { detailCode: "upstream_malformed" }));
      return;
    }
    const event = toStreamEvent(parsed, options.model);
    switch (event.kind) {
      case "skip":
        return;
      case "failure":
        if (event.llmusageid) llmusageid = event.llmusageid;
        fail(controller, event.error);
        return;
      case "usage":
        usage = event.usage;
        if (event.llmusageid) llmusageid = event.llmusageid;
        if (options.includeUsage) emit(controller, sseData(event.chunk));
        armKeepAlive();
        return;
      case "chunk": {
        const id = (parsed as { llmusageid?: unknown }).llmusageid;
        if (typeof id === "string") llmusageid = id;
        emit(controller, sseData(event.chunk));
        armKeepAlive();
        return;
      }
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controllerRef = controller;
        armKeepAlive();
      },
      async pull(controller) {
        // Read until at least one event went out (or the stream ended), so each pull
        // delivers what the upstream sent as soon as it is complete.
        while (!finished) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await reader.read();
          } catch (err) {
            if (finished) return;
            fail(controller, new ApiError("upstream_error", "The upstream stream broke off before the answer was complete.", { detailCode: "upstream_stream_interrupted", cause: err }));
            return;
          }
          if (result.done) {
            parser.feed(decoder.decode());
            parser.feed("\n\n");
            if (!finished) {
              fail(controller, new ApiError("upstream_error", "The upstream stream ended before the answer was complete.", { detailCode: "upstream_stream_incomplete" }));
            }
            return;
          }
          firstByteAt ??= Date.now();
          const before = emitted;
          parser.feed(decoder.decode(result.value, { stream: true }));
          if (finished || emitted !== before) return;
        }
      },
      cancel() {
        // The client went away: stop the upstream call so nobody pays for an unread answer.
        options.abortUpstream();
        reader.cancel().catch(() => {});
        finish({ status: "cancelled", error: "client disconnected" });
      },
    },
    // No internal queue beyond one event: each event is pulled when the client reads.
    { highWaterMark: 0 },
  );

}
