import { env, runDurableObjectAlarm } from "cloudflare:test";
import { newId } from "../../src/lib/ids";
import { sha256Hex } from "../../src/lib/crypto";
import type { TaskInit } from "../../src/tasks/task-tracker";
import { simForceTask } from "./helpers";

/** Task-tracker test helpers: stage a task in the simulator, start its Durable Object. */
export function tracker(taskId: string) {
  return env.TASKS.get(env.TASKS.idFromName(taskId));
}

export function upstreamTaskid(): string {
  return String(Math.floor(1e17 + Math.random() * 8e17));
}

export async function startTask(key: string, overrides: Partial<TaskInit> = {}) {
  const taskid = overrides.upstreamTaskid ?? upstreamTaskid();
  await simForceTask(taskid, { key, status: "CREATED" });
  const init: TaskInit = {
    id: newId("task"),
    tenant: await sha256Hex(key),
    key,
    source: "v1",
    upstreamTaskid: taskid,
    upstreamStatus: "CREATED",
    model: "viduq3-pro",
    llmid: "r0ill7L0s6PtBS8mkmg-7",
    mode: "t2v",
    metadata: {},
    webhooks: [],
    ...overrides,
  };
  const stub = tracker(init.id);
  const task = await stub.start(init);
  return { init, stub, task, taskid };
}

/** Fires the object's alarm now (whatever time it was set for). */
export async function fireAlarm(stub: ReturnType<typeof tracker>): Promise<boolean> {
  return runDurableObjectAlarm(stub);
}
