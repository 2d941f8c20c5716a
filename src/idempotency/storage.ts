/** Idempotency-Key records (D1). One row per (tenant, key), valid 24 h. */
export interface IdempotencyRow {
  tenant: string;
  key: string;
  route: string;
  body_hash: string;
  state: "pending" | "done";
  status_code: number | null;
  response_json: string | null;
  created_at: string;
  expires_at: string;
}

export function getIdempotency(db: D1Database, tenant: string, key: string): Promise<IdempotencyRow | null> {
  return db.prepare("SELECT * FROM idempotency_keys WHERE tenant = ? AND key = ?").bind(tenant, key).first<IdempotencyRow>();
}

/** Claims the key; false when another request holds it already. */
export async function claimIdempotency(db: D1Database, row: Omit<IdempotencyRow, "state" | "status_code" | "response_json">): Promise<boolean> {
  const result = await db
    .prepare(
      `INSERT INTO idempotency_keys (tenant, key, route, body_hash, state, created_at, expires_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (tenant, key) DO NOTHING`,
    )
    .bind(row.tenant, row.key, row.route, row.body_hash, row.created_at, row.expires_at)
    .run();
  return (result.meta.changes ?? 0) > 0;
}

export async function completeIdempotency(db: D1Database, tenant: string, key: string, status: number, responseJson: string): Promise<void> {
  await db
    .prepare("UPDATE idempotency_keys SET state = 'done', status_code = ?, response_json = ? WHERE tenant = ? AND key = ?")
    .bind(status, responseJson, tenant, key)
    .run();
}

export async function releaseIdempotency(db: D1Database, tenant: string, key: string): Promise<void> {
  await db.prepare("DELETE FROM idempotency_keys WHERE tenant = ? AND key = ? AND state = 'pending'").bind(tenant, key).run();
}

export async function deleteExpiredIdempotency(db: D1Database, tenant: string, key: string, now: string): Promise<void> {
  await db.prepare("DELETE FROM idempotency_keys WHERE tenant = ? AND key = ? AND expires_at <= ?").bind(tenant, key, now).run();
}
