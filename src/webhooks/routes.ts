import { createRoute, z } from "@hono/zod-openapi";
import type { RelayConfig } from "../config/env";
import { ApiError } from "../errors/api-error";
import { bearerSecurity, errorResponses } from "../http/openapi";
import { decodeCursor, page, PaginationQuery } from "../http/pagination";
import { createRouter } from "../http/router";
import { seal } from "../lib/crypto";
import { newId } from "../lib/ids";
import { trackerFor } from "../tasks/service";
import { findTask } from "../tasks/storage";
import { attemptDelivery, attemptLogRow, type AttemptResult } from "./delivery";
import { SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType, type WebhookEvent } from "./events";
import {
  CreateEndpointBodySchema,
  DefaultSecretSchema,
  DeletedEndpointSchema,
  DeliveryListSchema,
  DeliverySchema,
  EndpointListSchema,
  EndpointSchema,
  EndpointWithSecretSchema,
  RotatedDefaultSecretSchema,
  RotatedEndpointSchema,
  rowToDelivery,
  rowToEndpoint,
  UpdateEndpointBodySchema,
  type Delivery,
} from "./schemas";
import { endpointSecrets, liveSecrets, ROTATION_OVERLAP_MS, rotateTenantDefaultSecret, tenantSecrets } from "./secrets";
import { generateWebhookSecret } from "./signing";
import {
  attemptsFor,
  claimAttemptNumber,
  deleteEndpoint,
  disableEndpointStatement,
  getDelivery,
  getEndpoint,
  insertAttemptStatement,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  updateEndpoint,
  upsertDeliveryStatement,
  type AttemptRow,
  type DeliveryRow,
  type EndpointRow,
} from "./storage";
import { assertWebhookUrl } from "./url-safety";

/**
 * The webhook API (docs/API.md): the tenant's default secret, account endpoints, the
 * delivery log and redelivery. Everything is tenant-scoped: another tenant's object is
 * a 404, never a 403. Task deliveries are owned (sent, retried, logged) by the task's
 * Durable Object; the only deliveries the Worker sends itself are `webhook.test` ones.
 */

const tags = ["Webhooks"];
const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });

const EndpointIdParam = z.object({
  id: z.string().min(1).openapi({ param: { name: "id", in: "path" }, example: "wh_0a1b2c3d4e5f6g7h8j9k" }),
});
const TaskIdParam = z.object({
  id: z.string().min(1).openapi({ param: { name: "id", in: "path" }, description: "Relay id (task_…) or upstream taskid" }),
});
const DeliveryIdParam = z.object({
  id: z.string().min(1).openapi({ param: { name: "id", in: "path" }, example: "dlv_0a1b2c3d4e5f6g7h8j9k" }),
});
const ListQuery = z.object({ ...PaginationQuery });

// ---------------------------------------------------------------- route declarations

const getDefaultSecretRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/default/secret",
  tags,
  summary: "The secret that signs webhooks given on tasks (created on first use)",
  security: bearerSecurity,
  responses: { 200: { description: "The current secret", content: json(DefaultSecretSchema) }, ...errorResponses(401) },
});

const rotateDefaultSecretRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/default/secret/rotate",
  tags,
  summary: "Rotate the default secret; the old one keeps signing beside it for 24 h",
  security: bearerSecurity,
  responses: { 200: { description: "The new secret", content: json(RotatedDefaultSecretSchema) }, ...errorResponses(401) },
});

const createEndpointRoute = createRoute({
  method: "post",
  path: "/v1/webhooks",
  tags,
  summary: "Register an endpoint for all the caller's tasks; the answer is the only time its secret is shown (until a rotation)",
  security: bearerSecurity,
  request: { body: { required: true, content: json(CreateEndpointBodySchema) } },
  responses: { 201: { description: "The endpoint, with its secret", content: json(EndpointWithSecretSchema) }, ...errorResponses(400, 401) },
});

const listEndpointsRoute = createRoute({
  method: "get",
  path: "/v1/webhooks",
  tags,
  summary: "The caller's endpoints, newest first",
  security: bearerSecurity,
  request: { query: ListQuery },
  responses: { 200: { description: "A page of endpoints", content: json(EndpointListSchema) }, ...errorResponses(400, 401) },
});

const getEndpointRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "An endpoint",
  security: bearerSecurity,
  request: { params: EndpointIdParam },
  responses: { 200: { description: "The endpoint", content: json(EndpointSchema) }, ...errorResponses(401, 404) },
});

const updateEndpointRoute = createRoute({
  method: "patch",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Change an endpoint's url, events, description or enabled flag",
  security: bearerSecurity,
  request: { params: EndpointIdParam, body: { required: true, content: json(UpdateEndpointBodySchema) } },
  responses: { 200: { description: "The endpoint", content: json(EndpointSchema) }, ...errorResponses(400, 401, 404) },
});

const deleteEndpointRoute = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Delete an endpoint (its pending deliveries stop; the log stays readable by delivery id)",
  security: bearerSecurity,
  request: { params: EndpointIdParam },
  responses: { 200: { description: "Deleted", content: json(DeletedEndpointSchema) }, ...errorResponses(401, 404) },
});

const rotateEndpointSecretRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  tags,
  summary: "Rotate an endpoint's secret; the old one keeps signing beside it for 24 h",
  security: bearerSecurity,
  request: { params: EndpointIdParam },
  responses: { 200: { description: "The endpoint, with its new secret", content: json(RotatedEndpointSchema) }, ...errorResponses(401, 404) },
});

const testEndpointRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/test",
  tags,
  summary: "Send a `webhook.test` event to the endpoint now (one attempt, no retries)",
  description:
    "Answers 201 with the new delivery and its attempt whatever the receiver said: the outcome is the delivery's `status` and the attempt's `status_code`. A disabled endpoint is tested too (useful before re-enabling it).",
  security: bearerSecurity,
  request: { params: EndpointIdParam },
  responses: { 201: { description: "The test delivery", content: json(DeliverySchema) }, ...errorResponses(401, 404) },
});

const endpointDeliveriesRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  tags,
  summary: "Deliveries to an endpoint, newest first, each with every attempt",
  security: bearerSecurity,
  request: { params: EndpointIdParam, query: ListQuery },
  responses: { 200: { description: "A page of deliveries", content: json(DeliveryListSchema) }, ...errorResponses(400, 401, 404) },
});

const taskDeliveriesRoute = createRoute({
  method: "get",
  path: "/v1/tasks/{id}/deliveries",
  tags,
  summary: "Deliveries of a task's events, newest first, each with every attempt",
  security: bearerSecurity,
  request: { params: TaskIdParam, query: ListQuery },
  responses: { 200: { description: "A page of deliveries", content: json(DeliveryListSchema) }, ...errorResponses(400, 401, 404) },
});

const redeliverRoute = createRoute({
  method: "post",
  path: "/v1/deliveries/{id}/redeliver",
  tags,
  summary: "Send a delivery again now, with the same webhook-id",
  description:
    "The attempt is made before the answer (200, not 202): the body is the delivery with the new attempt last in `attempts`. A delivery that already succeeded stays `succeeded` if the new attempt fails.",
  security: bearerSecurity,
  request: { params: DeliveryIdParam },
  responses: { 200: { description: "The delivery, with the new attempt", content: json(DeliverySchema) }, ...errorResponses(401, 404, 409) },
});

// ---------------------------------------------------------------- helpers

function endpointNotFound(id: string): ApiError {
  return new ApiError("not_found", `No webhook endpoint ${id}.`, { param: "id", detailCode: "webhook_not_found" });
}

async function endpointOr404(db: D1Database, tenant: string, id: string): Promise<EndpointRow> {
  const row = await getEndpoint(db, tenant, id);
  if (!row) throw endpointNotFound(id);
  return row;
}

/** Order kept, duplicates dropped; the schema has already refused unknown names. */
function eventsJson(events: readonly SubscribableEventType[] | undefined): string {
  return JSON.stringify([...new Set(events ?? SUBSCRIBABLE_EVENT_TYPES)]);
}

async function deliveriesPage(db: D1Database, rows: DeliveryRow[], limit: number) {
  const shown = rows.slice(0, limit);
  const attempts = await attemptsFor(db, shown.map((r) => r.id));
  return page(rows, limit, (r) => rowToDelivery(r, attempts), (r) => ({ createdAt: r.created_at, id: r.id }));
}

async function loadDelivery(db: D1Database, tenant: string, id: string): Promise<Delivery> {
  const row = await getDelivery(db, tenant, id);
  if (!row) throw new ApiError("not_found", `No delivery ${id}.`, { param: "id", detailCode: "delivery_not_found" });
  return rowToDelivery(row, await attemptsFor(db, [row.id]));
}

const TEST_MESSAGE = "A test event from the Yuanjing relay: your endpoint is reachable and can verify our signature.";

/**
 * The body of a `webhook.test` event. Test events have no task (and no Durable Object)
 * to keep their body, so instead of storing it the body is a pure function of what the
 * delivery row already holds (event id, created_at, endpoint id): a redelivery rebuilds
 * the very same bytes, as Standard Webhooks receivers deduplicating on webhook-id expect.
 * Change nothing here without keeping old deliveries' bodies identical.
 */
export function testEventBody(eventId: string, createdAt: string, endpointId: string): string {
  const event: WebhookEvent<{ object: "webhook_test"; webhook_id: string; message: string }> = {
    id: eventId,
    type: "webhook.test",
    created_at: createdAt,
    data: { object: "webhook_test", webhook_id: endpointId, message: TEST_MESSAGE },
  };
  return JSON.stringify(event);
}

function failedBeforeSending(error: string): AttemptResult {
  return { ok: false, statusCode: null, durationMs: 0, error, responseSnippet: null, retryAfterMs: null, gone: false, permanent: true };
}

async function sendTest(config: RelayConfig, endpoint: EndpointRow, body: string, eventId: string): Promise<AttemptResult> {
  const secrets = liveSecrets(await endpointSecrets(config.keyEncryptionSecret, endpoint), Date.now());
  return attemptDelivery({
    url: endpoint.url,
    eventId,
    body,
    secrets,
    timeoutMs: config.webhookTimeoutMs,
    allowPrivate: config.webhookAllowPrivate,
  });
}

/**
 * Logs one Worker-made attempt (test or test redelivery) and the delivery's new state in
 * one batch. Test deliveries are never retried on a schedule: a failed one stays failed
 * until redelivered. Like the task side, a 410 disables the endpoint, and a delivery that
 * once succeeded stays succeeded.
 */
async function recordAttempt(
  db: D1Database,
  delivery: DeliveryRow,
  attempt: number,
  trigger: AttemptRow["trigger"],
  attemptedAt: string,
  result: AttemptResult,
): Promise<void> {
  const now = new Date().toISOString();
  const status: DeliveryRow["status"] = result.ok
    ? "succeeded"
    : result.gone
      ? "gone"
      : delivery.status === "succeeded"
        ? "succeeded"
        : "failed";
  const statements = [
    upsertDeliveryStatement(db, {
      ...delivery,
      status,
      attempts: attempt,
      next_attempt_at: null,
      last_status_code: result.statusCode,
      last_error: result.error,
      updated_at: now,
    }),
    insertAttemptStatement(db, attemptLogRow({ deliveryId: delivery.id, tenant: delivery.tenant, attempt, trigger, attemptedAt }, result)),
  ];
  if (result.gone && delivery.endpoint_id) statements.push(disableEndpointStatement(db, delivery.endpoint_id, "receiver answered 410 Gone", now));
  await db.batch(statements);
}

// ---------------------------------------------------------------- handlers

export const webhookRoutes = createRouter();

webhookRoutes.openapi(getDefaultSecretRoute, async (c) => {
  const pair = await tenantSecrets(c.env.DB, c.get("config").keyEncryptionSecret, c.get("caller").tenant);
  // Both names, same value: `secret` is ours, `key` is Replicate's (drop-in clients).
  return c.json({ secret: pair.current, key: pair.current }, 200);
});

webhookRoutes.openapi(rotateDefaultSecretRoute, async (c) => {
  const pair = await rotateTenantDefaultSecret(c.env.DB, c.get("config").keyEncryptionSecret, c.get("caller").tenant, Date.now());
  return c.json({ secret: pair.current, key: pair.current, previous_secret_expires_at: pair.previousExpiresAt ?? "" }, 200);
});

webhookRoutes.openapi(createEndpointRoute, async (c) => {
  const body = c.req.valid("json");
  const config = c.get("config");
  const url = assertWebhookUrl(body.url, { allowPrivate: config.webhookAllowPrivate }, "url");
  const secret = generateWebhookSecret();
  const now = new Date().toISOString();
  const row: EndpointRow = {
    id: newId("wh"),
    tenant: c.get("caller").tenant,
    url: url.href,
    description: body.description ?? null,
    events_json: eventsJson(body.events),
    enabled: 1,
    secret_sealed: await seal(config.keyEncryptionSecret, "webhook-secret", secret),
    previous_secret_sealed: null,
    previous_expires_at: null,
    disabled_reason: null,
    created_at: now,
    updated_at: now,
  };
  await insertEndpoint(c.env.DB, row);
  return c.json({ ...rowToEndpoint(row), secret }, 201);
});

webhookRoutes.openapi(listEndpointsRoute, async (c) => {
  const q = c.req.valid("query");
  const rows = await listEndpoints(c.env.DB, c.get("caller").tenant, q.limit + 1, decodeCursor(q.cursor));
  return c.json(page(rows, q.limit, rowToEndpoint, (r) => ({ createdAt: r.created_at, id: r.id })), 200);
});

webhookRoutes.openapi(getEndpointRoute, async (c) => {
  const { id } = c.req.valid("param");
  return c.json(rowToEndpoint(await endpointOr404(c.env.DB, c.get("caller").tenant, id)), 200);
});

webhookRoutes.openapi(updateEndpointRoute, async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const tenant = c.get("caller").tenant;
  const db = c.env.DB;
  // Validate everything before looking the endpoint up: the answer to a bad body is the
  // same 400 whether or not the id exists (no probing through error order).
  const url = body.url === undefined ? undefined : assertWebhookUrl(body.url, { allowPrivate: c.get("config").webhookAllowPrivate }, "url").href;
  await endpointOr404(db, tenant, id);
  const patch: Parameters<typeof updateEndpoint>[3] = {
    url,
    events_json: body.events === undefined ? undefined : eventsJson(body.events),
    description: body.description,
    enabled: body.enabled === undefined ? undefined : body.enabled ? 1 : 0,
    // Re-enabling clears why it was disabled; disabling by hand keeps any earlier reason
    // (e.g. a 410) and otherwise leaves it null: null with enabled=false means "by you".
    disabled_reason: body.enabled === true ? null : undefined,
  };
  if (Object.values(patch).some((v) => v !== undefined)) await updateEndpoint(db, tenant, id, patch, new Date().toISOString());
  return c.json(rowToEndpoint(await endpointOr404(db, tenant, id)), 200);
});

webhookRoutes.openapi(deleteEndpointRoute, async (c) => {
  const { id } = c.req.valid("param");
  if (!(await deleteEndpoint(c.env.DB, c.get("caller").tenant, id))) throw endpointNotFound(id);
  return c.json({ id, object: "webhook_endpoint" as const, deleted: true as const }, 200);
});

webhookRoutes.openapi(rotateEndpointSecretRoute, async (c) => {
  const { id } = c.req.valid("param");
  const tenant = c.get("caller").tenant;
  const db = c.env.DB;
  const row = await endpointOr404(db, tenant, id);
  const secret = generateWebhookSecret();
  const nowMs = Date.now();
  const expiresAt = new Date(nowMs + ROTATION_OVERLAP_MS).toISOString();
  await updateEndpoint(
    db,
    tenant,
    id,
    {
      secret_sealed: await seal(c.get("config").keyEncryptionSecret, "webhook-secret", secret),
      previous_secret_sealed: row.secret_sealed,
      previous_expires_at: expiresAt,
    },
    new Date(nowMs).toISOString(),
  );
  const updated = await endpointOr404(db, tenant, id);
  return c.json({ ...rowToEndpoint(updated), secret, previous_secret_expires_at: expiresAt }, 200);
});

webhookRoutes.openapi(testEndpointRoute, async (c) => {
  const { id } = c.req.valid("param");
  const tenant = c.get("caller").tenant;
  const db = c.env.DB;
  const endpoint = await endpointOr404(db, tenant, id);
  const now = new Date().toISOString();
  const delivery: DeliveryRow = {
    id: newId("dlv"),
    tenant,
    task_id: null,
    endpoint_id: endpoint.id,
    url: endpoint.url,
    event_id: newId("evt"),
    event_type: "webhook.test",
    status: "pending",
    attempts: 0,
    next_attempt_at: null,
    last_status_code: null,
    last_error: null,
    created_at: now,
    updated_at: now,
  };
  const result = await sendTest(c.get("config"), endpoint, testEventBody(delivery.event_id, now, endpoint.id), delivery.event_id);
  await recordAttempt(db, delivery, 1, "test", now, result);
  return c.json(await loadDelivery(db, tenant, delivery.id), 201);
});

webhookRoutes.openapi(endpointDeliveriesRoute, async (c) => {
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const tenant = c.get("caller").tenant;
  const before = decodeCursor(q.cursor);
  await endpointOr404(c.env.DB, tenant, id);
  const rows = await listDeliveries(c.env.DB, tenant, { endpointId: id }, q.limit + 1, before);
  return c.json(await deliveriesPage(c.env.DB, rows, q.limit), 200);
});

webhookRoutes.openapi(taskDeliveriesRoute, async (c) => {
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const tenant = c.get("caller").tenant;
  const before = decodeCursor(q.cursor);
  const task = await findTask(c.env.DB, tenant, id);
  if (!task) throw new ApiError("not_found", `No task ${id}.`, { param: "id", detailCode: "task_not_found" });
  const rows = await listDeliveries(c.env.DB, tenant, { taskId: task.id }, q.limit + 1, before);
  return c.json(await deliveriesPage(c.env.DB, rows, q.limit), 200);
});

webhookRoutes.openapi(redeliverRoute, async (c) => {
  const { id } = c.req.valid("param");
  const tenant = c.get("caller").tenant;
  const db = c.env.DB;
  const delivery = await getDelivery(db, tenant, id);
  if (!delivery) throw new ApiError("not_found", `No delivery ${id}.`, { param: "id", detailCode: "delivery_not_found" });

  if (delivery.task_id !== null) {
    // The task's Durable Object owns its deliveries: it re-sends with the stored event,
    // logs the attempt and writes it to D1 before answering.
    const done = await trackerFor(c.env, delivery.task_id).redeliver(delivery.id);
    if (!done) {
      throw new ApiError("conflict", `Delivery ${id} can no longer be sent: its task no longer holds the event.`, {
        param: "id",
        detailCode: "delivery_not_redeliverable",
      });
    }
    return c.json(await loadDelivery(db, tenant, id), 200);
  }

  if (delivery.event_type !== "webhook.test" || delivery.endpoint_id === null) {
    throw new ApiError("conflict", `Delivery ${id} can no longer be sent.`, { param: "id", detailCode: "delivery_not_redeliverable" });
  }
  const attemptedAt = new Date().toISOString();
  const attempt = await claimAttemptNumber(db, tenant, id, attemptedAt);
  if (attempt === null) throw new ApiError("not_found", `No delivery ${id}.`, { param: "id", detailCode: "delivery_not_found" });
  // Same rules as a task redelivery: the endpoint's current URL and secrets, and no
  // sending to a deleted or disabled endpoint (the attempt is logged as failed instead).
  const endpoint = await getEndpoint(db, tenant, delivery.endpoint_id);
  let result: AttemptResult;
  if (!endpoint) result = failedBeforeSending("endpoint deleted");
  else if (!endpoint.enabled) result = failedBeforeSending(`endpoint disabled${endpoint.disabled_reason ? `: ${endpoint.disabled_reason}` : ""}`);
  else result = await sendTest(c.get("config"), endpoint, testEventBody(delivery.event_id, delivery.created_at, delivery.endpoint_id), delivery.event_id);
  await recordAttempt(db, { ...delivery, url: endpoint?.url ?? delivery.url }, attempt, "redeliver", attemptedAt, result);
  return c.json(await loadDelivery(db, tenant, id), 200);
});
