import { newId } from "../lib/ids";
import { insertChatCall, type ChatCallRecord } from "../usage/storage";
import type { ChatUsage } from "./schemas";

/**
 * Records one chat call for the tenant after the response is on its way (waitUntil), so
 * bookkeeping never adds latency to the relay. A failed write is retried once, then logged.
 */
export interface ChatCallResult {
  status: ChatCallRecord["status"];
  httpStatus: number | null;
  error?: string | null;
  usage?: ChatUsage | undefined;
  llmusageid?: string | undefined;
  firstByteAt?: number | undefined;
}

export function recordChatCall(
  ctx: { waitUntil(promise: Promise<unknown>): void },
  db: D1Database,
  base: { tenant: string; route: ChatCallRecord["route"]; model: string; stream: boolean; startedAt: number },
  result: ChatCallResult,
): void {
  const now = Date.now();
  const record: ChatCallRecord = {
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
  };
  ctx.waitUntil(
    insertChatCall(db, record)
      .catch(() => insertChatCall(db, record))
      .catch((err: unknown) => {
        console.error(JSON.stringify({ level: "error", msg: "chat usage not recorded", id: record.id, error: String(err) }));
      }),
  );
}
