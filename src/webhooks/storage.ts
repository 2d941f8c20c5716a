import type { SubscribableEventType } from "./events";

/**
 * D1 tables of the webhook side: the tenant's default secret, account endpoints, and the
 * delivery log (one delivery per event and destination, one attempt row per try).
 * Secrets are stored sealed (see secrets.ts); SQL lives here only.
 */
export interface TenantSecretRow {
  tenant: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_expires_at: string | null;
  created_at: string;
  rotated_at: string | null;
}

export interface EndpointRow {
  id: string;
  tenant: string;
  url: string;
  description: string | null;
  events_json: string;
  enabled: number;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_expires_at: string | null;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveryRow {
  id: string;
  tenant: string;
  task_id: string | null;
  endpoint_id: string | null;
  url: string;
  event_id: string;
  event_type: string;
  status: "pending" | "succeeded" | "failed" | "gone";
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface AttemptRow {
  id: string;
  delivery_id: string;
  tenant: string;
  attempt: number;
  trigger: "schedule" | "redeliver" | "test";
  attempted_at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_snippet: string | null;
}

// ---- tenant default secret ----

export function getTenantSecret(db: D1Database, tenant: string): Promise<TenantSecretRow | null> {
  return db.prepare("SELECT * FROM tenant_secrets WHERE tenant = ?").bind(tenant).first<TenantSecretRow>();
}

/** Inserts unless one exists (two first requests racing keep the same winner). */
export async function insertTenantSecretIfAbsent(db: D1Database, tenant: string, sealed: string, now: string): Promise<void> {
  await db
    .prepare("INSERT INTO tenant_secrets (tenant, secret_sealed, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant) DO NOTHING")
    .bind(tenant, sealed, now)
    .run();
}

export async function rotateTenantSecret(
  db: D1Database,
  tenant: string,
  newSealed: string,
  previousSealed: string,
  previousExpiresAt: string,
  now: string,
): Promise<void> {
  await db
    .prepare(
      `UPDATE tenant_secrets SET previous_secret_sealed = ?, previous_expires_at = ?, secret_sealed = ?, rotated_at = ?
       WHERE tenant = ?`,
    )
    .bind(previousSealed, previousExpiresAt, newSealed, now, tenant)
    .run();
}

// ---- endpoints ----

export async function insertEndpoint(db: D1Database, row: EndpointRow): Promise<void> {
  await db
    .prepare(
      `INSERT INTO webhook_endpoints (id, tenant, url, description, events_json, enabled, secret_sealed,
         previous_secret_sealed, previous_expires_at, disabled_reason, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      row.id,
      row.tenant,
      row.url,
      row.description,
      row.events_json,
      row.enabled,
      row.secret_sealed,
      row.previous_secret_sealed,
      row.previous_expires_at,
      row.disabled_reason,
      row.created_at,
      row.updated_at,
    )
    .run();
}

export function getEndpoint(db: D1Database, tenant: string, id: string): Promise<EndpointRow | null> {
  return db.prepare("SELECT * FROM webhook_endpoints WHERE tenant = ? AND id = ?").bind(tenant, id).first<EndpointRow>();
}

export async function listEndpoints(
  db: D1Database,
  tenant: string,
  limit: number,
  before?: { createdAt: string; id: string },
): Promise<EndpointRow[]> {
  const stmt = before
    ? db
        .prepare(
          `SELECT * FROM webhook_endpoints WHERE tenant = ? AND (created_at < ? OR (created_at = ? AND id < ?))
           ORDER BY created_at DESC, id DESC LIMIT ?`,
        )
        .bind(tenant, before.createdAt, before.createdAt, before.id, limit)
    : db.prepare("SELECT * FROM webhook_endpoints WHERE tenant = ? ORDER BY created_at DESC, id DESC LIMIT ?").bind(tenant, limit);
  const { results } = await stmt.all<EndpointRow>();
  return results;
}

/** Enabled endpoints of the tenant subscribed to `event`: the fan-out list of one task event. */
export async function endpointsFor(db: D1Database, tenant: string, event: SubscribableEventType): Promise<EndpointRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM webhook_endpoints WHERE tenant = ? AND enabled = 1
         AND EXISTS (SELECT 1 FROM json_each(events_json) WHERE value = ?)`,
    )
    .bind(tenant, event)
    .all<EndpointRow>();
  return results;
}

export async function updateEndpoint(
  db: D1Database,
  tenant: string,
  id: string,
  patch: Partial<Pick<EndpointRow, "url" | "description" | "events_json" | "enabled" | "disabled_reason" | "secret_sealed" | "previous_secret_sealed" | "previous_expires_at">>,
  now: string,
): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    sets.push(`${column} = ?`);
    params.push(value);
  }
  sets.push("updated_at = ?");
  params.push(now, tenant, id);
  await db.prepare(`UPDATE webhook_endpoints SET ${sets.join(", ")} WHERE tenant = ? AND id = ?`).bind(...params).run();
}

export async function deleteEndpoint(db: D1Database, tenant: string, id: string): Promise<boolean> {
  const result = await db.prepare("DELETE FROM webhook_endpoints WHERE tenant = ? AND id = ?").bind(tenant, id).run();
  return (result.meta.changes ?? 0) > 0;
}

/** 410 Gone from an endpoint: it stops receiving until the owner re-enables it. */
export function disableEndpointStatement(db: D1Database, id: string, reason: string, now: string): D1PreparedStatement {
  return db
    .prepare("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?")
    .bind(reason, now, id);
}

// ---- deliveries and attempts ----

/** The delivery's current state; `attempts` only ever grows, so a late stale write loses. */
export function upsertDeliveryStatement(db: D1Database, d: DeliveryRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deliveries (id, tenant, task_id, endpoint_id, url, event_id, event_type, status, attempts,
         next_attempt_at, last_status_code, last_error, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
         next_attempt_at = excluded.next_attempt_at, last_status_code = excluded.last_status_code,
         last_error = excluded.last_error, updated_at = excluded.updated_at
       WHERE excluded.attempts >= deliveries.attempts`,
    )
    .bind(
      d.id,
      d.tenant,
      d.task_id,
      d.endpoint_id,
      d.url,
      d.event_id,
      d.event_type,
      d.status,
      d.attempts,
      d.next_attempt_at,
      d.last_status_code,
      d.last_error,
      d.created_at,
      d.updated_at,
    );
}

export function insertAttemptStatement(db: D1Database, a: AttemptRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO delivery_attempts (id, delivery_id, tenant, attempt, trigger, attempted_at, status_code, duration_ms,
         error, response_snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    )
    .bind(a.id, a.delivery_id, a.tenant, a.attempt, a.trigger, a.attempted_at, a.status_code, a.duration_ms, a.error, a.response_snippet);
}

export function getDelivery(db: D1Database, tenant: string, id: string): Promise<DeliveryRow | null> {
  return db.prepare("SELECT * FROM deliveries WHERE tenant = ? AND id = ?").bind(tenant, id).first<DeliveryRow>();
}

export async function listDeliveries(
  db: D1Database,
  tenant: string,
  by: { taskId: string } | { endpointId: string },
  limit: number,
  before?: { createdAt: string; id: string },
): Promise<DeliveryRow[]> {
  const column = "taskId" in by ? "task_id" : "endpoint_id";
  const value = "taskId" in by ? by.taskId : by.endpointId;
  const params: unknown[] = [tenant, value];
  let cursor = "";
  if (before) {
    cursor = " AND (created_at < ? OR (created_at = ? AND id < ?))";
    params.push(before.createdAt, before.createdAt, before.id);
  }
  params.push(limit);
  const { results } = await db
    .prepare(`SELECT * FROM deliveries WHERE tenant = ? AND ${column} = ?${cursor} ORDER BY created_at DESC, id DESC LIMIT ?`)
    .bind(...params)
    .all<DeliveryRow>();
  return results;
}

export async function attemptsFor(db: D1Database, deliveryIds: string[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  // D1 binds at most 100 parameters per query.
  const out: AttemptRow[] = [];
  for (let i = 0; i < deliveryIds.length; i += 90) {
    const chunk = deliveryIds.slice(i, i + 90);
    const { results } = await db
      .prepare(
        `SELECT * FROM delivery_attempts WHERE delivery_id IN (${chunk.map(() => "?").join(",")})
         ORDER BY attempted_at, attempt`,
      )
      .bind(...chunk)
      .all<AttemptRow>();
    out.push(...results);
  }
  return out;
}

/**
 * Claims the next attempt number of a delivery the Worker sends itself (a `webhook.test`
 * redelivery; task deliveries are numbered by their Durable Object): two redeliveries
 * racing get distinct numbers. Null if the delivery is not the tenant's.
 */
export async function claimAttemptNumber(db: D1Database, tenant: string, id: string, now: string): Promise<number | null> {
  const row = await db
    .prepare("UPDATE deliveries SET attempts = attempts + 1, updated_at = ? WHERE tenant = ? AND id = ? RETURNING attempts")
    .bind(now, tenant, id)
    .first<{ attempts: number }>();
  return row?.attempts ?? null;
}
