import type { RelayConfig } from "../config/env";

/**
 * The task tracker's polling record: plain data kept in the Durable Object's storage
 * (it must survive a restart, so no class instances), plus the functions that update it.
 * When to poll next is decided by the pure schedule in poll-schedule.ts.
 */
export interface PollObservation {
  /** ms since submission */
  at: number;
  status: string;
}

export interface PollData {
  submittedAt: number;
  nextAt: number | null;
  polls: number;
  consecutiveErrors: number;
  retryAfterMs: number | null;
  usePost: boolean;
  lastPollAt: number | null;
  /** Every successful poll's answer, relative to submission (kept short: see record). */
  history: PollObservation[];
  profile: TimingProfile | null;
}

import type { TimingProfile } from "./timing-profile";

export function startPolling(now: number, status: string, profile: TimingProfile | null): PollData {
  return {
    submittedAt: now,
    nextAt: null,
    polls: 0,
    consecutiveErrors: 0,
    retryAfterMs: null,
    usePost: false,
    lastPollAt: null,
    history: [{ at: 0, status }],
    profile,
  };
}

export function recordObservation(poll: PollData, at: number, status: string): void {
  poll.consecutiveErrors = 0;
  poll.retryAfterMs = null;
  poll.lastPollAt = at;
  const rel = at - poll.submittedAt;
  const last = poll.history[poll.history.length - 1];
  // Keep every change and the poll just before it (the change happened in between);
  // repeated answers in between only move the "last seen unchanged" mark.
  if (last && last.status === status && poll.history.length >= 2) {
    const beforeLast = poll.history[poll.history.length - 2];
    if (beforeLast && beforeLast.status === status) {
      last.at = rel;
      return;
    }
  }
  poll.history.push({ at: rel, status });
}

export function recordError(poll: PollData, at: number, retryAfterMs: number | null): void {
  poll.consecutiveErrors++;
  poll.retryAfterMs = retryAfterMs;
  poll.lastPollAt = at;
}

export interface PollPlanInput {
  now: number;
  poll: PollData;
  config: RelayConfig;
}

/** Interim schedule: quick start, exponential backoff within the configured bounds. */
export function planNextPoll(input: PollPlanInput): number {
  const { now, poll, config } = input;
  const base = Math.min(config.pollMaxIntervalMs, config.pollMinIntervalMs * 2 ** Math.max(0, Math.floor(poll.polls / 2)));
  const errorFloor = poll.consecutiveErrors > 0 ? config.pollMinIntervalMs * 2 ** Math.min(poll.consecutiveErrors, 5) : 0;
  const wait = Math.min(config.pollMaxIntervalMs, Math.max(base, errorFloor, poll.retryAfterMs ?? 0));
  return now + Math.max(config.pollMinIntervalMs, wait);
}

/** The timing of a finished task, stored in D1 for the schedule to learn from. */
export function timingSample(poll: PollData, finalStatus: string): { submitted_at: number; history: PollObservation[]; final: string } {
  return { submitted_at: poll.submittedAt, history: poll.history, final: finalStatus };
}

export async function timingProfileFor(_db: D1Database, _llmid: string): Promise<TimingProfile | null> {
  return null;
}
