/**
 * Webhook event types and the event envelope (docs/API.md). Kept as data so the route
 * schemas, the delivery code and the docs all read the same list.
 */

export const WEBHOOK_EVENT_TYPES = [
  "task.running",
  "task.succeeded",
  "task.failed",
  "task.expired",
  "webhook.test",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * The events a webhook can subscribe to. `webhook.test` is left out: it is sent on demand
 * by `POST /v1/webhooks/{id}/test` whatever the subscription says.
 */
export const SUBSCRIBABLE_EVENT_TYPES = [
  "task.running",
  "task.succeeded",
  "task.failed",
  "task.expired",
] as const satisfies readonly WebhookEventType[];

export type SubscribableEventType = (typeof SUBSCRIBABLE_EVENT_TYPES)[number];

/**
 * What a webhook gets when `webhook_events` / `events` is omitted: the terminal events,
 * since "tell me when it is done" is what a completion webhook is for.
 */
export const DEFAULT_TASK_WEBHOOK_EVENTS = [
  "task.succeeded",
  "task.failed",
  "task.expired",
] as const satisfies readonly SubscribableEventType[];

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

export function isSubscribableEventType(value: string): value is SubscribableEventType {
  return (SUBSCRIBABLE_EVENT_TYPES as readonly string[]).includes(value);
}

/** The relay's task statuses (docs/API.md), as far as events are concerned. */
type TaskStatusForEvents = "queued" | "running" | "succeeded" | "failed" | "expired";

/**
 * The event a task entering `status` emits, or null: `queued` is where every task starts,
 * so announcing it would tell the receiver nothing it did not learn from the 202.
 */
export function taskEventType(status: TaskStatusForEvents): SubscribableEventType | null {
  switch (status) {
    case "queued":
      return null;
    case "running":
      return "task.running";
    case "succeeded":
      return "task.succeeded";
    case "failed":
      return "task.failed";
    case "expired":
      return "task.expired";
  }
}

/**
 * The JSON body of every delivery. `id` is an `evt_…` id and is also the `webhook-id`
 * header, identical on every retry and redelivery, so receivers can deduplicate on it.
 * `data` is the task object for task events.
 */
export interface WebhookEvent<TData = unknown> {
  id: string;
  type: WebhookEventType;
  /** ISO-8601 UTC: when the event happened, not when this attempt was sent. */
  created_at: string;
  data: TData;
}
