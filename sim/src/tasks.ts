/**
 * GET|POST /llmage/tasks?taskid=...: a task's status, computed from the clock (no timers):
 * CREATED → PENDING → RUNNING → outcome over the durations fixed at submission. With
 * `queryPeriodMs` the visible status only moves at submission + k·period, as the real
 * upstream (which polls its provider in the background) does.
 */
import { authFailure } from "./auth";
import { preFault, takeFault } from "./faults";
import { bearerKey, isRecord, parseJson, upstreamJson } from "./http";
import { getScope, Life, peekScope, record, type SimTask, tasks, type WrapVariant } from "./state";

const TYPES = { t2v: "text2video", i2v: "image2video", r2v: "reference2video" } as const;

function credits(task: SimTask): number {
  const r = task.resolution.toLowerCase();
  const rate = r.startsWith("480") || r.startsWith("540") ? 1 : r.startsWith("1080") || r.includes("1920") ? 4 : 2;
  return Math.max(1, Math.round(task.duration * rate));
}

/** The status the upstream's own storage holds for `task` at `now`. */
export function visibleStatus(task: SimTask, now: number): string {
  if (task.forced) return task.forced.status;
  const c = task.config;
  let elapsed = Math.max(0, now - task.createdAt);
  if (c.queryPeriodMs !== null && c.queryPeriodMs > 0) elapsed = Math.floor(elapsed / c.queryPeriodMs) * c.queryPeriodMs;
  if (elapsed < c.createdMs) return "CREATED";
  if (elapsed < c.createdMs + c.pendingMs) return "PENDING";
  if (elapsed < c.createdMs + c.pendingMs + c.runningMs) return "RUNNING";
  return c.outcome;
}

export function isInHistory(task: SimTask, now: number): boolean {
  return task.history || (task.config.historyAfterMs !== null && now - task.createdAt >= task.config.historyAfterMs);
}

/** The flat answer (`status`, `taskid`, `usage`, `image`, `video`, and `error` when failed). */
export function taskAnswer(task: SimTask, origin: string, now: number): Record<string, unknown> {
  const status = visibleStatus(task, now);
  const answer: Record<string, unknown> = { status, taskid: task.taskid, usage: null, image: null, video: null };
  if (status.toUpperCase() === "SUCCEEDED") {
    answer.usage = {
      action: task.action,
      credits: credits(task),
      type: TYPES[task.action],
      model: task.model,
      resolution: task.resolution,
      off_peak: task.offPeak,
      duration: task.duration,
    };
    answer.image = `${origin}/idfile?path=/tmp/${task.taskid}/cover.jpeg`;
    answer.video = `${origin}/idfile?path=/tmp/${task.taskid}/video.mp4`;
  }
  if (status.toUpperCase() === "FAILED") answer.error = task.config.failReason;
  return task.forced ? { ...answer, ...task.forced.fields, status } : answer;
}

export function wrap(answer: Record<string, unknown>, variant: WrapVariant | null): Record<string, unknown> {
  if (variant === "data") return { status: "ok", data: answer };
  if (variant === "resposne") return { status: "ok", data: { resposne: answer } };
  return answer;
}

async function taskidFromBody(request: Request): Promise<{ taskid: string | null; json?: unknown; form?: Record<string, string[]> }> {
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  const raw = await request.text();
  if (!raw) return { taskid: null };
  if (type.includes("multipart/form-data") || type.includes("application/x-www-form-urlencoded")) {
    try {
      const data = await new Response(raw, { headers: { "content-type": type } }).formData();
      const form: Record<string, string[]> = {};
      for (const [name, value] of data.entries()) if (typeof value === "string") (form[name] ??= []).push(value);
      return { taskid: form.taskid?.[0] ?? null, form };
    } catch {
      return { taskid: null };
    }
  }
  const parsed = parseJson(raw);
  if (!parsed.ok) return { taskid: null };
  const value = parsed.value;
  const taskid = isRecord(value) && (typeof value.taskid === "string" || typeof value.taskid === "number") ? String(value.taskid) : null;
  return { taskid, json: value };
}

export async function handleTasks(request: Request, url: URL): Promise<Response> {
  const key = bearerKey(request);
  const scope = getScope(key);
  const rec = record(scope, "tasks", request, url);
  const life = new Life(scope, rec, request);
  let taskid = url.searchParams.get("taskid");
  if (request.method === "POST") {
    const body = await taskidFromBody(request);
    if (body.json !== undefined) rec.json = body.json;
    if (body.form) rec.form = body.form;
    taskid = body.taskid ?? taskid;
  }
  if (taskid) rec.taskid = taskid;

  const fault = takeFault(scope, "tasks");
  const pre = await preFault(fault, life);
  if (pre) return pre;
  const denied = authFailure(key);
  if (denied) return life.finish(denied);
  if (!taskid) return life.finish(upstreamJson({ error: "Missing required parameter: taskid" }, 400));

  const now = Date.now();
  const task = tasks.get(taskid);
  if (!task || isInHistory(task, now)) {
    return life.finish(upstreamJson({ status: "FAILED", error: `taskid=${taskid} not exist` }));
  }
  task.polls++;
  // The answer's shape is a property of the upstream version, so it follows the owner's
  // current config (a fault on the caller's key overrides it for one answer).
  const variant = fault?.kind === "wrapped" ? fault.variant : (peekScope(task.key)?.task ?? task.config).wrapped;
  const answer = wrap(taskAnswer(task, url.origin, now), variant);
  return life.finish(upstreamJson(answer), fault?.kind ?? null);
}
