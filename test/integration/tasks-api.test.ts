import { describe, expect, it } from "vitest";
import type { Task } from "../../src/tasks/task-object";
import { call, callJson, eventually, simConfig, simForceTask, simRequests, uniqueKey, type ErrorBody } from "../support/helpers";
import { receiverUrl } from "../support/receiver";
import { upstreamTaskid } from "../support/tasks";

const VIDU_T2V = "r0ill7L0s6PtBS8mkmg-7";
const HAPPYHORSE_T2V = "o5vfXYD5BURJWRTWpopE5";

interface TaskList {
  object: "list";
  data: Task[];
  has_more: boolean;
  next_cursor: string | null;
}

interface NativeTask {
  status: string;
  taskid: string | null;
  usage: Record<string, unknown> | null;
  image: string | null;
  video: string | null;
}

interface VideoTotals {
  tasks: number;
  succeeded: number;
  failed: number;
  credits: number;
  seconds: number;
}

interface UsageReport {
  video: { totals: VideoTotals; by_model: Array<VideoTotals & { model: string }> };
}

async function submit(key: string, json: Record<string, unknown>): Promise<Task> {
  const { status, body } = await callJson<Task>("/v1/videos", { key, json: { prompt: "a video", ...json } });
  expect(status, JSON.stringify(body)).toBe(202);
  return body;
}

async function nativeSubmit(key: string): Promise<{ taskid: string; id: string }> {
  const { status, body } = await callJson<{ taskid: string; id: string }>("/llmage/video", { key, json: { llmid: VIDU_T2V, prompt: "native" } });
  expect(status).toBe(200);
  return body;
}

/** Tasks stay CREATED (queued) for the whole test. */
const SLOW = { task: { createdMs: 600_000 } };
/** Tasks succeed well before the tracker's first poll (~2 s after submission). */
const FAST = { task: { createdMs: 0, pendingMs: 100, runningMs: 300 } };

describe("reading a task", () => {
  it("GET /v1/tasks/{id} finds it by relay id and by upstream taskid", async () => {
    const key = uniqueKey("read");
    await simConfig(key, SLOW);
    const task = await submit(key, { model: "viduq3-pro" });
    for (const id of [task.id, task.upstream_taskid ?? ""]) {
      const { status, body } = await callJson<Task>(`/v1/tasks/${id}`, { key });
      expect(status).toBe(200);
      expect(body).toMatchObject({ id: task.id, upstream_taskid: task.upstream_taskid, status: "queued", model: "viduq3-pro" });
    }
    const missing = await callJson<ErrorBody>("/v1/tasks/task_doesnotexist0000000", { key });
    expect(missing.status).toBe(404);
    expect(missing.body.error.param).toBe("id");
  });

  it("Prefer: wait=5 returns the finished task with the video URL; /llmage/tasks and /v1/usage show it", async () => {
    const key = uniqueKey("wait");
    await simConfig(key, FAST);
    const task = await submit(key, { model: "viduq3-pro", duration: 4, metadata: { run: "w" } });
    const started = Date.now();
    const res = await call(`/v1/tasks/${task.id}`, { key, headers: { prefer: "wait=5" } });
    const done = (await res.json()) as Task;
    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBe("wait=5");
    expect(Date.now() - started).toBeLessThan(5_000);
    const taskid = task.upstream_taskid ?? "";
    expect(done).toMatchObject({
      id: task.id,
      status: "succeeded",
      upstream_status: "SUCCEEDED",
      video_url: expect.stringMatching(new RegExp(`/idfile\\?path=/tmp/${taskid}/video\\.mp4$`)),
      cover_url: expect.stringMatching(new RegExp(`/idfile\\?path=/tmp/${taskid}/cover\\.jpeg$`)),
      usage: expect.objectContaining({ credits: expect.any(Number), model: "viduq3-pro", duration: 4 }),
      metadata: { run: "w" },
      completed_at: expect.any(String),
    });

    // The native status route answers from the relay's records, in the upstream's shape.
    const polls = (await simRequests(key, "tasks")).length;
    const viaGet = await callJson<NativeTask>(`/llmage/tasks?taskid=${taskid}`, { key });
    expect(viaGet.status).toBe(200);
    expect(viaGet.body).toEqual({ status: "SUCCEEDED", taskid, usage: done.usage, image: done.cover_url, video: done.video_url });
    const viaPost = await callJson<NativeTask>("/llmage/tasks", { key, json: { taskid } });
    expect(viaPost.body).toEqual(viaGet.body);
    const byRelayId = await callJson<NativeTask>(`/llmage/tasks?taskid=${task.id}`, { key, method: "POST" });
    expect(byRelayId.body).toEqual(viaGet.body);
    expect((await simRequests(key, "tasks")).length).toBe(polls);

    const usage = await eventually(async () => {
      const report = await callJson<UsageReport>("/v1/usage", { key });
      return report.body.video.totals.succeeded === 1 ? report.body : null;
    });
    const credits = Number(done.usage?.credits);
    expect(usage?.video.totals).toEqual({ tasks: 1, succeeded: 1, failed: 0, credits, seconds: 4 });
    expect(usage?.video.by_model).toEqual([{ model: "viduq3-pro", tasks: 1, succeeded: 1, failed: 0, credits, seconds: 4 }]);
  });

  it("Prefer: wait on a task that stays queued returns it when the wait runs out", async () => {
    const key = uniqueKey("wait");
    await simConfig(key, SLOW);
    const task = await submit(key, { model: "viduq3-pro" });
    const res = await call(`/v1/tasks/${task.id}`, { key, headers: { prefer: "wait=1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBe("wait=1");
    expect(((await res.json()) as Task).status).toBe("queued");
  });

  it("GET|POST /llmage/tasks: a queued task in the upstream's shape; no taskid → 400", async () => {
    const key = uniqueKey("native");
    await simConfig(key, SLOW);
    const { taskid } = await nativeSubmit(key);
    const { status, body } = await callJson<NativeTask>(`/llmage/tasks?taskid=${taskid}`, { key });
    expect(status).toBe(200);
    expect(body).toEqual({ status: "CREATED", taskid, usage: null, image: null, video: null });
    const missing = await callJson<ErrorBody>("/llmage/tasks", { key });
    expect(missing.status).toBe(400);
    expect(missing.body.error.param).toBe("taskid");
    const unknown = await callJson<ErrorBody>(`/llmage/tasks?taskid=${upstreamTaskid()}`, { key });
    expect(unknown.status).toBe(404);
    // POST reads a form body too, and the body wins over the query string (as upstream).
    const form = new URLSearchParams({ taskid });
    const viaForm = await callJson<NativeTask>(`/llmage/tasks?taskid=${upstreamTaskid()}`, {
      key,
      method: "POST",
      body: form.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(viaForm.status).toBe(200);
    expect(viaForm.body.taskid).toBe(taskid);
  });
});

describe("GET /v1/tasks", () => {
  it("lists newest first, filters by status and model (name or llmid), pages with a cursor", async () => {
    const key = uniqueKey("list");
    await simConfig(key, SLOW);
    const a = await submit(key, { model: "viduq3-pro" });
    const b = await submit(key, { model: "happyhorse-1.0-t2v" });
    const c = await submit(key, { model: "viduq3-pro", metadata: { n: "3" } });
    const runningTaskid = upstreamTaskid();
    await simForceTask(runningTaskid, { key, status: "RUNNING" });
    const watched = await callJson<Task>("/v1/tasks/watch", { key, json: { taskid: runningTaskid, model: "viduq3-pro" } });
    expect(watched.status).toBe(202);
    const d = watched.body;

    const all = await callJson<TaskList>("/v1/tasks", { key });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ object: "list", has_more: false, next_cursor: null });
    expect(all.body.data.map((t) => t.id)).toEqual([d.id, c.id, b.id, a.id]);
    expect(all.body.data[1]?.metadata).toEqual({ n: "3" });

    const first = await callJson<TaskList>("/v1/tasks?limit=2&status=queued", { key });
    expect(first.body.data.map((t) => t.id)).toEqual([c.id, b.id]);
    expect(first.body.has_more).toBe(true);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await callJson<TaskList>(`/v1/tasks?limit=2&status=queued&cursor=${encodeURIComponent(first.body.next_cursor ?? "")}`, { key });
    expect(second.body.data.map((t) => t.id)).toEqual([a.id]);
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null });

    const running = await callJson<TaskList>("/v1/tasks?status=running", { key });
    expect(running.body.data.map((t) => t.id)).toEqual([d.id]);
    expect((await callJson<TaskList>("/v1/tasks?status=succeeded", { key })).body.data).toEqual([]);

    const vidu = await callJson<TaskList>("/v1/tasks?model=viduq3-pro&status=queued", { key });
    expect(vidu.body.data.map((t) => t.id)).toEqual([c.id, a.id]);
    const byLlmid = await callJson<TaskList>(`/v1/tasks?model=${HAPPYHORSE_T2V}`, { key });
    expect(byLlmid.body.data.map((t) => t.id)).toEqual([b.id]);

    expect((await callJson<ErrorBody>("/v1/tasks?status=done", { key })).status).toBe(400);
    const badCursor = await callJson<ErrorBody>("/v1/tasks?cursor=garbage", { key });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.param).toBe("cursor");
    expect((await callJson<ErrorBody>("/v1/tasks?limit=0", { key })).status).toBe(400);
  });
});

describe("POST /v1/tasks/watch", () => {
  it("tracks a task submitted straight to the upstream (202), and answers 200 with the same task after", async () => {
    const key = uniqueKey("watch");
    const taskid = upstreamTaskid();
    await simForceTask(taskid, { key, status: "RUNNING" });
    const hook = receiverUrl(`watch-${crypto.randomUUID()}`);
    const first = await callJson<Task>("/v1/tasks/watch", { key, json: { taskid, webhook: hook, metadata: { from: "upstream" } } });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      id: expect.stringMatching(/^task_/),
      upstream_taskid: taskid,
      status: "running",
      upstream_status: "RUNNING",
      metadata: { from: "upstream" },
      webhooks: [{ url: hook, events: ["task.succeeded", "task.failed", "task.expired"] }],
    });
    const again = await callJson<Task>("/v1/tasks/watch", { key, json: { taskid } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await callJson<Task>(`/v1/tasks/${taskid}`, { key })).body.id).toBe(first.body.id);
    // One look upstream for the first watch, none for the second.
    expect((await simRequests(key, "tasks")).length).toBeGreaterThanOrEqual(1);
    expect((await simRequests(key, "video")).length).toBe(0);
  });

  it("a task that already finished upstream is succeeded, with its video, from the first answer", async () => {
    const key = uniqueKey("watch");
    const taskid = upstreamTaskid();
    await simForceTask(taskid, { key, status: "SUCCEEDED" });
    const watched = await callJson<Task>("/v1/tasks/watch", { key, json: { taskid } });
    expect(watched.status).toBe(202);
    expect(watched.body).toMatchObject({ status: "succeeded", video_url: expect.stringContaining(`/tmp/${taskid}/video.mp4`) });
    const res = await call(`/v1/tasks/${watched.body.id}`, { key, headers: { prefer: "wait=5" } });
    expect(((await res.json()) as Task)).toMatchObject({
      status: "succeeded",
      model: "viduq3-pro", // from the upstream's usage
      video_url: expect.stringContaining(`/tmp/${taskid}/video.mp4`),
    });
  });

  it("an unknown taskid → 404 param taskid; a key the upstream refuses → 401; bad bodies → 400", async () => {
    const key = uniqueKey("watch");
    const unknown = await callJson<ErrorBody>("/v1/tasks/watch", { key, json: { taskid: upstreamTaskid() } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.param).toBe("taskid");
    expect((await callJson<TaskList>("/v1/tasks", { key })).body.data).toEqual([]);

    const staged = upstreamTaskid();
    await simForceTask(staged, { key, status: "RUNNING" });
    const invalid = uniqueKey("invalid");
    const denied = await callJson<ErrorBody>("/v1/tasks/watch", { key: invalid, json: { taskid: staged } });
    expect(denied.status).toBe(401);
    expect(denied.body.error.type).toBe("authentication_error");
    expect((await callJson<TaskList>("/v1/tasks", { key: invalid })).body.data).toEqual([]);

    expect((await callJson<ErrorBody>("/v1/tasks/watch", { key, json: {} })).status).toBe(400);
    const badHook = await callJson<ErrorBody>("/v1/tasks/watch", { key, json: { taskid: staged, webhook: "ftp://example.com/x" } });
    expect(badHook.status).toBe(400);
    expect(badHook.body.error.param).toBe("webhook");
  });
});

describe("POST /v1/tasks/{id}/webhooks", () => {
  it("adds a webhook (by relay id or upstream taskid); the URL is validated (param url)", async () => {
    const key = uniqueKey("hooks");
    await simConfig(key, SLOW);
    const task = await submit(key, { model: "viduq3-pro" });
    const one = receiverUrl(`add-${crypto.randomUUID()}`);
    const added = await callJson<Task>(`/v1/tasks/${task.id}/webhooks`, { key, json: { url: one, events: ["task.running", "task.succeeded"] } });
    expect(added.status).toBe(200);
    expect(added.body.webhooks).toEqual([{ url: one, events: ["task.running", "task.succeeded"] }]);
    const two = receiverUrl(`add-${crypto.randomUUID()}`);
    const more = await callJson<Task>(`/v1/tasks/${task.upstream_taskid}/webhooks`, { key, json: { url: two } });
    expect(more.status).toBe(200);
    expect(more.body.webhooks).toEqual([
      { url: one, events: ["task.running", "task.succeeded"] },
      { url: two, events: ["task.succeeded", "task.failed", "task.expired"] },
    ]);
    expect((await callJson<Task>(`/v1/tasks/${task.id}`, { key })).body.webhooks).toHaveLength(2);

    for (const url of ["not a url", "ftp://example.com/hook", "https://user:pw@example.com/hook"]) {
      const bad = await callJson<ErrorBody>(`/v1/tasks/${task.id}/webhooks`, { key, json: { url } });
      expect(bad.status, url).toBe(400);
      expect(bad.body.error.param, url).toBe("url");
    }
    const badEvent = await callJson<ErrorBody>(`/v1/tasks/${task.id}/webhooks`, { key, json: { url: one, events: ["task.done"] } });
    expect(badEvent.status).toBe(400);
    expect((await callJson<Task>(`/v1/tasks/${task.id}`, { key })).body.webhooks).toHaveLength(2);
    const missing = await callJson<ErrorBody>("/v1/tasks/task_doesnotexist0000000/webhooks", { key, json: { url: one } });
    expect(missing.status).toBe(404);
  });
});

describe("tenant isolation", () => {
  it("another key gets 404 (never 403) on every task route, and its list does not show the task", async () => {
    const owner = uniqueKey("owner");
    await simConfig(owner, SLOW);
    const { id, taskid } = await nativeSubmit(owner);
    expect((await call(`/v1/tasks/${id}`, { key: owner })).status).toBe(200);
    expect((await call(`/v1/tasks/${id}/deliveries`, { key: owner })).status).toBe(200);

    const other = uniqueKey("other");
    const hook = receiverUrl("isolation");
    const probes: Array<[string, Parameters<typeof call>[1]]> = [
      [`/v1/tasks/${id}`, {}],
      [`/v1/tasks/${taskid}`, {}],
      [`/v1/tasks/${id}`, { headers: { prefer: "wait=1" } }],
      [`/llmage/tasks?taskid=${taskid}`, {}],
      [`/llmage/tasks?taskid=${id}`, {}],
      ["/llmage/tasks", { json: { taskid } }],
      [`/v1/tasks/${id}/webhooks`, { json: { url: hook } }],
      [`/v1/tasks/${taskid}/webhooks`, { json: { url: hook } }],
      [`/v1/tasks/${id}/deliveries`, {}],
      [`/v1/tasks/${taskid}/deliveries`, {}],
    ];
    for (const [path, options] of probes) {
      const res = await callJson<ErrorBody>(path, { ...options, key: other });
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(res.body), path).not.toContain(owner);
    }
    expect((await callJson<TaskList>("/v1/tasks", { key: other })).body.data).toEqual([]);
    expect((await callJson<TaskList>(`/v1/tasks?model=${VIDU_T2V}`, { key: other })).body.data).toEqual([]);
    // The other key's attempts changed nothing on the owner's task.
    expect((await callJson<Task>(`/v1/tasks/${id}`, { key: owner })).body.webhooks).toEqual([]);
  });
});

