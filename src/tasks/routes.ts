import { createRoute, z } from "@hono/zod-openapi";
import { ApiError, invalidParam } from "../errors/api-error";
import { newId } from "../lib/ids";
import { bearerSecurity, errorResponses, ListMetaShape } from "../http/openapi";
import { decodeCursor, page, PaginationQuery } from "../http/pagination";
import { createRouter } from "../http/router";
import { readJson, upstreamFetch, upstreamHttpError } from "../upstream/client";
import { SUBSCRIBABLE_EVENT_TYPES } from "../webhooks/events";
import { getTaskForTenant, startTracking, trackerFor } from "./service";
import { findTask, listTasks, rowToTask } from "./storage";
import { TASK_STATUSES, TaskSchema, type Task } from "./task-object";
import { isNotExist, parseUpstreamTaskAnswer } from "./upstream-status";
import { taskWebhookFrom } from "./webhook-spec";

const MAX_WAIT_S = 60;

/** `Prefer: wait=N` (RFC 7240), N capped at 60 s. */
function preferredWaitSeconds(header: string | undefined): number {
  if (!header) return 0;
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d+)"?/i.exec(header);
  if (!match?.[1]) return 0;
  return Math.min(MAX_WAIT_S, Number(match[1]));
}

const IdParam = z.object({
  id: z.string().min(1).openapi({ param: { name: "id", in: "path" }, description: "Relay id (task_…) or upstream taskid", example: "task_0a1b2c3d4e5f6g7h8j9k" }),
});

const getTask = createRoute({
  method: "get",
  path: "/v1/tasks/{id}",
  tags: ["Tasks"],
  summary: "A task, from the relay's records (no upstream call); `Prefer: wait=N` holds until it is terminal",
  security: bearerSecurity,
  request: {
    params: IdParam,
    headers: z.object({ prefer: z.string().optional().openapi({ example: "wait=30" }) }),
  },
  responses: {
    200: { description: "The task", content: { "application/json": { schema: TaskSchema } } },
    ...errorResponses(401, 404),
  },
});

const TaskListSchema = z.object({ ...ListMetaShape, data: z.array(TaskSchema) }).openapi("TaskList");

const listTasksRoute = createRoute({
  method: "get",
  path: "/v1/tasks",
  tags: ["Tasks"],
  summary: "The caller's tasks, newest first",
  security: bearerSecurity,
  request: {
    query: z.object({
      status: z.enum(TASK_STATUSES).optional(),
      model: z.string().optional().openapi({ description: "A model name or llmid" }),
      ...PaginationQuery,
    }),
  },
  responses: {
    200: { description: "A page of tasks", content: { "application/json": { schema: TaskListSchema } } },
    ...errorResponses(400, 401),
  },
});

const NativeTaskAnswerSchema = z
  .object({
    status: z.string(),
    taskid: z.string().nullable(),
    usage: z.record(z.string(), z.unknown()).nullable(),
    image: z.string().nullable(),
    video: z.string().nullable(),
    error: z.string().optional(),
  })
  .openapi("NativeTaskAnswer");

const nativeTaskRoute = (method: "get" | "post") =>
  createRoute({
    method,
    path: "/llmage/tasks",
    tags: ["Tasks"],
    summary: "Native task status (drop-in for the upstream's), answered from the relay's records",
    security: bearerSecurity,
    request: { query: z.object({ taskid: z.string().optional() }) },
    responses: {
      200: { description: "The upstream's own result shape", content: { "application/json": { schema: NativeTaskAnswerSchema } } },
      ...errorResponses(400, 401, 404),
    },
  });

const WebhookEventsSchema = z.array(z.enum(SUBSCRIBABLE_EVENT_TYPES)).min(1);
const MetadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, "metadata holds at most 16 pairs");

const WatchBodySchema = z
  .object({
    taskid: z.string().min(1).openapi({ example: "936759404378734592" }),
    webhook: z.string().optional(),
    webhook_events: WebhookEventsSchema.optional(),
    metadata: MetadataSchema.optional(),
    model: z.string().optional(),
    llmid: z.string().optional(),
  })
  .openapi("WatchRequest");

const watchRoute = createRoute({
  method: "post",
  path: "/v1/tasks/watch",
  tags: ["Tasks"],
  summary: "Track a task submitted straight to the upstream (with the caller's key)",
  security: bearerSecurity,
  request: { body: { required: true, content: { "application/json": { schema: WatchBodySchema } } } },
  responses: {
    200: { description: "Already tracked: the existing task", content: { "application/json": { schema: TaskSchema } } },
    202: { description: "Now tracked", content: { "application/json": { schema: TaskSchema } } },
    ...errorResponses(400, 401, 404, 502),
  },
});

const addWebhookRoute = createRoute({
  method: "post",
  path: "/v1/tasks/{id}/webhooks",
  tags: ["Tasks"],
  summary: "Add a webhook to a task (a terminal task's event is delivered at once)",
  security: bearerSecurity,
  request: {
    params: IdParam,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ url: z.string(), events: WebhookEventsSchema.optional() }).openapi("AddTaskWebhook"),
        },
      },
    },
  },
  responses: {
    200: { description: "The task with its webhooks", content: { "application/json": { schema: TaskSchema } } },
    ...errorResponses(400, 401, 404),
  },
});

export const taskRoutes = createRouter();

taskRoutes.openapi(getTask, async (c) => {
  const { id } = c.req.valid("param");
  const wait = preferredWaitSeconds(c.req.header("prefer"));
  const task = await getTaskForTenant(c.env, c.get("caller").tenant, id, wait * 1000);
  if (wait > 0) c.header("preference-applied", `wait=${wait}`);
  return c.json(task, 200);
});

taskRoutes.openapi(listTasksRoute, async (c) => {
  const q = c.req.valid("query");
  const rows = await listTasks(c.env.DB, {
    tenant: c.get("caller").tenant,
    status: q.status,
    model: q.model,
    limit: q.limit + 1,
    before: decodeCursor(q.cursor),
  });
  return c.json(page(rows, q.limit, rowToTask, (r) => ({ createdAt: r.created_at, id: r.id })), 200);
});

function nativeAnswer(task: Task): z.infer<typeof NativeTaskAnswerSchema> {
  const status =
    task.status === "succeeded" ? "SUCCEEDED" : task.status === "failed" || task.status === "expired" ? "FAILED" : (task.upstream_status ?? "CREATED");
  return {
    status,
    taskid: task.upstream_taskid,
    usage: task.usage,
    image: task.cover_url,
    video: task.video_url,
    ...(task.error ? { error: task.error.message } : {}),
  };
}

async function taskidFromBody(request: Request): Promise<string | undefined> {
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  let value: unknown;
  if (type.includes("multipart/form-data") || type.includes("application/x-www-form-urlencoded")) {
    value = (await request.formData().catch(() => null))?.get("taskid") ?? undefined;
  } else {
    const body = await request.json<unknown>().catch(() => null);
    value = body && typeof body === "object" ? (body as Record<string, unknown>).taskid : undefined;
  }
  return typeof value === "string" && value !== "" ? value : typeof value === "number" ? String(value) : undefined;
}

for (const method of ["get", "post"] as const) {
  taskRoutes.openapi(nativeTaskRoute(method), async (c) => {
    let taskid = c.req.valid("query").taskid;
    // Like the upstream: POST reads the body (JSON or form) and the query string; the body wins.
    if (method === "post") {
      const fromBody = await taskidFromBody(c.req.raw);
      if (fromBody) taskid = fromBody;
    }
    if (!taskid) throw invalidParam("taskid", "taskid is required (query string, or a JSON or form body for POST).");
    const task = await getTaskForTenant(c.env, c.get("caller").tenant, taskid);
    return c.json(nativeAnswer(task), 200);
  });
}

taskRoutes.openapi(watchRoute, async (c) => {
  const body = c.req.valid("json");
  const caller = c.get("caller");
  const config = c.get("config");
  const existing = await findTask(c.env.DB, caller.tenant, body.taskid);
  if (existing) return c.json(await getTaskForTenant(c.env, caller.tenant, existing.id), 200);
  const webhooks = body.webhook
    ? [taskWebhookFrom(body.webhook, body.webhook_events, config.webhookAllowPrivate, { url: "webhook", events: "webhook_events" })]
    : [];
  // One look upstream first: a wrong taskid or a key the upstream refuses is told now,
  // not discovered by a webhook two days later.
  const res = await upstreamFetch(config, {
    method: "GET",
    path: `/llmage/tasks?taskid=${encodeURIComponent(body.taskid)}`,
    key: caller.key,
    timeoutMs: 15_000,
  });
  const json = await readJson(res);
  if (!res.ok) throw upstreamHttpError(res.status, json);
  const answer = parseUpstreamTaskAnswer(json);
  if (!answer) throw new ApiError("upstream_error", "The upstream's task answer could not be read.", { detailCode: "upstream_malformed" });
  if (isNotExist(answer)) throw new ApiError("not_found", `The upstream has no task ${body.taskid}.`, { param: "taskid", detailCode: "upstream_task_not_found" });
  const task = await startTracking(c.env, {
    id: newId("task"),
    tenant: caller.tenant,
    key: caller.key,
    source: "watch",
    upstreamTaskid: body.taskid,
    upstreamStatus: answer.status,
    initialAnswer: answer,
    model: body.model ?? (typeof answer.usage?.model === "string" ? answer.usage.model : null),
    llmid: body.llmid ?? null,
    mode: null,
    metadata: body.metadata ?? {},
    webhooks,
  });
  return c.json(task, 202);
});

taskRoutes.openapi(addWebhookRoute, async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const caller = c.get("caller");
  const row = await findTask(c.env.DB, caller.tenant, id);
  if (!row) throw new ApiError("not_found", `No task ${id}.`, { param: "id", detailCode: "task_not_found" });
  const webhook = taskWebhookFrom(body.url, body.events, c.get("config").webhookAllowPrivate, { url: "url", events: "events" });
  const task = await trackerFor(c.env, row.id).addWebhook(webhook);
  if (!task) throw new ApiError("not_found", `No task ${id}.`, { param: "id", detailCode: "task_not_found" });
  return c.json(task, 200);
});
