import type { RelayConfig } from "../config/env";
import { nextPollAt, shouldProbe } from "./poll-schedule";
import { recentTimings } from "./storage";
import { learnTimingProfile, toTimingSample, type PollRecord, type TimingProfile, type TimingSample } from "./timing-profile";

/**
 * The task tracker's polling record: plain data in the Durable Object's storage (it must
 * survive restarts, so no class instances), the functions that update it, and the bridge
 * to the pure schedule (poll-schedule.ts) and the per-model profile it learns from D1.
 */
export interface PollData {
  submittedAt: number;
  nextAt: number | null;
  polls: number;
  consecutiveErrors: number;
  retryAfterMs: number | null;
  usePost: boolean;
  lastPollAt: number | null;
  /** The last status the upstream answered (or the submission's). */
  lastStatus: string;
  /**
   * Successful polls, compressed: every change and the poll just before it are kept (the
   * change happened in between — that window is what the schedule learns from); a run
   * of unchanged answers keeps only its latest. Stays small however long the task runs.
   */
  history: PollRecord[];
  profile: TimingProfile | null;
  /** A small share of tasks poll around grid steps densely so the model's grid stays verified. */
  probe: boolean;
}

/** 1 task in 32 probes (see poll-schedule.ts `shouldProbe`). */
const PROBE_SHARE = 1 / 32;

export function startPolling(taskId: string, now: number, status: string, profile: TimingProfile | null): PollData {
  return {
    submittedAt: now,
    nextAt: null,
    polls: 0,
    consecutiveErrors: 0,
    retryAfterMs: null,
    usePost: false,
    lastPollAt: null,
    lastStatus: status.toUpperCase(),
    history: [],
    profile,
    probe: shouldProbe(taskId, PROBE_SHARE),
  };
}

export function recordObservation(poll: PollData, at: number, status: string): void {
  const upper = status.toUpperCase();
  const changed = upper !== poll.lastStatus;
  poll.consecutiveErrors = 0;
  poll.retryAfterMs = null;
  poll.lastPollAt = at;
  poll.lastStatus = upper;
  const last = poll.history.at(-1);
  const beforeLast = poll.history.at(-2);
  // Two unchanged answers in a row: the older one bounds nothing any more.
  if (!changed && last && !last.changed && beforeLast && !beforeLast.changed) poll.history.pop();
  poll.history.push({ at, status: upper, changed });
}

export function recordError(poll: PollData, at: number, retryAfterMs: number | null): void {
  poll.consecutiveErrors++;
  poll.retryAfterMs = retryAfterMs;
  poll.lastPollAt = at;
}

export function planNextPoll(input: { now: number; poll: PollData; config: RelayConfig }): number {
  const { now, poll, config } = input;
  return nextPollAt({
    now,
    submittedAt: poll.submittedAt,
    history: poll.history,
    profile: poll.profile,
    config: { minIntervalMs: config.pollMinIntervalMs, maxIntervalMs: config.pollMaxIntervalMs },
    consecutiveErrors: poll.consecutiveErrors,
    ...(poll.retryAfterMs !== null ? { retryAfterMs: poll.retryAfterMs } : {}),
    probe: poll.probe,
  });
}

/** What D1 keeps of a finished task for the schedule to learn from (null: nothing usable). */
export function timingSample(poll: PollData): TimingSample | null {
  return toTimingSample(poll.submittedAt, poll.history);
}

// Profiles are learned from the model's last finished tasks in D1 and kept per isolate for
// a few minutes: one D1 read per model per isolate, not one per task.
const PROFILE_TTL_MS = 5 * 60_000;
const LEARN_FROM = 600;
const profiles = new Map<string, { at: number; profile: Promise<TimingProfile | null> }>();

export function timingProfileFor(db: D1Database, llmid: string, now = Date.now()): Promise<TimingProfile | null> {
  const cached = profiles.get(llmid);
  if (cached && now - cached.at < PROFILE_TTL_MS) return cached.profile;
  const profile = recentTimings(db, llmid, LEARN_FROM).then((rows) => {
    const samples: TimingSample[] = [];
    for (const row of rows) {
      try {
        const sample = JSON.parse(row) as TimingSample;
        if (sample && Array.isArray(sample.changes) && sample.terminal) samples.push(sample);
      } catch {
        // A row from an older format: nothing to learn from it.
      }
    }
    return learnTimingProfile(samples);
  });
  profiles.set(llmid, { at: now, profile });
  profile.catch(() => profiles.delete(llmid));
  return profile;
}
