/**
 * The simulator's control API under /__sim/ (plain JSON, no auth: it is a test double).
 * Tests and benchmarks use it to configure a key's behaviour, inject faults, read back what
 * the relay sent, force task states and count upstream calls.
 */
import { type FaultRule, parseRule } from "./faults";
import { clearReceivers, configureReceiver, deleteReceiver, handleHookRead } from "./hooks";
import { controlError, controlJson, isRecord, readJsonObject } from "./http";
import {
  addTask,
  type ChatConfig,
  DEFAULT_TASK,
  getScope,
  peekScope,
  resetAll,
  resetScope,
  type Route,
  type SimTask,
  type TaskConfig,
  tasks,
} from "./state";
import { isInHistory, taskAnswer, visibleStatus } from "./tasks";

class BadRequest extends Error {}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new BadRequest(`${name} must be a number >= 0`);
  return value;
}

function nullableNumber(value: unknown, name: string): number | null {
  return value === null ? null : nonNegative(value, name);
}

function nullableString(value: unknown, name: string): string | null {
  if (value === null || typeof value === "string") return value;
  throw new BadRequest(`${name} must be a string or null`);
}

function applyChat(target: ChatConfig, patch: unknown): void {
  if (!isRecord(patch)) throw new BadRequest("chat must be an object");
  if (patch.text !== undefined) target.text = nullableString(patch.text, "chat.text");
  if (patch.reasoning !== undefined) target.reasoning = nullableString(patch.reasoning, "chat.reasoning");
  if (patch.chunkDelayMs !== undefined) target.chunkDelayMs = nonNegative(patch.chunkDelayMs, "chat.chunkDelayMs");
  if (patch.chunkSize !== undefined) {
    const size = nonNegative(patch.chunkSize, "chat.chunkSize");
    if (size < 1) throw new BadRequest("chat.chunkSize must be >= 1");
    target.chunkSize = Math.floor(size);
  }
  if (patch.models !== undefined) {
    if (!Array.isArray(patch.models) || !patch.models.every((m) => typeof m === "string")) {
      throw new BadRequest("chat.models must be a list of strings");
    }
    target.models = patch.models as string[];
  }
}

function applyTask(target: TaskConfig, patch: unknown): void {
  if (!isRecord(patch)) throw new BadRequest("task must be an object");
  if (patch.createdMs !== undefined) target.createdMs = nonNegative(patch.createdMs, "task.createdMs");
  if (patch.pendingMs !== undefined) target.pendingMs = nonNegative(patch.pendingMs, "task.pendingMs");
  if (patch.runningMs !== undefined) target.runningMs = nonNegative(patch.runningMs, "task.runningMs");
  if (patch.outcome !== undefined) {
    if (patch.outcome !== "SUCCEEDED" && patch.outcome !== "FAILED" && patch.outcome !== "UNKNOWN") {
      throw new BadRequest('task.outcome must be "SUCCEEDED", "FAILED" or "UNKNOWN"');
    }
    target.outcome = patch.outcome;
  }
  if (patch.failReason !== undefined) {
    if (typeof patch.failReason !== "string") throw new BadRequest("task.failReason must be a string");
    target.failReason = patch.failReason;
  }
  if (patch.queryPeriodMs !== undefined) target.queryPeriodMs = nullableNumber(patch.queryPeriodMs, "task.queryPeriodMs");
  if (patch.historyAfterMs !== undefined) target.historyAfterMs = nullableNumber(patch.historyAfterMs, "task.historyAfterMs");
  if (patch.wrapped !== undefined) {
    if (patch.wrapped !== null && patch.wrapped !== "data" && patch.wrapped !== "resposne") {
      throw new BadRequest('task.wrapped must be "data", "resposne" or null');
    }
    target.wrapped = patch.wrapped;
  }
}

function keyOf(value: unknown): string {
  if (typeof value !== "string") throw new BadRequest("key is required (a string; \"\" is the no-key scope)");
  return value;
}

async function body(request: Request): Promise<Record<string, unknown>> {
  const parsed = await readJsonObject(request);
  if (!parsed) throw new BadRequest("body must be a JSON object");
  return parsed;
}

function taskView(task: SimTask, origin: string): Record<string, unknown> {
  const now = Date.now();
  return {
    taskid: task.taskid,
    key: task.key,
    createdAt: task.createdAt,
    ageMs: now - task.createdAt,
    llmid: task.llmid,
    action: task.action,
    model: task.model,
    resolution: task.resolution,
    duration: task.duration,
    offPeak: task.offPeak,
    config: task.config,
    forced: task.forced,
    history: isInHistory(task, now),
    polls: task.polls,
    status: visibleStatus(task, now),
    answer: taskAnswer(task, origin, now),
  };
}

/** POST /__sim/tasks/<taskid> `{ status, key?, history?, ...fields }`. */
function forceTask(taskid: string, input: Record<string, unknown>, origin: string): Response {
  let task = tasks.get(taskid);
  if (!task) {
    // Unknown ids are created, so tests can stage a task "submitted elsewhere" (watch flows).
    const key = typeof input.key === "string" ? input.key : "";
    task = {
      taskid,
      key,
      createdAt: Date.now(),
      llmid: typeof input.llmid === "string" ? input.llmid : "r0ill7L0s6PtBS8mkmg-7",
      action: "t2v",
      model: typeof input.model === "string" ? input.model : "viduq3-pro",
      resolution: "1080p",
      duration: 5,
      offPeak: false,
      config: { ...(peekScope(key)?.task ?? DEFAULT_TASK) },
      forced: null,
      history: false,
      polls: 0,
    };
    addTask(task);
  }
  if (typeof input.history === "boolean") task.history = input.history;
  if (input.status === null) task.forced = null;
  else if (typeof input.status === "string") {
    const fields: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(input)) {
      if (name !== "status" && name !== "key" && name !== "history") fields[name] = value;
    }
    task.forced = { status: input.status, fields };
  } else if (input.status !== undefined) throw new BadRequest("status must be a string or null");
  return controlJson(taskView(task, origin));
}

const ROUTES: readonly Route[] = ["chat", "video", "tasks", "hooks", "idfile"];

async function route(request: Request, url: URL): Promise<Response> {
  const path = url.pathname.replace(/\/+$/, "");
  const method = request.method;
  const q = url.searchParams;

  if (path === "/__sim" && method === "GET") {
    return controlJson({
      simulator: "yuanjing-upstream-sim",
      routes: [
        "POST /llmage/v1/chat/completions",
        "POST /llmage/video",
        "GET|POST /llmage/tasks?taskid=",
        "GET /idfile?path=",
        "POST|GET /hooks/<name>",
        "GET /hooks",
      ],
      control: [
        "GET|POST /__sim/config",
        "GET|POST|DELETE /__sim/faults",
        "GET|DELETE /__sim/requests",
        "GET /__sim/stats",
        "GET /__sim/tasks?key=",
        "GET|POST /__sim/tasks/<taskid>",
        "GET|PUT|DELETE /__sim/hooks/<name>",
        "POST /__sim/reset",
      ],
    });
  }

  if (path === "/__sim/config") {
    if (method === "GET") {
      const scope = getScope(keyOf(q.get("key")));
      return controlJson({ key: scope.key, chat: scope.chat, task: scope.task });
    }
    if (method === "POST") {
      const input = await body(request);
      const scope = getScope(keyOf(input.key));
      // Validate into copies first so a bad field changes nothing.
      const chat = { ...scope.chat, models: [...scope.chat.models] };
      const task = { ...scope.task };
      if (input.chat !== undefined) applyChat(chat, input.chat);
      if (input.task !== undefined) applyTask(task, input.task);
      scope.chat = chat;
      scope.task = task;
      return controlJson({ key: scope.key, chat: scope.chat, task: scope.task });
    }
  }

  if (path === "/__sim/faults") {
    if (method === "GET") {
      const scope = getScope(keyOf(q.get("key")));
      return controlJson({ key: scope.key, rules: scope.faults });
    }
    if (method === "POST") {
      const input = await body(request);
      const scope = getScope(keyOf(input.key));
      if (!Array.isArray(input.rules)) throw new BadRequest("rules must be a list");
      let rules: FaultRule[];
      try {
        rules = input.rules.map(parseRule);
      } catch (err) {
        throw new BadRequest(err instanceof Error ? err.message : String(err));
      }
      scope.faults = input.replace === true ? rules : [...scope.faults, ...rules];
      return controlJson({ key: scope.key, rules: scope.faults });
    }
    if (method === "DELETE") {
      const scope = getScope(keyOf(q.get("key")));
      scope.faults = [];
      return controlJson({ key: scope.key, rules: [] });
    }
  }

  if (path === "/__sim/requests") {
    const key = keyOf(q.get("key"));
    if (method === "GET") {
      const routeFilter = q.get("route");
      if (routeFilter && !ROUTES.includes(routeFilter as Route)) throw new BadRequest(`route must be one of ${ROUTES.join(", ")}`);
      const all = peekScope(key)?.requests ?? [];
      return controlJson({ key, requests: routeFilter ? all.filter((r) => r.route === routeFilter) : all });
    }
    if (method === "DELETE") {
      const scope = peekScope(key);
      if (scope) scope.requests = [];
      return controlJson({ key, requests: [] });
    }
  }

  if (path === "/__sim/stats" && method === "GET") {
    const key = keyOf(q.get("key"));
    const scope = getScope(key);
    return controlJson({ key, ...scope.stats });
  }

  if (path === "/__sim/reset" && method === "POST") {
    const input = await body(request);
    if (input.all === true) {
      resetAll();
      clearReceivers();
      return controlJson({ reset: "all" });
    }
    const key = keyOf(input.key);
    resetScope(key);
    deleteReceiver(key);
    return controlJson({ reset: key });
  }

  if (path === "/__sim/tasks" && method === "GET") {
    const key = keyOf(q.get("key"));
    const list = [...tasks.values()].filter((t) => t.key === key).map((t) => taskView(t, url.origin));
    return controlJson({ key, tasks: list });
  }

  const taskMatch = /^\/__sim\/tasks\/([^/]+)$/.exec(path);
  if (taskMatch?.[1]) {
    const taskid = decodeURIComponent(taskMatch[1]);
    if (method === "GET") {
      const task = tasks.get(taskid);
      return task ? controlJson(taskView(task, url.origin)) : controlError(404, `no task ${taskid}`);
    }
    if (method === "POST") return forceTask(taskid, await body(request), url.origin);
  }

  const hookMatch = /^\/__sim\/hooks\/(.+)$/.exec(path);
  if (hookMatch?.[1]) {
    const name = decodeURIComponent(hookMatch[1]);
    if (method === "GET") return handleHookRead(name);
    if (method === "PUT" || method === "POST") return configureReceiver(name, await body(request));
    if (method === "DELETE") {
      deleteReceiver(name);
      return controlJson({ deleted: name });
    }
  }

  return controlError(404, `no control route ${method} ${url.pathname}`);
}

export async function handleControl(request: Request, url: URL): Promise<Response> {
  try {
    return await route(request, url);
  } catch (err) {
    if (err instanceof BadRequest) return controlError(400, err.message);
    throw err;
  }
}
