import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env";
import { planNextPoll, recordObservation } from "../../src/tasks/polling";
import type { TaskTracker } from "../../src/tasks/task-tracker";
import { simFaults, simForceTask, simRequests, uniqueKey } from "../support/helpers";
import { fireAlarm, startTask } from "../support/tasks";

async function d1Row(id: string) {
  return env.DB.prepare("SELECT * FROM tasks WHERE id = ?").bind(id).first<Record<string, unknown>>();
}

/** Everything the object keeps in durable storage, as text. */
async function storageDump(stub: DurableObjectStub<TaskTracker>): Promise<string> {
  return runInDurableObject(stub, async (_instance, state) => {
    const all = await state.storage.list();
    return JSON.stringify([...all.entries()]);
  });
}

describe("TaskTracker Durable Object", () => {
  it("follows the upstream from CREATED to SUCCEEDED, mirroring each change in D1", async () => {
    const key = uniqueKey();
    const { stub, init, taskid } = await startTask(key);
    expect((await d1Row(init.id))?.status).toBe("queued");
    const alarm = await stub.inspect();
    expect(alarm.alarm).not.toBeNull();

    await simForceTask(taskid, { status: "PENDING" });
    await fireAlarm(stub);
    expect((await stub.view())?.upstream_status).toBe("PENDING");

    await simForceTask(taskid, { status: "running" }); // any case
    await fireAlarm(stub);
    expect((await stub.view())?.status).toBe("running");
    expect((await d1Row(init.id))?.status).toBe("running");

    await simForceTask(taskid, { status: null }); // back to the clock...
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    const done = await stub.view();
    expect(done?.status).toBe("succeeded");
    expect(done?.video_url).toMatch(/\/idfile\?path=.*video\.mp4$/);
    expect(done?.cover_url).toMatch(/cover\.jpeg$/);
    expect(done?.usage).toMatchObject({ credits: expect.any(Number) });
    expect(done?.completed_at).not.toBeNull();
    const row = await d1Row(init.id);
    expect(row?.status).toBe("succeeded");
    expect(row?.video_url).toBe(done?.video_url);
    // Terminal: no more polling, and the key is gone.
    const after = await stub.inspect();
    expect(after.hasKey).toBe(false);
    expect(after.alarm).toBeNull();
    const polls = (await simRequests(key, "tasks")).length;
    expect(polls).toBe(3);
  });

  it("never stores the caller's key in clear, and deletes it once the task is terminal", async () => {
    const key = uniqueKey();
    const { stub, taskid, init } = await startTask(key);
    const during = await storageDump(stub);
    expect(during).not.toContain(key);
    expect((await stub.inspect()).hasKey).toBe(true);
    const rows = await env.DB.prepare("SELECT * FROM tasks WHERE id = ?").bind(init.id).all();
    expect(JSON.stringify(rows.results)).not.toContain(key);
    await simForceTask(taskid, { status: "FAILED", error: "ERROR:content policy" });
    await fireAlarm(stub);
    const task = await stub.view();
    expect(task?.status).toBe("failed");
    expect(task?.error).toEqual({ code: "upstream_failed", message: "content policy" });
    expect((await stub.inspect()).hasKey).toBe(false);
    expect(await storageDump(stub)).not.toContain(key);
  });

  it.each([
    ["HTTP 500", { kind: "status", status: 500 }],
    ["HTTP 429", { kind: "status", status: 429, retryAfter: 3 }],
    ["a garbage body", { kind: "garbage" }],
    ["a hang (timeout)", { kind: "hang" }],
  ])("treats %s as 'try again later'", async (_name, fault) => {
    const key = uniqueKey();
    const { stub, taskid } = await startTask(key);
    await simFaults(key, [{ route: "tasks", times: 1, fault }]);
    await simForceTask(taskid, { status: "RUNNING" });
    await fireAlarm(stub);
    let view = await stub.view();
    expect(view?.status).toBe("queued");
    const inspected = await stub.inspect();
    expect(inspected.state?.poll.consecutiveErrors).toBe(1);
    expect(inspected.alarm).not.toBeNull();
    // The next poll goes through.
    await fireAlarm(stub);
    view = await stub.view();
    expect(view?.status).toBe("running");
  });

  it("understands wrapped task answers (data and data.resposne)", async () => {
    for (const variant of ["data", "resposne"]) {
      const key = uniqueKey();
      const { stub, taskid } = await startTask(key);
      await simFaults(key, [{ route: "tasks", fault: { kind: "wrapped", variant } }]);
      await simForceTask(taskid, { status: "SUCCEEDED" });
      await fireAlarm(stub);
      expect((await stub.view())?.status).toBe("succeeded");
    }
  });

  it("fails the task on 401 from the upstream", async () => {
    const key = uniqueKey();
    const { stub } = await startTask(key);
    await simFaults(key, [{ route: "tasks", fault: { kind: "status", status: 401, body: { error: "Invalid API Key" } } }]);
    await fireAlarm(stub);
    const task = await stub.view();
    expect(task?.status).toBe("failed");
    expect(task?.error?.code).toBe("upstream_unauthorized");
    expect((await stub.inspect()).hasKey).toBe(false);
  });

  it("expires the task after the deadline", async () => {
    const key = uniqueKey();
    const { stub, init } = await startTask(key);
    await runInDurableObject(stub, async (_i, state) => {
      const s = await state.storage.get<{ deadlineAt: number }>("state");
      if (s) await state.storage.put("state", { ...s, deadlineAt: Date.now() - 1 });
    });
    // The object keeps its state in memory: restart it so it reads what storage now says.
    await abortAllDurableObjects();
    const restarted = env.TASKS.get(env.TASKS.idFromName(init.id));
    await fireAlarm(restarted);
    expect((await restarted.view())?.status).toBe("expired");
    expect((await d1Row(init.id))?.status).toBe("expired");
  });

  it("keeps polling through 'not exist' answers until the status is known", async () => {
    const key = uniqueKey();
    const { stub, taskid } = await startTask(key);
    await simForceTask(taskid, { history: true });
    await fireAlarm(stub);
    expect((await stub.view())?.status).toBe("queued");
    await simForceTask(taskid, { history: false, status: "SUCCEEDED" });
    await fireAlarm(stub);
    expect((await stub.view())?.status).toBe("succeeded");
    // Archived afterwards: the relay's answer stays succeeded.
    await simForceTask(taskid, { history: true });
    expect(await fireAlarm(stub)).toBe(false);
    expect((await stub.view())?.status).toBe("succeeded");
  });

  it("survives a restart between alarms", async () => {
    const key = uniqueKey();
    const { stub, taskid, init } = await startTask(key);
    await simForceTask(taskid, { status: "RUNNING" });
    await fireAlarm(stub);
    await abortAllDurableObjects();
    const fresh = env.TASKS.get(env.TASKS.idFromName(init.id));
    expect((await fresh.view())?.status).toBe("running");
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(fresh);
    expect((await fresh.view())?.status).toBe("succeeded");
  });

  it("start() is idempotent", async () => {
    const key = uniqueKey();
    const { stub, init, task } = await startTask(key);
    const again = await stub.start({ ...init, metadata: { changed: "yes" } });
    expect(again).toEqual(task);
  });
});

describe("TaskTracker polling schedule", () => {
  it("records each finished task's change windows in D1 for the schedule to learn from", async () => {
    const key = uniqueKey();
    const { stub, taskid, init } = await startTask(key);
    await simForceTask(taskid, { status: "RUNNING" });
    await fireAlarm(stub);
    await simForceTask(taskid, { status: "SUCCEEDED" });
    await fireAlarm(stub);
    const row = await d1Row(init.id);
    const timing = JSON.parse(String(row?.timing_json)) as { changes: Array<{ afterMs: number; atMs: number }>; terminal: { afterMs: number; atMs: number } };
    expect(timing.changes).toHaveLength(1);
    expect(timing.terminal.atMs).toBeGreaterThanOrEqual(timing.terminal.afterMs);
    expect(row?.polls).toBe(2);
    expect(Number(row?.d1_writes)).toBeGreaterThanOrEqual(2);
  });

  it("learns a model's 30 s refresh grid from D1 and polls just after the next step", async () => {
    const llmid = `grid-model-${crypto.randomUUID()}`;
    // 40 finished tasks of a model whose status moved only at submission + k·30 s.
    const stmt = env.DB.prepare(
      `INSERT INTO tasks (id, tenant, source, llmid, status, metadata_json, webhooks_json, timing_json, created_at, updated_at, completed_at)
       VALUES (?, 't', 'v1', ?, 'succeeded', '{}', '[]', ?, ?, ?, ?)`,
    );
    const rows = [];
    for (let i = 0; i < 40; i++) {
      const steps = 3 + (i % 4);
      const offset = (i * 137) % 1500; // the relay's polls sit at various offsets from each step
      const timing = {
        changes: [{ afterMs: 30_000 - 1500 + offset, atMs: 30_000 + offset }],
        terminal: { afterMs: steps * 30_000 - 1500 + offset, atMs: steps * 30_000 + offset },
      };
      const at = new Date(Date.now() - (40 - i) * 60_000).toISOString();
      rows.push(stmt.bind(`task_seed_${i}_${llmid}`, llmid, JSON.stringify(timing), at, at, at));
    }
    await env.DB.batch(rows);
    const key = uniqueKey();
    const { stub } = await startTask(key, { llmid });
    const { state } = await stub.inspect();
    expect(state?.poll.profile?.grid?.periodMs).toBeCloseTo(30_000, -3);
    const poll = state?.poll;
    if (!poll || poll.nextAt === null) throw new Error("no poll planned");
    // Step 1 is out of reach of one max interval (30 s), so one poll comes first; the one
    // after it lands just after step 1 (30 s + the learned visibility spread), not 2 s later.
    const firstAt = poll.nextAt;
    recordObservation(poll, firstAt, "CREATED");
    const secondAt = planNextPoll({ now: firstAt, poll, config: loadConfig(env) });
    expect(secondAt - poll.submittedAt).toBeGreaterThanOrEqual(30_000);
    expect(secondAt - poll.submittedAt).toBeLessThan(35_000);
    recordObservation(poll, secondAt, "RUNNING");
    const thirdAt = planNextPoll({ now: secondAt, poll, config: loadConfig(env) });
    expect(thirdAt - secondAt).toBeGreaterThan(25_000);
  });
});

describe("TaskTracker and D1 outages", () => {
  it("keeps a status change that D1 refused and writes it on a later alarm", async () => {
    const key = uniqueKey();
    const { stub, taskid, init } = await startTask(key);
    const trigger = `fail_${init.id}`;
    // D1 "down" for this task's row only, so other tests are not affected.
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON tasks WHEN NEW.id = '${init.id}' BEGIN SELECT RAISE(ABORT, 'simulated D1 outage'); END`,
    ).run();
    try {
      await simForceTask(taskid, { status: "SUCCEEDED" });
      await fireAlarm(stub);
      expect((await stub.view())?.status).toBe("succeeded");
      expect((await d1Row(init.id))?.status).toBe("queued");
      const { state, alarm } = await stub.inspect();
      expect(state?.syncRetryAt).not.toBeNull();
      expect(alarm).not.toBeNull();
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    await fireAlarm(stub);
    const row = await d1Row(init.id);
    expect(row?.status).toBe("succeeded");
    expect(row?.video_url).toMatch(/video\.mp4$/);
    expect((await stub.inspect()).state?.syncRetryAt).toBeNull();
  });
});

describe("TaskTracker failure containment", () => {
  it("a poll that throws is counted as an error and pushed later, never left due", async () => {
    const key = uniqueKey();
    const { stub, init } = await startTask(key);
    // A key that no longer unseals (say KEY_ENCRYPTION_SECRET was changed under it).
    await runInDurableObject(stub, async (_instance, state) => {
      await state.storage.put("key", "v1.AAAA.AAAA");
    });
    await abortAllDurableObjects();
    const restarted = env.TASKS.get(env.TASKS.idFromName(init.id));
    const before = Date.now();
    await fireAlarm(restarted);
    const { state, alarm } = await restarted.inspect();
    expect(state?.task.status).toBe("queued");
    expect(state?.poll.consecutiveErrors).toBe(1);
    expect(alarm).not.toBeNull();
    expect(alarm ?? 0).toBeGreaterThanOrEqual(before + 1000);
  });
});
