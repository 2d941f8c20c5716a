import { seal, unseal } from "../lib/crypto";
import { generateWebhookSecret } from "./signing";
import { getTenantSecret, insertTenantSecretIfAbsent, rotateTenantSecret, type EndpointRow, type TenantSecretRow } from "./storage";

/**
 * Signing secrets at rest and in use. A rotation keeps the previous secret signing beside
 * the new one for ROTATION_OVERLAP_MS so receivers can switch without dropping events.
 */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export interface SecretPair {
  current: string;
  previous: string | null;
  previousExpiresAt: string | null;
}

type SealedPair = Pick<TenantSecretRow, "secret_sealed" | "previous_secret_sealed" | "previous_expires_at">;

export async function openSecrets(encryptionSecret: string, row: SealedPair): Promise<SecretPair> {
  const current = await unseal(encryptionSecret, "webhook-secret", row.secret_sealed);
  const previous = row.previous_secret_sealed
    ? await unseal(encryptionSecret, "webhook-secret", row.previous_secret_sealed)
    : null;
  return { current, previous, previousExpiresAt: row.previous_expires_at };
}

/** The secrets that sign right now: the current one, plus the previous within its overlap. */
export function liveSecrets(pair: SecretPair, nowMs: number): string[] {
  const live = [pair.current];
  if (pair.previous && pair.previousExpiresAt && Date.parse(pair.previousExpiresAt) > nowMs) live.push(pair.previous);
  return live;
}

/** The tenant's default secret, created on first use. */
export async function tenantSecrets(db: D1Database, encryptionSecret: string, tenant: string): Promise<SecretPair> {
  let row = await getTenantSecret(db, tenant);
  if (!row) {
    const sealed = await seal(encryptionSecret, "webhook-secret", generateWebhookSecret());
    await insertTenantSecretIfAbsent(db, tenant, sealed, new Date().toISOString());
    row = await getTenantSecret(db, tenant);
    if (!row) throw new Error("tenant secret vanished after insert");
  }
  return openSecrets(encryptionSecret, row);
}

export async function rotateTenantDefaultSecret(db: D1Database, encryptionSecret: string, tenant: string, nowMs: number): Promise<SecretPair> {
  const existing = await tenantSecrets(db, encryptionSecret, tenant);
  const row = await getTenantSecret(db, tenant);
  if (!row) throw new Error("tenant secret missing");
  const fresh = generateWebhookSecret();
  const expiresAt = new Date(nowMs + ROTATION_OVERLAP_MS).toISOString();
  await rotateTenantSecret(db, tenant, await seal(encryptionSecret, "webhook-secret", fresh), row.secret_sealed, expiresAt, new Date(nowMs).toISOString());
  return { current: fresh, previous: existing.current, previousExpiresAt: expiresAt };
}

export function endpointSecrets(encryptionSecret: string, row: EndpointRow): Promise<SecretPair> {
  return openSecrets(encryptionSecret, row);
}
