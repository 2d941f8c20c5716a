import { newId } from "../lib/ids";
import { chatCallStatement, type ChatCallRecord } from "../usage/storage";
import type { ChatUsage } from "./schemas";

/**
 * Records chat calls for the tenant after the response is on its way (waitUntil), so
 * bookkeeping never adds latency to the relay.
 *
 * Records are queued per isolate and written in batches: each call's waitUntil waits
 * FLUSH_AFTER_MS, then writes whatever is queued (its own record included, unless an
 * earlier call's flush already took it) in one D1 batch. Under load that turns many small
 * write transactions into a few, which matters on D1's single writer; measured locally it
 * roughly halved the relay's CPU per call (BENCHMARKS.md). A failed batch is retried once,
 * then logged.
 */
export interface ChatCallResult {
  status: ChatCallRecord["status"];
  httpStatus: number | null;
  error?: string | null;
  usage?: ChatUsage | undefined;
  llmusageid?: string | undefined;
  firstByteAt?: number | undefined;
}

const FLUSH_AFTER_MS = 10;
const MAX_BATCH = 100;
const pending: ChatCallRecord[] = [];

export function recordChatCall(
  ctx: { waitUntil(promise: Promise<unknown>): void },
  db: D1Database,
  base: { tenant: string; route: ChatCallRecord["route"]; model: string; stream: boolean; startedAt: number },
  result: ChatCallResult,
): void {
  const now = Date.now();
  pending.push({
    id: newId("chat"),
    tenant: base.tenant,
    route: base.route,
    model: base.model,
    stream: base.stream,
    status: result.status,
    httpStatus: result.httpStatus,
    error: result.error ?? null,
    promptTokens: result.usage?.prompt_tokens ?? 0,
    completionTokens: result.usage?.completion_tokens ?? 0,
    totalTokens: result.usage?.total_tokens ?? 0,
    llmusageid: result.llmusageid ?? null,
    ttfbMs: result.firstByteAt !== undefined ? result.firstByteAt - base.startedAt : null,
    totalMs: now - base.startedAt,
    createdAt: new Date(base.startedAt).toISOString(),
  });
  ctx.waitUntil(flushSoon(db));
}

async function flushSoon(db: D1Database): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS));
  while (pending.length > 0) {
    const rows = pending.splice(0, MAX_BATCH);
    const statements = rows.map((r) => chatCallStatement(db, r));
    await db
      .batch(statements)
      .catch(() => db.batch(statements))
      .catch((err: unknown) => {
        console.error(JSON.stringify({ level: "error", msg: "chat usage not recorded", count: rows.length, error: String(err) }));
      });
  }
}
