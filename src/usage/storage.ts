/**
 * Usage records in D1: one row per chat call, and the reports built from them and from
 * the tasks table (video usage). SQL lives here only.
 */
export interface ChatCallRecord {
  id: string;
  tenant: string;
  route: "openai" | "native";
  model: string;
  stream: boolean;
  status: "succeeded" | "failed" | "cancelled";
  httpStatus: number | null;
  error: string | null;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  llmusageid: string | null;
  ttfbMs: number | null;
  totalMs: number | null;
  createdAt: string;
}

export function chatCallStatement(db: D1Database, r: ChatCallRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO chat_calls (id, tenant, route, model, stream, status, http_status, error, prompt_tokens,
         completion_tokens, total_tokens, llmusageid, ttfb_ms, total_ms, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    )
    .bind(
      r.id,
      r.tenant,
      r.route,
      r.model,
      r.stream ? 1 : 0,
      r.status,
      r.httpStatus,
      r.error,
      r.promptTokens,
      r.completionTokens,
      r.totalTokens,
      r.llmusageid,
      r.ttfbMs,
      r.totalMs,
      r.createdAt,
    );
}

export interface ChatUsageRow {
  model: string;
  day: string;
  calls: number;
  failed: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export async function chatUsage(db: D1Database, tenant: string, from: string, to: string): Promise<ChatUsageRow[]> {
  const { results } = await db
    .prepare(
      `SELECT model, substr(created_at, 1, 10) AS day, COUNT(*) AS calls,
         SUM(CASE WHEN status = 'succeeded' THEN 0 ELSE 1 END) AS failed,
         SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
         SUM(total_tokens) AS total_tokens
       FROM chat_calls WHERE tenant = ? AND created_at >= ? AND created_at < ?
       GROUP BY model, day ORDER BY day, model`,
    )
    .bind(tenant, from, to)
    .all<ChatUsageRow>();
  return results;
}

export interface VideoUsageRow {
  model: string;
  day: string;
  tasks: number;
  succeeded: number;
  failed: number;
  credits: number;
  seconds: number;
}

export async function videoUsage(db: D1Database, tenant: string, from: string, to: string): Promise<VideoUsageRow[]> {
  const { results } = await db
    .prepare(
      `SELECT COALESCE(model, llmid, 'unknown') AS model, substr(created_at, 1, 10) AS day, COUNT(*) AS tasks,
         SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
         SUM(CASE WHEN status IN ('failed', 'expired') THEN 1 ELSE 0 END) AS failed,
         COALESCE(SUM(credits), 0) AS credits,
         COALESCE(SUM(CASE WHEN status = 'succeeded' THEN CAST(json_extract(usage_json, '$.duration') AS REAL) END), 0) AS seconds
       FROM tasks WHERE tenant = ? AND created_at >= ? AND created_at < ?
       GROUP BY 1, day ORDER BY day, 1`,
    )
    .bind(tenant, from, to)
    .all<VideoUsageRow>();
  return results;
}
