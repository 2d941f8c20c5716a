import { flatUsage, type Task, type TaskStatus, type VideoMode } from "./task-object";

/**
 * The tasks table: the queryable index of tasks. Only the task's Durable Object writes a
 * task's row (`upsertTaskStatement`), with its change counter guarding against a stale
 * write landing after a newer one. Reads are tenant-scoped: another tenant's task does not
 * exist as far as these functions are concerned.
 */
export type TaskSource = "v1" | "native" | "watch";

export interface TaskRow {
  id: string;
  tenant: string;
  upstream_taskid: string | null;
  source: TaskSource;
  model: string | null;
  llmid: string | null;
  mode: VideoMode | null;
  status: TaskStatus;
  upstream_status: string | null;
  video_url: string | null;
  cover_url: string | null;
  usage_json: string | null;
  credits: number | null;
  error_json: string | null;
  metadata_json: string;
  webhooks_json: string;
  timing_json: string | null;
  polls: number;
  d1_writes: number;
  version: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export function rowToTask(row: TaskRow): Task {
  return {
    id: row.id,
    object: "task",
    upstream_taskid: row.upstream_taskid,
    model: row.model,
    llmid: row.llmid,
    mode: row.mode,
    status: row.status,
    upstream_status: row.upstream_status,
    video_url: row.video_url,
    cover_url: row.cover_url,
    usage: row.usage_json ? flatUsage(JSON.parse(row.usage_json) as Record<string, unknown>) : null,
    error: row.error_json ? (JSON.parse(row.error_json) as Task["error"]) : null,
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    webhooks: JSON.parse(row.webhooks_json) as Task["webhooks"],
    created_at: row.created_at,
    updated_at: row.updated_at,
    completed_at: row.completed_at,
  };
}

export interface TaskRowInput {
  task: Task;
  tenant: string;
  source: TaskSource;
  timingJson: string | null;
  polls: number;
  d1Writes: number;
  version: number;
}

function credits(usage: Task["usage"]): number | null {
  const value = usage?.credits;
  return typeof value === "number" ? value : typeof value === "string" && value !== "" && !Number.isNaN(Number(value)) ? Number(value) : null;
}

export function upsertTaskStatement(db: D1Database, input: TaskRowInput): D1PreparedStatement {
  const t = input.task;
  return db
    .prepare(
      `INSERT INTO tasks (id, tenant, upstream_taskid, source, model, llmid, mode, status, upstream_status, video_url,
         cover_url, usage_json, credits, error_json, metadata_json, webhooks_json, timing_json, polls, version,
         created_at, updated_at, completed_at, d1_writes)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)
       ON CONFLICT (id) DO UPDATE SET
         upstream_taskid = excluded.upstream_taskid, status = excluded.status,
         upstream_status = excluded.upstream_status, video_url = excluded.video_url, cover_url = excluded.cover_url,
         usage_json = excluded.usage_json, credits = excluded.credits, error_json = excluded.error_json,
         webhooks_json = excluded.webhooks_json, timing_json = excluded.timing_json, polls = excluded.polls, d1_writes = excluded.d1_writes,
         version = excluded.version, updated_at = excluded.updated_at, completed_at = excluded.completed_at
       WHERE excluded.version > tasks.version`,
    )
    .bind(
      t.id,
      input.tenant,
      t.upstream_taskid,
      input.source,
      t.model,
      t.llmid,
      t.mode,
      t.status,
      t.upstream_status,
      t.video_url,
      t.cover_url,
      t.usage ? JSON.stringify(t.usage) : null,
      credits(t.usage),
      t.error ? JSON.stringify(t.error) : null,
      JSON.stringify(t.metadata),
      JSON.stringify(t.webhooks),
      input.timingJson,
      input.polls,
      input.version,
      t.created_at,
      t.updated_at,
      t.completed_at,
      input.d1Writes,
    );
}

/** By relay id or upstream taskid, within the tenant. */
export async function findTask(db: D1Database, tenant: string, idOrTaskid: string): Promise<TaskRow | null> {
  const column = idOrTaskid.startsWith("task_") ? "id" : "upstream_taskid";
  return db
    .prepare(`SELECT * FROM tasks WHERE tenant = ? AND ${column} = ? ORDER BY created_at DESC LIMIT 1`)
    .bind(tenant, idOrTaskid)
    .first<TaskRow>();
}

export interface TaskListQuery {
  tenant: string;
  status?: TaskStatus | undefined;
  model?: string | undefined;
  limit: number;
  /** Exclusive: tasks strictly older than this (created_at, id) position. */
  before?: { createdAt: string; id: string } | undefined;
}

export async function listTasks(db: D1Database, q: TaskListQuery): Promise<TaskRow[]> {
  const where = ["tenant = ?"];
  const params: unknown[] = [q.tenant];
  if (q.status) {
    where.push("status = ?");
    params.push(q.status);
  }
  if (q.model) {
    where.push("(model = ? OR llmid = ?)");
    params.push(q.model, q.model);
  }
  if (q.before) {
    where.push("(created_at < ? OR (created_at = ? AND id < ?))");
    params.push(q.before.createdAt, q.before.createdAt, q.before.id);
  }
  params.push(q.limit);
  const { results } = await db
    .prepare(`SELECT * FROM tasks WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ?`)
    .bind(...params)
    .all<TaskRow>();
  return results;
}

/** Timing of the model's recently finished tasks, for the poll schedule to learn from. */
export async function recentTimings(db: D1Database, llmid: string, limit = 200): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT timing_json FROM tasks WHERE llmid = ? AND status = 'succeeded' AND timing_json IS NOT NULL
       ORDER BY completed_at DESC LIMIT ?`,
    )
    .bind(llmid, limit)
    .all<{ timing_json: string }>();
  return results.map((r) => r.timing_json);
}
