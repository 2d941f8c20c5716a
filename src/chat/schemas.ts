import { z } from "@hono/zod-openapi";

/**
 * The OpenAI Chat Completions request as the relay accepts it. Only what the relay
 * itself needs is checked strictly; every other OpenAI parameter passes through to the
 * upstream untouched (docs/API.md), hence `.passthrough()`.
 */
const TextPart = z.object({ type: z.literal("text"), text: z.string() }).passthrough();
const OtherPart = z.object({ type: z.string() }).passthrough();
export const ContentSchema = z.union([z.string(), z.array(z.union([TextPart, OtherPart])), z.null()]);

export const ChatMessageSchema = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
    content: ContentSchema.optional(),
    name: z.string().optional(),
  })
  .passthrough()
  .openapi("ChatMessage");

export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).openapi({ example: "qwen3-max" }),
    messages: z.array(ChatMessageSchema).min(1, "messages must contain at least one message"),
    stream: z.boolean().optional(),
    stream_options: z
      .object({ include_usage: z.boolean().optional() })
      .passthrough()
      .nullable()
      .optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
  })
  .passthrough()
  .openapi("ChatCompletionRequest");

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const UsageSchema = z
  .object({
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    prompt_tokens_details: z.object({ cached_tokens: z.number().int() }).optional(),
  })
  .openapi("ChatUsage");

export const ChatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal("assistant"),
          content: z.string().nullable(),
          reasoning_content: z.string().optional(),
        }),
        finish_reason: z.string().nullable(),
        logprobs: z.null(),
      }),
    ),
    usage: UsageSchema.optional(),
  })
  .openapi("ChatCompletion");

export const ChatCompletionChunkSchema = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion.chunk"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        delta: z.object({
          role: z.literal("assistant").optional(),
          content: z.string().optional(),
          reasoning_content: z.string().optional(),
        }),
        finish_reason: z.string().nullable(),
        logprobs: z.null(),
      }),
    ),
    usage: UsageSchema.optional(),
  })
  .openapi("ChatCompletionChunk", {
    description: "Sent as `data: <json>` events on a `text/event-stream`, then `data: [DONE]`.",
  });

export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;
export type ChatUsage = z.infer<typeof UsageSchema>;
