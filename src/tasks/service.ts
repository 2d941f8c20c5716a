import { ApiError } from "../errors/api-error";
import type { TaskInit } from "./task-tracker";
import type { Task } from "./task-object";
import { findTask, rowToTask } from "./storage";
import { isTerminal } from "./task-object";

/**
 * What routes do with tasks, one way down to the Durable Object and D1.
 */
export function trackerFor(env: RelayBindings, taskId: string) {
  return env.TASKS.get(env.TASKS.idFromName(taskId));
}

/**
 * Starts tracking a task the upstream accepted. Retried: by now the caller has been
 * charged, so giving up quietly would lose their job. If it still fails, the error names
 * the upstream taskid so the caller can hand it to POST /v1/tasks/watch.
 */
export async function startTracking(env: RelayBindings, init: TaskInit): Promise<Task> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await trackerFor(env, init.id).start(init);
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
  throw new ApiError(
    "internal",
    `The upstream accepted the task (taskid ${init.upstreamTaskid}) but the relay could not start tracking it. Track it with POST /v1/tasks/watch.`,
    { cause: lastError, detailCode: "tracking_not_started" },
  );
}

/** A task of the tenant, by relay id or upstream taskid; 404 otherwise (even if another tenant has it). */
export async function getTaskForTenant(env: RelayBindings, tenant: string, idOrTaskid: string, waitMs = 0): Promise<Task> {
  const row = await findTask(env.DB, tenant, idOrTaskid);
  if (!row) throw new ApiError("not_found", `No task ${idOrTaskid}.`, { param: "id", detailCode: "task_not_found" });
  if (isTerminal(row.status)) return rowToTask(row);
  // Not finished: the Durable Object holds the freshest state (D1 may trail it briefly).
  const stub = trackerFor(env, row.id);
  const live = waitMs > 0 ? await stub.waitForTerminal(waitMs) : await stub.view();
  return live ?? rowToTask(row);
}
