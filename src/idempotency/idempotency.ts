import { ApiError, invalidParam } from "../errors/api-error";
import { claimIdempotency, completeIdempotency, deleteExpiredIdempotency, getIdempotency, releaseIdempotency } from "./storage";

/**
 * `Idempotency-Key` for the submission routes (docs/API.md): for 24 h per tenant, a repeat
 * with the same key and the same request returns the first result (`idempotent-replayed:
 * true`) and submits nothing upstream; the same key with a different request is 409. A
 * first request that failed before the upstream took the job releases the key, so the
 * caller can simply retry.
 *
 * "The same request" is judged by a fingerprint of its content (fields and file digests),
 * not its raw bytes: a client library retrying a multipart upload picks a new boundary.
 */
const TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotentResult {
  status: number;
  body: unknown;
}

export interface IdempotencyContext {
  db: D1Database;
  tenant: string;
  route: string;
  key: string | undefined;
  fingerprint: string;
}

export async function runIdempotent(
  ctx: IdempotencyContext,
  run: () => Promise<IdempotentResult>,
): Promise<IdempotentResult & { replayed: boolean }> {
  if (ctx.key === undefined) return { ...(await run()), replayed: false };
  const key = ctx.key.trim();
  if (key === "" || key.length > 255) throw invalidParam("Idempotency-Key", "Idempotency-Key must be 1–255 characters.");
  const now = Date.now();
  await deleteExpiredIdempotency(ctx.db, ctx.tenant, key, new Date(now).toISOString());
  const claimed = await claimIdempotency(ctx.db, {
    tenant: ctx.tenant,
    key,
    route: ctx.route,
    body_hash: ctx.fingerprint,
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + TTL_MS).toISOString(),
  });
  if (!claimed) {
    const existing = await getIdempotency(ctx.db, ctx.tenant, key);
    if (!existing) throw new ApiError("conflict", "A request with this Idempotency-Key is being processed; retry shortly.", { param: "Idempotency-Key", detailCode: "idempotency_in_progress" });
    if (existing.body_hash !== ctx.fingerprint || existing.route !== ctx.route) {
      throw new ApiError("conflict", "This Idempotency-Key was already used with a different request.", {
        param: "Idempotency-Key",
        detailCode: "idempotency_key_reused",
      });
    }
    if (existing.state !== "done" || existing.status_code === null || existing.response_json === null) {
      throw new ApiError("conflict", "A request with this Idempotency-Key is still being processed; retry shortly.", {
        param: "Idempotency-Key",
        detailCode: "idempotency_in_progress",
      });
    }
    return { status: existing.status_code, body: JSON.parse(existing.response_json) as unknown, replayed: true };
  }
  let result: IdempotentResult;
  try {
    result = await run();
  } catch (err) {
    if (err instanceof ApiError && err.detailCode === "tracking_not_started") {
      // The upstream took (and charged for) the job: a retry must not submit it again.
      await completeIdempotency(ctx.db, ctx.tenant, key, err.status, JSON.stringify(err.toBody())).catch(() => {});
      throw err;
    }
    // Nothing was accepted upstream: free the key so the caller can simply retry.
    await releaseIdempotency(ctx.db, ctx.tenant, key).catch(() => {});
    throw err;
  }
  await completeIdempotency(ctx.db, ctx.tenant, key, result.status, JSON.stringify(result.body));
  return { ...result, replayed: false };
}
