import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, invalidParam } from "../errors/api-error";
import type { AppEnv } from "../http/app-env";
import { bearerSecurity, errorResponses } from "../http/openapi";
import { createRouter } from "../http/router";
import { runIdempotent } from "../idempotency/idempotency";
import { newId } from "../lib/ids";
import { startTracking } from "../tasks/service";
import type { TaskSource } from "../tasks/storage";
import { TaskSchema, type Task, type TaskWebhook } from "../tasks/task-object";
import { taskWebhookFrom } from "../tasks/webhook-spec";
import { readJson, upstreamFailure, upstreamFetch, upstreamHttpError } from "../upstream/client";
import { checkWebhookUrl } from "../webhooks/url-safety";
import { fingerprint, fingerprintFields } from "./fingerprint";
import type { MediaDeps } from "./media";
import { nativeFieldsFromForm, nativeFieldsFromJson, prepareNativeVideoRequest, type NativeFields } from "./native-request";
import { parseCanonicalVideoForm, parseCanonicalVideoJson, VideoRequestFormSchema, VideoRequestJsonSchema } from "./schemas";
import { buildUpstreamVideoRequest, encodeUpstreamBody, planVideoRequest, resolveVideoMedia, type UpstreamVideoRequest } from "./upstream-request";

/**
 * Video submissions: every request is checked against its model's own rules (and its
 * files by their bytes) BEFORE anything goes upstream, so a bad request never costs the
 * caller money. Tracking starts before the response: by the time the caller has a task id,
 * its Durable Object is polling.
 *
 * Bodies are parsed here rather than by the route validator because multipart uploads
 * need the catalog's own parser; the OpenAPI document still comes from the same schemas.
 */
export const videoRoutes = createRouter();

// Over this, the upstream would refuse anyway (10 MiB), and reading it costs memory.
const MAX_BODY_BYTES = 12 * 1024 * 1024;

videoRoutes.openAPIRegistry.registerPath({
  method: "post",
  path: "/v1/videos",
  tags: ["Videos"],
  summary: "Submit a video task (JSON, or multipart/form-data with uploaded files)",
  security: bearerSecurity,
  request: {
    headers: z.object({ "idempotency-key": z.string().optional() }),
    body: {
      required: true,
      content: {
        "application/json": { schema: VideoRequestJsonSchema },
        "multipart/form-data": { schema: VideoRequestFormSchema },
      },
    },
  },
  responses: {
    202: { description: "Accepted; the task is being tracked", content: { "application/json": { schema: TaskSchema } } },
    ...errorResponses(400, 401, 404, 409, 413, 415, 429, 502, 504),
  },
});

const NativeVideoAnswerSchema = z
  .object({ taskid: z.string(), status: z.string(), id: z.string().openapi({ description: "The relay's task id" }) })
  .openapi("NativeVideoAnswer");

videoRoutes.openAPIRegistry.registerPath({
  method: "post",
  path: "/llmage/video",
  tags: ["Videos"],
  summary: "Native drop-in submission: the upstream's own request, validated, then forwarded (relay-only webhook/webhook_events/metadata taken out)",
  security: bearerSecurity,
  request: {
    headers: z.object({
      "idempotency-key": z.string().optional(),
      "x-webhook-url": z.string().optional(),
      "x-webhook-events": z.string().optional(),
    }),
    body: {
      required: true,
      content: {
        "application/json": { schema: z.object({ llmid: z.string(), prompt: z.string() }).passthrough() },
        "multipart/form-data": { schema: z.object({ llmid: z.string(), prompt: z.string() }).passthrough() },
      },
    },
  },
  responses: {
    200: { description: "The upstream's answer plus the relay's task id", content: { "application/json": { schema: NativeVideoAnswerSchema } } },
    ...errorResponses(400, 401, 404, 409, 413, 415, 429, 502, 504),
  },
});

type BodyKind = "json" | "form";

function bodyKind(c: Context<AppEnv>): BodyKind {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) {
    throw new ApiError("payload_too_large", `Request body over ${MAX_BODY_BYTES / 1024 / 1024} MiB; the upstream takes at most 10 MiB.`);
  }
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  if (type.startsWith("application/json")) return "json";
  if (type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded")) return "form";
  throw new ApiError("unsupported_media_type", "Send application/json, or multipart/form-data for file uploads.", { detailCode: "unsupported_content_type" });
}

async function readJsonBody(c: Context<AppEnv>): Promise<unknown> {
  try {
    return await c.req.json<unknown>();
  } catch {
    throw new ApiError("invalid_request", "Malformed JSON in request body.");
  }
}

async function readForm(c: Context<AppEnv>): Promise<FormData> {
  try {
    return await c.req.formData();
  } catch {
    throw new ApiError("invalid_request", "Malformed form body.");
  }
}

/** The upstream call; a 200 with `"status":"FAILED"` is a failure and creates no task. */
async function submitUpstream(c: Context<AppEnv>, request: UpstreamVideoRequest): Promise<{ taskid: string; status: string }> {
  const { body, headers } = encodeUpstreamBody(request);
  const res = await upstreamFetch(c.get("config"), {
    method: "POST",
    path: "/llmage/video",
    key: c.get("caller").key,
    body,
    ...(headers["content-type"] ? { contentType: headers["content-type"] } : {}),
    timeoutMs: 60_000,
  });
  const json = await readJson(res);
  if (!res.ok) throw upstreamHttpError(res.status, json);
  const failure = upstreamFailure(json);
  if (failure) throw failure;
  const record = json && typeof json === "object" ? (json as Record<string, unknown>) : {};
  const taskid = record.taskid;
  if (typeof taskid !== "string" && typeof taskid !== "number") {
    throw new ApiError("upstream_error", "The upstream accepted the request but returned no taskid.", { detailCode: "upstream_malformed" });
  }
  return { taskid: String(taskid), status: typeof record.status === "string" ? record.status : "CREATED" };
}

async function submitAndTrack(
  c: Context<AppEnv>,
  source: TaskSource,
  request: UpstreamVideoRequest,
  extra: { metadata: Record<string, string>; webhooks: TaskWebhook[] },
): Promise<{ task: Task; upstream: { taskid: string; status: string } }> {
  const upstream = await submitUpstream(c, request);
  const caller = c.get("caller");
  const task = await startTracking(c.env, {
    id: newId("task"),
    tenant: caller.tenant,
    key: caller.key,
    source,
    upstreamTaskid: upstream.taskid,
    upstreamStatus: upstream.status,
    model: request.model,
    llmid: request.llmid,
    mode: request.mode,
    metadata: extra.metadata,
    webhooks: extra.webhooks,
  });
  return { task, upstream };
}

function mediaDeps(c: Context<AppEnv>): MediaDeps {
  const allowPrivate = c.get("config").webhookAllowPrivate;
  return {
    fetch: (input, init) => fetch(input, init),
    checkUrl: (url) => {
      const check = checkWebhookUrl(url.href, { allowPrivate });
      if (!check.ok) throw new Error(check.reason);
    },
  };
}

function respond(c: Context<AppEnv>, result: { status: number; body: unknown; replayed: boolean }): Response {
  if (result.replayed) c.header("idempotent-replayed", "true");
  return c.json(result.body as Record<string, unknown>, result.status as 200 | 202);
}

videoRoutes.post("/v1/videos", async (c) => {
  const kind = bodyKind(c);
  const request = kind === "json" ? parseCanonicalVideoJson(await readJsonBody(c)) : parseCanonicalVideoForm(await readForm(c));
  // Cheap checks first: the model's rules and the webhook, before any media is fetched.
  const plan = planVideoRequest(request);
  const config = c.get("config");
  const webhooks = request.webhook
    ? [taskWebhookFrom(request.webhook, request.webhook_events, config.webhookAllowPrivate, { url: "webhook", events: "webhook_events" })]
    : [];
  const caller = c.get("caller");
  const result = await runIdempotent(
    {
      db: c.env.DB,
      tenant: caller.tenant,
      route: "POST /v1/videos",
      key: c.req.header("idempotency-key"),
      fingerprint: await fingerprint("POST /v1/videos", request),
    },
    async () => {
      const media = await resolveVideoMedia(plan, mediaDeps(c));
      const upstreamRequest = buildUpstreamVideoRequest(plan, media);
      const { task } = await submitAndTrack(c, "v1", upstreamRequest, { metadata: request.metadata ?? {}, webhooks });
      return { status: 202, body: task };
    },
  );
  return respond(c, result);
});

/** `x-webhook-url` / `x-webhook-events` headers, for clients that cannot add body fields. */
function headerWebhook(c: Context<AppEnv>): { url?: string; events?: string[] } {
  const url = c.req.header("x-webhook-url");
  const events = c.req.header("x-webhook-events");
  return {
    ...(url ? { url } : {}),
    ...(events ? { events: events.split(",").map((e) => e.trim()).filter((e) => e !== "") } : {}),
  };
}

videoRoutes.post("/llmage/video", async (c) => {
  const kind = bodyKind(c);
  const fields: NativeFields = kind === "json" ? nativeFieldsFromJson(await readJsonBody(c)) : nativeFieldsFromForm(await readForm(c));
  // Fingerprint before the relay-only fields (webhook, metadata) are taken out of `fields`.
  const bodyFingerprint = await fingerprintFields("POST /llmage/video", fields);
  const prepared = await prepareNativeVideoRequest(fields);
  const config = c.get("config");
  const fromHeaders = headerWebhook(c);
  const webhookUrl = prepared.relay.webhook ?? fromHeaders.url;
  const webhookEvents = prepared.relay.webhook_events ?? fromHeaders.events;
  if (!webhookUrl && webhookEvents) throw invalidParam("webhook_events", "webhook_events needs a webhook URL.");
  const webhooks = webhookUrl
    ? [taskWebhookFrom(webhookUrl, webhookEvents, config.webhookAllowPrivate, { url: "webhook", events: "webhook_events" })]
    : [];
  const caller = c.get("caller");
  const result = await runIdempotent(
    {
      db: c.env.DB,
      tenant: caller.tenant,
      route: "POST /llmage/video",
      key: c.req.header("idempotency-key"),
      fingerprint: bodyFingerprint,
    },
    async () => {
      const { task, upstream } = await submitAndTrack(c, "native", prepared.upstream, {
        metadata: prepared.relay.metadata ?? {},
        webhooks,
      });
      return { status: 200, body: { taskid: upstream.taskid, status: upstream.status, id: task.id } };
    },
  );
  return respond(c, result);
});
