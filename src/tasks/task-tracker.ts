import { DurableObject } from "cloudflare:workers";
import { loadConfig, type RelayConfig } from "../config/env";
import { seal, unseal } from "../lib/crypto";
import { newId } from "../lib/ids";
import { upstreamMessage } from "../upstream/client";
import { attemptDelivery, attemptLogRow, type AttemptResult } from "../webhooks/delivery";
import { taskEventType, type SubscribableEventType, type WebhookEvent } from "../webhooks/events";
import { nextRetryDelay } from "../webhooks/retry-schedule";
import { endpointSecrets, liveSecrets, tenantSecrets } from "../webhooks/secrets";
import {
  disableEndpointStatement,
  endpointsFor,
  getEndpoint,
  insertAttemptStatement,
  upsertDeliveryStatement,
  type AttemptRow,
  type DeliveryRow,
} from "../webhooks/storage";
import { planNextPoll, recordError, recordObservation, startPolling, timingProfileFor, timingSample, type PollData } from "./polling";
import { flatUsage, isTerminal, type Task, type TaskStatus, type TaskWebhook, type VideoMode } from "./task-object";
import { upsertTaskStatement, type TaskSource } from "./storage";
import { isNotExist, mapUpstreamStatus, parseUpstreamTaskAnswer, type UpstreamTaskAnswer } from "./upstream-status";

/**
 * One Durable Object per task: the single owner of that task's lifecycle.
 *
 * Everything it knows is in its own storage, never only in memory, so a restart or
 * eviction between alarms loses nothing. Its timers (next poll, next delivery attempts,
 * a D1 write to retry) share the one alarm: each is a due time in storage and the alarm
 * is set to the earliest. Alarms are at-least-once, so every step is idempotent: a poll
 * that repeats sees the same status, a delivery that repeats carries the same event id.
 */

export interface TaskInit {
  id: string;
  tenant: string;
  key: string;
  source: TaskSource;
  upstreamTaskid: string;
  upstreamStatus: string | null;
  model: string | null;
  llmid: string | null;
  mode: VideoMode | null;
  metadata: Record<string, string>;
  webhooks: TaskWebhook[];
  /** An upstream answer already read (POST /v1/tasks/watch): the task starts from it. */
  initialAnswer?: UpstreamTaskAnswer;
}

interface DeliveryState {
  id: string;
  eventId: string;
  eventType: SubscribableEventType;
  url: string;
  endpointId: string | null;
  status: DeliveryRow["status"];
  attempts: number;
  nextAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  syncedVersion: number;
}

interface StoredEvent {
  id: string;
  type: SubscribableEventType;
  createdAt: string;
  body: string;
  /** Account endpoints not yet looked up for this event (D1 may have been down). */
  fanoutPending: boolean;
}

interface TrackerState {
  task: Task;
  tenant: string;
  source: TaskSource;
  version: number;
  syncedVersion: number;
  deadlineAt: number;
  poll: PollData;
  /** When to retry writes to D1 that have not landed (null: nothing pending). */
  syncRetryAt: number | null;
  syncFailures: number;
  events: StoredEvent[];
  /** Task-webhook URLs that answered 410 Gone: never called again for this task. */
  goneUrls: string[];
  /** The time the alarm was last set for. */
  alarmAt: number | null;
  /** D1 statements run for this task so far (written with the task row, for cost accounting). */
  d1Writes: number;
  /** Bumped whenever delivery rows, attempts or endpoint disables await D1 (0: none). */
  d1Outbox: number;
}

const STATE = "state";
const KEY = "key";
const DLV = "dlv:";
const ATT = "att:";
const DISABLE = "disable:";
const PARALLEL_DELIVERIES = 4;

export class TaskTracker extends DurableObject<RelayBindings> {
  private waiters = new Set<() => void>();
  /**
   * The one in-memory copy of the state. Every handler (alarm, RPC) mutates this same
   * object, so one that resumes after an await never writes back a stale copy over
   * another's change; storage is written after each change and is what a restart reads.
   */
  private state: Promise<TrackerState | null> | undefined;
  /** The caller's key, unsealed once per object lifetime rather than on every poll. */
  private upstreamKey: string | null = null;

  private loadState(): Promise<TrackerState | null> {
    this.state ??= this.ctx.storage.get<TrackerState>(STATE).then((s) => s ?? null);
    return this.state;
  }

  private get config(): RelayConfig {
    return loadConfig(this.env);
  }

  // ---------------------------------------------------------------- RPC

  /** Creates the task (idempotent: a second call returns the existing task). */
  async start(init: TaskInit): Promise<Task> {
    const existing = await this.loadState();
    if (existing) return existing.task;
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    const upstreamStatus = init.upstreamStatus ? init.upstreamStatus.toUpperCase() : "CREATED";
    const task: Task = {
      id: init.id,
      object: "task",
      upstream_taskid: init.upstreamTaskid,
      model: init.model,
      llmid: init.llmid,
      mode: init.mode,
      status: mapUpstreamStatus(upstreamStatus) === "running" ? "running" : "queued",
      upstream_status: upstreamStatus,
      video_url: null,
      cover_url: null,
      usage: null,
      error: null,
      metadata: init.metadata,
      webhooks: init.webhooks,
      created_at: nowIso,
      updated_at: nowIso,
      completed_at: null,
    };
    const profile = init.llmid ? await timingProfileFor(this.env.DB, init.llmid).catch(() => null) : null;
    const poll = startPolling(init.id, now, upstreamStatus, profile);
    const state: TrackerState = {
      task,
      tenant: init.tenant,
      source: init.source,
      version: 1,
      syncedVersion: 0,
      deadlineAt: now + this.config.taskDeadlineMs,
      poll,
      syncRetryAt: null,
      syncFailures: 0,
      events: [],
      goneUrls: [],
      alarmAt: null,
      d1Writes: 0,
      d1Outbox: 0,
    };
    poll.nextAt = planNextPoll({ now, poll, config: this.config });
    await this.ctx.storage.put(KEY, await seal(this.config.keyEncryptionSecret, "upstream-key", init.key));
    await this.ctx.storage.put(STATE, state);
    this.state = Promise.resolve(state);
    this.upstreamKey = init.key;
    if (init.initialAnswer && !isNotExist(init.initialAnswer)) {
      recordObservation(poll, now, init.initialAnswer.status);
      await this.applyAnswer(state, now, init.initialAnswer);
    }
    // The index row goes in before the caller hears about the task, so a list or lookup
    // right after the 202 finds it; if D1 is down, the alarm keeps retrying.
    await this.flushD1(state);
    await this.scheduleAlarm(state);
    return state.task;
  }

  async view(): Promise<Task | null> {
    return (await this.loadState())?.task ?? null;
  }

  /** Holds the call until the task is terminal or `ms` pass (Prefer: wait). */
  async waitForTerminal(ms: number): Promise<Task | null> {
    const state = await this.loadState();
    if (!state || isTerminal(state.task.status) || ms <= 0) return state?.task ?? null;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
    return this.view();
  }

  /** Adds a webhook; on a terminal task its terminal event goes out to it at once. */
  async addWebhook(webhook: TaskWebhook): Promise<Task | null> {
    const state = await this.loadState();
    if (!state) return null;
    const now = Date.now();
    state.task.webhooks = [...state.task.webhooks, webhook];
    this.touch(state, now);
    const deliveries: DeliveryState[] = [];
    for (const event of state.events) {
      if (webhook.events.includes(event.type) && isTerminal(state.task.status) && taskEventType(state.task.status) === event.type) {
        deliveries.push(this.newDelivery(event, webhook.url, null, now, state.task.webhooks.length - 1));
      }
    }
    await this.saveDeliveries(state, deliveries);
    await this.ctx.storage.put(STATE, state);
    await this.flushD1(state);
    await this.scheduleAlarm(state);
    return state.task;
  }

  /** Sends a delivery again now, with the same event id; the attempt is logged. */
  async redeliver(deliveryId: string): Promise<{ delivery_id: string; ok: boolean; status_code: number | null; error: string | null } | null> {
    const state = await this.loadState();
    const delivery = await this.ctx.storage.get<DeliveryState>(DLV + deliveryId);
    if (!state || !delivery) return null;
    const result = await this.attempt(state, delivery, "redeliver", Date.now());
    await this.flushD1(state);
    await this.scheduleAlarm(state);
    return { delivery_id: delivery.id, ok: result.ok, status_code: result.statusCode, error: result.error };
  }

  /** For tests and operators: what the object holds (never the key). */
  async inspect(): Promise<{ state: TrackerState | null; hasKey: boolean; deliveries: DeliveryState[]; alarm: number | null }> {
    const state = (await this.loadState()) ?? null;
    const hasKey = (await this.ctx.storage.get<string>(KEY)) !== undefined;
    const deliveries = [...(await this.ctx.storage.list<DeliveryState>({ prefix: DLV })).values()];
    return { state, hasKey, deliveries, alarm: await this.ctx.storage.getAlarm() };
  }

  // ---------------------------------------------------------------- alarm

  override async alarm(): Promise<void> {
    const state = await this.loadState();
    if (!state) return;
    // Whatever was due by the time this alarm was set for is due now, even if the alarm
    // runs early (a test firing it, or the runtime's own skew).
    const now = Math.max(Date.now(), state.alarmAt ?? 0);
    try {
      if (!isTerminal(state.task.status)) {
        if (now >= state.deadlineAt) {
          await this.transition(state, now, "expired", state.task.upstream_status, {
            error: { code: "deadline_exceeded", message: `No terminal status from the upstream within ${Math.round(this.config.taskDeadlineMs / 1000)} s.` },
          });
        } else if (state.poll.nextAt !== null && state.poll.nextAt <= now) {
          await this.poll(state, now).catch((err: unknown) => {
            // Whatever broke (a key that no longer unseals, a bug), the next poll must not
            // be due again at once, or the alarm would spin.
            console.error(JSON.stringify({ level: "error", msg: "poll failed", task: state.task.id, error: String(err) }));
            recordError(state.poll, Date.now(), null);
            state.poll.nextAt = planNextPoll({ now: Date.now(), poll: state.poll, config: this.config });
          });
        }
      }
      await this.fanOut(state, now);
      await this.deliverDue(state, Math.max(Date.now(), now));
    } finally {
      // No state write here: scheduleAlarm writes it last, and every transition wrote it
      // already before any network wait (so a crash cannot separate a key deletion from
      // the terminal status that allowed it).
      await this.flushD1(state);
      // Set late, after the work: a handler that throws before this is retried by the
      // runtime for the alarm that is already set.
      await this.scheduleAlarm(state);
    }
  }

  // ---------------------------------------------------------------- polling

  private async poll(state: TrackerState, now: number): Promise<void> {
    const sealed = this.upstreamKey === null ? await this.ctx.storage.get<string>(KEY) : null;
    if ((this.upstreamKey === null && !sealed) || !state.task.upstream_taskid) {
      await this.transition(state, now, "failed", state.task.upstream_status, {
        error: { code: "tracking_lost", message: "The relay no longer holds the key needed to poll this task." },
      });
      return;
    }
    this.upstreamKey ??= await unseal(this.config.keyEncryptionSecret, "upstream-key", sealed ?? "");
    const key = this.upstreamKey;
    const outcome = await this.fetchStatus(key, state.task.upstream_taskid, state.poll.usePost);
    state.poll.polls++;
    const after = Date.now();
    switch (outcome.kind) {
      case "later": {
        recordError(state.poll, after, outcome.retryAfterMs);
        break;
      }
      case "method_not_allowed": {
        // The page documents GET, its example uses POST: switch once and retry soon.
        state.poll.usePost = true;
        recordError(state.poll, after, null);
        break;
      }
      case "unauthorized": {
        await this.transition(state, after, "failed", state.task.upstream_status, {
          error: { code: "upstream_unauthorized", message: `The upstream refused the key while polling (HTTP ${outcome.status}): ${outcome.message}` },
        });
        return;
      }
      case "answer": {
        const answer = outcome.answer;
        if (isNotExist(answer)) {
          // Right after submission the upstream may not know the task yet; much later it
          // may have archived it. Neither says the job failed: keep trying until the deadline.
          recordError(state.poll, after, null);
          break;
        }
        recordObservation(state.poll, after, answer.status);
        await this.applyAnswer(state, after, answer);
        break;
      }
    }
    if (!isTerminal(state.task.status)) state.poll.nextAt = planNextPoll({ now: Date.now(), poll: state.poll, config: this.config });
  }

  /** A readable upstream answer: move the task to the status it says (no-op if unchanged). */
  private async applyAnswer(state: TrackerState, at: number, answer: UpstreamTaskAnswer): Promise<void> {
    const status = mapUpstreamStatus(answer.status);
    if (status === state.task.status && answer.status === state.task.upstream_status) return;
    const extra: Partial<Task> = {};
    if (status === "succeeded") {
      extra.video_url = answer.video ?? null;
      extra.cover_url = answer.image ?? null;
      extra.usage = answer.usage ? flatUsage(answer.usage) : null;
    } else if (status === "failed") {
      extra.error =
        answer.status === "UNKNOWN"
          ? { code: "upstream_unknown", message: "The upstream stopped tracking this task (status UNKNOWN)." }
          : { code: "upstream_failed", message: answer.error ?? "The upstream reported the task as failed." };
    }
    await this.transition(state, at, status, answer.status, extra);
  }

  private async fetchStatus(
    key: string,
    taskid: string,
    usePost: boolean,
  ): Promise<
    | { kind: "answer"; answer: NonNullable<ReturnType<typeof parseUpstreamTaskAnswer>> }
    | { kind: "later"; retryAfterMs: number | null }
    | { kind: "unauthorized"; status: number; message: string }
    | { kind: "method_not_allowed" }
  > {
    const url = `${this.config.upstreamBaseUrl}/llmage/tasks?taskid=${encodeURIComponent(taskid)}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: usePost ? "POST" : "GET",
        headers: usePost
          ? { authorization: `Bearer ${key}`, "content-type": "application/json" }
          : { authorization: `Bearer ${key}` },
        ...(usePost ? { body: JSON.stringify({ taskid }) } : {}),
        signal: AbortSignal.timeout(this.config.upstreamTimeoutMs),
        redirect: "manual",
      });
    } catch {
      return { kind: "later", retryAfterMs: null };
    }
    const text = await res.text().catch(() => "");
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    if (res.status === 401 || res.status === 403) {
      return { kind: "unauthorized", status: res.status, message: upstreamMessage(body, "Invalid API Key") };
    }
    if (res.status === 405 && !usePost) return { kind: "method_not_allowed" };
    if (!res.ok) {
      const retryAfter = Number(res.headers.get("retry-after"));
      return { kind: "later", retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null };
    }
    const answer = parseUpstreamTaskAnswer(body);
    return answer ? { kind: "answer", answer } : { kind: "later", retryAfterMs: null };
  }

  // ---------------------------------------------------------------- transitions

  private async transition(
    state: TrackerState,
    now: number,
    status: TaskStatus,
    upstreamStatus: string | null,
    extra: Partial<Task>,
  ): Promise<void> {
    const previous = state.task.status;
    // A task seen succeeding stays succeeded, whatever the upstream says later.
    if (isTerminal(previous)) return;
    Object.assign(state.task, extra);
    state.task.status = status;
    state.task.upstream_status = upstreamStatus;
    if (status === previous) {
      // Only the upstream's word changed (CREATED → PENDING, both "queued"): the object
      // answers reads of a live task itself, so D1 can learn it with the next real change
      // (one D1 statement less per task; BENCHMARKS.md, docs/SCALING.md).
      state.task.updated_at = new Date(now).toISOString();
      await this.ctx.storage.put(STATE, state);
      return;
    }
    this.touch(state, now);
    if (isTerminal(status)) {
      state.task.completed_at = new Date(now).toISOString();
      state.poll.nextAt = null;
      // The key was only kept to poll; a finished task needs it no more.
      this.upstreamKey = null;
      await this.ctx.storage.delete(KEY);
      for (const wake of [...this.waiters]) wake();
    }
    if (status !== previous) {
      const type = taskEventType(status);
      if (type) this.emit(state, type, now);
    }
    await this.ctx.storage.put(STATE, state);
  }

  private touch(state: TrackerState, now: number): void {
    state.task.updated_at = new Date(now).toISOString();
    state.version++;
  }

  // ---------------------------------------------------------------- webhooks

  private emit(state: TrackerState, type: SubscribableEventType, now: number): void {
    const id = newId("evt");
    const createdAt = new Date(now).toISOString();
    const event: WebhookEvent<Task> = { id, type, created_at: createdAt, data: structuredClone(state.task) };
    state.events.push({ id, type, createdAt, body: JSON.stringify(event), fanoutPending: true });
  }

  /** Turns new events into deliveries: the task's own webhooks and the tenant's endpoints. */
  private async fanOut(state: TrackerState, now: number): Promise<void> {
    for (const event of state.events) {
      if (!event.fanoutPending) continue;
      const deliveries: DeliveryState[] = [];
      state.task.webhooks.forEach((webhook, index) => {
        if (webhook.events.includes(event.type) && !state.goneUrls.includes(webhook.url)) {
          deliveries.push(this.newDelivery(event, webhook.url, null, now, index));
        }
      });
      try {
        for (const endpoint of await endpointsFor(this.env.DB, state.tenant, event.type)) {
          deliveries.push(this.newDelivery(event, endpoint.url, endpoint.id, now));
        }
      } catch (err) {
        // D1 unreachable: try the whole event again on the next alarm (ids are stable).
        console.error(JSON.stringify({ level: "warn", msg: "webhook fan-out deferred", task: state.task.id, error: String(err) }));
        state.syncRetryAt = now + this.syncBackoff(state);
        continue;
      }
      await this.saveDeliveries(state, deliveries);
      event.fanoutPending = false;
    }
  }

  /** `webhookIndex`: the webhook's position in the task's list (for task webhooks). */
  private newDelivery(event: StoredEvent, url: string, endpointId: string | null, now: number, webhookIndex = 0): DeliveryState {
    const iso = new Date(now).toISOString();
    // Deterministic per (event, destination): a fan-out repeated after a crash makes the
    // same delivery, not a second one.
    const id = `dlv_${event.id.slice(4)}${endpointId ? `_${endpointId.slice(3)}` : `_t${webhookIndex}`}`;
    return {
      id,
      eventId: event.id,
      eventType: event.type,
      url,
      endpointId,
      status: "pending",
      attempts: 0,
      nextAt: now,
      lastStatusCode: null,
      lastError: null,
      createdAt: iso,
      updatedAt: iso,
      version: 1,
      syncedVersion: 0,
    };
  }

  private async saveDeliveries(state: TrackerState, deliveries: DeliveryState[]): Promise<void> {
    if (deliveries.length === 0) return;
    const entries: Record<string, DeliveryState | TrackerState> = {};
    for (const d of deliveries) {
      const existing = await this.ctx.storage.get<DeliveryState>(DLV + d.id);
      if (!existing) entries[DLV + d.id] = d;
    }
    if (Object.keys(entries).length === 0) return;
    state.d1Outbox = (state.d1Outbox ?? 0) + 1;
    entries[STATE] = state;
    await this.ctx.storage.put(entries);
  }

  private async deliverDue(state: TrackerState, now: number): Promise<void> {
    const due = [...(await this.ctx.storage.list<DeliveryState>({ prefix: DLV })).values()].filter(
      (d) => d.status === "pending" && d.nextAt !== null && d.nextAt <= now,
    );
    for (let i = 0; i < due.length; i += PARALLEL_DELIVERIES) {
      await Promise.all(due.slice(i, i + PARALLEL_DELIVERIES).map((d) => this.attempt(state, d, "schedule", Date.now())));
    }
  }

  private async attempt(state: TrackerState, delivery: DeliveryState, trigger: AttemptRow["trigger"], now: number): Promise<AttemptResult> {
    const event = state.events.find((e) => e.id === delivery.eventId);
    let result: AttemptResult;
    let url = delivery.url;
    if (!event) {
      result = failedBeforeSending("event body missing");
    } else {
      // A D1 blip while reading the secrets is a failed attempt like any other: it is
      // logged and retried on the schedule, never left due (the alarm would spin).
      const target = await this.resolveTarget(state, delivery).catch((err: unknown) => ({
        error: `could not load the signing secret: ${err instanceof Error ? err.message : String(err)}`,
        transient: true,
      }));
      if ("error" in target && "transient" in target) {
        result = failedBeforeSending(target.error);
      } else if ("error" in target) {
        result = failedBeforeSending(target.error, true);
      } else {
        url = target.url;
        result = await attemptDelivery({
          url,
          eventId: event.id,
          body: event.body,
          secrets: target.secrets,
          timeoutMs: this.config.webhookTimeoutMs,
          allowPrivate: this.config.webhookAllowPrivate,
        });
      }
    }
    const attemptNumber = delivery.attempts + 1;
    const attemptedAt = new Date(now).toISOString();
    delivery.attempts = attemptNumber;
    delivery.url = url;
    delivery.lastStatusCode = result.statusCode;
    delivery.lastError = result.error;
    delivery.updatedAt = new Date().toISOString();
    delivery.version++;
    if (result.ok) {
      delivery.status = "succeeded";
      delivery.nextAt = null;
    } else if (result.gone) {
      delivery.status = "gone";
      delivery.nextAt = null;
      if (delivery.endpointId) {
        await this.ctx.storage.put(DISABLE + delivery.endpointId, "receiver answered 410 Gone");
      } else if (!state.goneUrls.includes(delivery.url)) {
        state.goneUrls.push(delivery.url);
      }
    } else if (trigger === "schedule" || delivery.status === "pending") {
      const delay = result.permanent
        ? null
        : nextRetryDelay({
            attemptsMade: attemptNumber,
            scheduleMs: this.config.webhookRetryScheduleMs,
            retryAfterMs: result.retryAfterMs,
            random: Math.random,
          });
      delivery.status = delay === null ? "failed" : "pending";
      delivery.nextAt = delay === null ? null : Date.now() + delay;
    }
    const attemptRow = attemptLogRow({ deliveryId: delivery.id, tenant: state.tenant, attempt: attemptNumber, trigger, attemptedAt }, result);
    state.d1Outbox = (state.d1Outbox ?? 0) + 1;
    // One write: the attempt, its delivery and the note that D1 has not seen them yet.
    await this.ctx.storage.put({ [DLV + delivery.id]: delivery, [ATT + attemptRow.id]: attemptRow, [STATE]: state });
    return result;
  }

  private async resolveTarget(state: TrackerState, delivery: DeliveryState): Promise<{ url: string; secrets: string[] } | { error: string }> {
    const now = Date.now();
    if (!delivery.endpointId) {
      const pair = await tenantSecrets(this.env.DB, this.config.keyEncryptionSecret, state.tenant);
      return { url: delivery.url, secrets: liveSecrets(pair, now) };
    }
    const endpoint = await getEndpoint(this.env.DB, state.tenant, delivery.endpointId);
    if (!endpoint) return { error: "endpoint deleted" };
    if (!endpoint.enabled) return { error: `endpoint disabled${endpoint.disabled_reason ? `: ${endpoint.disabled_reason}` : ""}` };
    return { url: endpoint.url, secrets: liveSecrets(await endpointSecrets(this.config.keyEncryptionSecret, endpoint), now) };
  }

  // ---------------------------------------------------------------- D1 sync

  /**
   * Writes what D1 has not seen yet (task row, delivery states, attempt rows, endpoint
   * disables) in one batch. On failure the alarm retries with backoff; versions make each
   * write idempotent and order-proof.
   */
  private async flushD1(state: TrackerState): Promise<void> {
    const db = this.env.DB;
    const statements: D1PreparedStatement[] = [];
    const version = state.version;
    const taskDirty = state.version > state.syncedVersion;
    const outbox = state.d1Outbox ?? 1;
    // Most alarms are polls that changed nothing: no storage listing, no D1 call.
    if (!taskDirty && outbox === 0) return;
    const deliveries = [...(await this.ctx.storage.list<DeliveryState>({ prefix: DLV })).values()].filter((d) => d.version > d.syncedVersion);
    for (const d of deliveries) {
      statements.push(
        upsertDeliveryStatement(db, {
          id: d.id,
          tenant: state.tenant,
          task_id: state.task.id,
          endpoint_id: d.endpointId,
          url: d.url,
          event_id: d.eventId,
          event_type: d.eventType,
          status: d.status,
          attempts: d.attempts,
          next_attempt_at: d.nextAt !== null ? new Date(d.nextAt).toISOString() : null,
          last_status_code: d.lastStatusCode,
          last_error: d.lastError,
          created_at: d.createdAt,
          updated_at: d.updatedAt,
        }),
      );
    }
    const attempts = await this.ctx.storage.list<AttemptRow>({ prefix: ATT });
    for (const a of attempts.values()) statements.push(insertAttemptStatement(db, a));
    const disables = await this.ctx.storage.list<string>({ prefix: DISABLE });
    for (const [k, reason] of disables) statements.push(disableEndpointStatement(db, k.slice(DISABLE.length), reason, new Date().toISOString()));
    if (taskDirty) {
      statements.push(
        upsertTaskStatement(db, {
          task: state.task,
          tenant: state.tenant,
          source: state.source,
          timingJson: isTerminal(state.task.status) ? jsonOrNull(timingSample(state.poll)) : null,
          polls: state.poll.polls,
          // Includes this batch: the row tells what the task has cost D1 so far.
          d1Writes: state.d1Writes + statements.length + 1,
          version,
        }),
      );
    }
    if (statements.length === 0) return;
    try {
      await db.batch(statements);
    } catch (err) {
      state.syncFailures++;
      state.syncRetryAt = Date.now() + this.syncBackoff(state);
      console.error(JSON.stringify({ level: "warn", msg: "D1 write deferred", task: state.task.id, error: String(err) }));
      return;
    }
    // Another handler may have queued more while the batch was in flight; keep those pending.
    if (state.d1Outbox === outbox) state.d1Outbox = 0;
    if (taskDirty) state.syncedVersion = Math.max(state.syncedVersion, version);
    state.d1Writes += statements.length;
    state.syncFailures = 0;
    state.syncRetryAt = null;
    const updates: Record<string, DeliveryState> = {};
    for (const d of deliveries) {
      const current = await this.ctx.storage.get<DeliveryState>(DLV + d.id);
      if (current) {
        current.syncedVersion = Math.max(current.syncedVersion, d.version);
        updates[DLV + d.id] = current;
      }
    }
    if (Object.keys(updates).length > 0) await this.ctx.storage.put(updates);
    await this.ctx.storage.delete([...attempts.keys(), ...disables.keys()]);
  }

  private syncBackoff(state: TrackerState): number {
    return Math.min(60_000, 1_000 * 2 ** Math.min(state.syncFailures, 6));
  }

  // ---------------------------------------------------------------- alarm scheduling

  private async scheduleAlarm(state: TrackerState): Promise<void> {
    const times: number[] = [];
    if (!isTerminal(state.task.status)) {
      if (state.poll.nextAt !== null) times.push(state.poll.nextAt);
      times.push(state.deadlineAt);
    }
    if (state.syncRetryAt !== null) times.push(state.syncRetryAt);
    if (state.events.some((e) => e.fanoutPending)) times.push(Date.now());
    for (const d of (await this.ctx.storage.list<DeliveryState>({ prefix: DLV })).values()) {
      if (d.status === "pending" && d.nextAt !== null) times.push(d.nextAt);
    }
    if (times.length === 0) {
      state.alarmAt = null;
      await this.ctx.storage.put(STATE, state);
      await this.ctx.storage.deleteAlarm();
      return;
    }
    state.alarmAt = Math.min(...times);
    await this.ctx.storage.put(STATE, state);
    await this.ctx.storage.setAlarm(state.alarmAt);
  }
}

function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function failedBeforeSending(error: string, permanent = false): AttemptResult {
  return { ok: false, statusCode: null, durationMs: 0, error, responseSnippet: null, retryAfterMs: null, gone: false, permanent };
}
