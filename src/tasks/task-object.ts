import { z } from "@hono/zod-openapi";
import { SUBSCRIBABLE_EVENT_TYPES } from "../webhooks/events";

/** The task object of docs/API.md: what every task route and every webhook body carries. */
export const TASK_STATUSES = ["queued", "running", "succeeded", "failed", "expired"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type VideoMode = "t2v" | "i2v" | "r2v";

export function isTerminal(status: TaskStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "expired";
}

/** Upstream usage is a flat record (credits, model, duration, …); nested values are kept as JSON text. */
const UsageValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type UsageValue = z.infer<typeof UsageValueSchema>;
export type TaskUsage = Record<string, UsageValue>;

export function flatUsage(raw: Record<string, unknown>): TaskUsage {
  const out: TaskUsage = {};
  for (const [k, v] of Object.entries(raw)) {
    out[k] = v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v);
  }
  return out;
}

export const TaskWebhookSchema = z
  .object({
    url: z.string(),
    events: z.array(z.enum(SUBSCRIBABLE_EVENT_TYPES)),
  })
  .openapi("TaskWebhook");

export const TaskErrorSchema = z
  .object({ code: z.string(), message: z.string() })
  .openapi("TaskError");

export const TaskSchema = z
  .object({
    id: z.string().openapi({ example: "task_0a1b2c3d4e5f6g7h8j9k" }),
    object: z.literal("task"),
    upstream_taskid: z.string().nullable().openapi({ example: "936759404378734592" }),
    model: z.string().nullable().openapi({ example: "viduq3-pro" }),
    llmid: z.string().nullable().openapi({ example: "r0ill7L0s6PtBS8mkmg-7" }),
    mode: z.enum(["t2v", "i2v", "r2v"]).nullable(),
    status: z.enum(TASK_STATUSES),
    upstream_status: z.string().nullable().openapi({ example: "PENDING" }),
    video_url: z.string().nullable(),
    cover_url: z.string().nullable(),
    usage: z.record(z.string(), UsageValueSchema).nullable(),
    error: TaskErrorSchema.nullable(),
    metadata: z.record(z.string(), z.string()),
    webhooks: z.array(TaskWebhookSchema),
    created_at: z.string(),
    updated_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi("Task");

export type Task = z.infer<typeof TaskSchema>;
export type TaskWebhook = z.infer<typeof TaskWebhookSchema>;
export type TaskError = z.infer<typeof TaskErrorSchema>;
