import { z } from "@hono/zod-openapi";
import { ListMetaShape } from "../http/openapi";
import { SUBSCRIBABLE_EVENT_TYPES, WEBHOOK_EVENT_TYPES } from "./events";
import type { AttemptRow, DeliveryRow, EndpointRow } from "./storage";

/**
 * The webhook API's objects (docs/API.md), written once: the routes validate with them,
 * /openapi.json documents them, and the row → object mappers below are the only place
 * a D1 row becomes what a caller sees (so a sealed secret can never leak through one).
 */

const SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const EVENTS_MESSAGE = `must be one of ${SUBSCRIBABLE_EVENT_TYPES.join(", ")}`;

export const SubscribableEventSchema = z.enum(SUBSCRIBABLE_EVENT_TYPES, { error: EVENTS_MESSAGE });

const EventsSchema = z
  .array(SubscribableEventSchema)
  .min(1, "at least one event is needed")
  .max(16)
  .openapi({ description: "Defaults to every subscribable event.", example: ["task.succeeded", "task.failed"] });

const DescriptionSchema = z.string().max(512);

// Strict bodies: a misspelt field (`enable: false`) must not be a silent no-op.
export const CreateEndpointBodySchema = z
  .strictObject({
    url: z.string().openapi({ example: "https://example.com/hooks/yuanjing" }),
    events: EventsSchema.optional(),
    description: DescriptionSchema.optional(),
  })
  .openapi("CreateWebhookEndpoint");

export const UpdateEndpointBodySchema = z
  .strictObject({
    url: z.string().optional(),
    events: EventsSchema.optional(),
    description: DescriptionSchema.nullable().optional().openapi({ description: "null clears it" }),
    enabled: z.boolean().optional().openapi({ description: "true re-enables (and clears disabled_reason)" }),
  })
  .openapi("UpdateWebhookEndpoint");

export const EndpointSchema = z
  .object({
    id: z.string().openapi({ example: "wh_0a1b2c3d4e5f6g7h8j9k" }),
    object: z.literal("webhook_endpoint"),
    url: z.string(),
    events: z.array(SubscribableEventSchema),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable().openapi({ example: "receiver answered 410 Gone" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("WebhookEndpoint");

/** Only the creation and the rotation answers carry the secret. */
export const EndpointWithSecretSchema = EndpointSchema.extend({
  secret: z.string().openapi({ example: SECRET_EXAMPLE }),
}).openapi("WebhookEndpointWithSecret");

export const RotatedEndpointSchema = EndpointWithSecretSchema.extend({
  previous_secret_expires_at: z.string().openapi({ description: "Until then the old secret signs beside the new one." }),
}).openapi("WebhookEndpointRotated");

export const EndpointListSchema = z.object({ ...ListMetaShape, data: z.array(EndpointSchema) }).openapi("WebhookEndpointList");

export const DeletedEndpointSchema = z
  .object({ id: z.string(), object: z.literal("webhook_endpoint"), deleted: z.literal(true) })
  .openapi("DeletedWebhookEndpoint");

// `secret` is this API's name; `key` is the same value under the name Replicate's
// GET /v1/webhooks/default/secret uses, so Replicate client code works unchanged.
export const DefaultSecretSchema = z
  .object({
    secret: z.string().openapi({ example: SECRET_EXAMPLE }),
    key: z.string().openapi({ example: SECRET_EXAMPLE, description: "Same value as `secret` (Replicate's field name)." }),
  })
  .openapi("DefaultWebhookSecret");

export const RotatedDefaultSecretSchema = DefaultSecretSchema.extend({
  previous_secret_expires_at: z.string(),
}).openapi("RotatedDefaultWebhookSecret");

export const AttemptSchema = z
  .object({
    attempt: z.number().int().openapi({ description: "1 for the first try of this delivery" }),
    trigger: z.enum(["schedule", "redeliver", "test"]),
    attempted_at: z.string(),
    status_code: z.number().int().nullable(),
    duration_ms: z.number().int(),
    error: z.string().nullable(),
    response_snippet: z.string().nullable().openapi({ description: "The first 512 bytes of the receiver's answer" }),
  })
  .openapi("DeliveryAttempt");

export const DeliverySchema = z
  .object({
    id: z.string().openapi({ example: "dlv_0a1b2c3d4e5f6g7h8j9k" }),
    object: z.literal("delivery"),
    event_id: z.string().openapi({ description: "Also the `webhook-id` header of every attempt" }),
    event_type: z.enum(WEBHOOK_EVENT_TYPES),
    task_id: z.string().nullable().openapi({ description: "null for a `webhook.test` delivery" }),
    webhook_id: z.string().nullable().openapi({ description: "The endpoint (wh_…), or null for a webhook given on the task" }),
    url: z.string(),
    status: z.enum(["pending", "succeeded", "failed", "gone"]),
    attempts_count: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    attempts: z.array(AttemptSchema),
  })
  .openapi("Delivery");

export const DeliveryListSchema = z.object({ ...ListMetaShape, data: z.array(DeliverySchema) }).openapi("DeliveryList");

export type Endpoint = z.infer<typeof EndpointSchema>;
export type Delivery = z.infer<typeof DeliverySchema>;
export type Attempt = z.infer<typeof AttemptSchema>;

// ---- rows → objects ----

function parseEvents(json: string): Endpoint["events"] {
  try {
    const value = JSON.parse(json) as unknown;
    if (Array.isArray(value)) {
      return value.filter((e): e is Endpoint["events"][number] => (SUBSCRIBABLE_EVENT_TYPES as readonly unknown[]).includes(e));
    }
  } catch {
    // fall through: a damaged row shows no events rather than failing the whole list
  }
  return [];
}

export function rowToEndpoint(row: EndpointRow): Endpoint {
  return {
    id: row.id,
    object: "webhook_endpoint",
    url: row.url,
    events: parseEvents(row.events_json),
    description: row.description,
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function rowToAttempt(row: AttemptRow): Attempt {
  return {
    attempt: row.attempt,
    trigger: row.trigger,
    attempted_at: row.attempted_at,
    status_code: row.status_code,
    duration_ms: row.duration_ms,
    error: row.error,
    response_snippet: row.response_snippet,
  };
}

export function rowToDelivery(row: DeliveryRow, attempts: readonly AttemptRow[]): Delivery {
  return {
    id: row.id,
    object: "delivery",
    event_id: row.event_id,
    event_type: row.event_type as Delivery["event_type"],
    task_id: row.task_id,
    webhook_id: row.endpoint_id,
    url: row.url,
    status: row.status,
    attempts_count: row.attempts,
    next_attempt_at: row.next_attempt_at,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    created_at: row.created_at,
    updated_at: row.updated_at,
    attempts: attempts
      .filter((a) => a.delivery_id === row.id)
      .sort((a, b) => a.attempt - b.attempt || a.attempted_at.localeCompare(b.attempted_at))
      .map(rowToAttempt),
  };
}
