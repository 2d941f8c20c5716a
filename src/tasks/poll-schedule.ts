/**
 * When a task's Durable Object polls `GET /llmage/tasks?taskid=` next.
 *
 * Pure: time in, time out. The DO stores its own polls (`history`), loads its model's
 * `TimingProfile` (timing-profile.ts, learned from D1) and calls `nextPollAt` after every
 * poll. Three regimes:
 *
 * - no profile yet: quick at first, then back off (2 s, 2 s, 4 s, 8 s, … up to max);
 * - continuous upstream (status visible the moment it changes): sparse while completion
 *   is unlikely, every `minIntervalMs` through the window where most tasks finish,
 *   backing off again past it;
 * - refresh grid (status re-read only every `query_period`, counted from submission):
 *   one poll just after each expected step, since polling between steps cannot see
 *   anything new.
 *
 * Whatever the regime, the result lies in [now + min, now + max].
 */
import {
  isTerminalStatus,
  type PollRecord,
  type RefreshGrid,
  type RunTimeQuantile,
  type TimingProfile,
} from "./timing-profile";

export type { PollRecord, TimingProfile } from "./timing-profile";
export { isTerminalStatus };

/** POLL_MIN_INTERVAL_MS / POLL_MAX_INTERVAL_MS (docs/API.md). */
export interface PollConfig {
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
}

export interface ScheduleTuning {
  /** Share of completions the dense (min-interval) polling should cover. */
  readonly denseCoverage: number;
  /** Safety margin after a grid step's expected visibility window (alarm and clock slop). */
  readonly guardMs: number;
  /** ...plus this share of the window's width, which is itself an estimate. */
  readonly spreadGuardFraction: number;
  /** Probe brackets start this much before a step's earliest expected visibility. */
  readonly probeLeadMs: number;
  /** Outside dense windows the interval is this factor × the time since the last dense window (or submission). */
  readonly backoffFactor: number;
}

export const DEFAULT_TUNING: ScheduleTuning = {
  denseCoverage: 0.985,
  guardMs: 250,
  spreadGuardFraction: 0.1,
  probeLeadMs: 500,
  backoffFactor: 1,
};

export interface NextPollInput {
  /** The current time (ms), normally the time of the poll just made. */
  readonly now: number;
  /** When the upstream accepted the task (ms). */
  readonly submittedAt: number;
  /** This task's polls so far, oldest first. */
  readonly history: readonly PollRecord[];
  /** The model's learned profile, or null while there is none. */
  readonly profile: TimingProfile | null;
  readonly config: PollConfig;
  /** Failed polls in a row (upstream 5xx, 429, timeouts, malformed answers): backs off exponentially. */
  readonly consecutiveErrors?: number;
  /** The upstream's Retry-After, as a floor (the max interval still wins). */
  readonly retryAfterMs?: number;
  /**
   * Set for a small share of tasks (see `shouldProbe`): on a grid, each likely step is
   * bracketed by min-interval polls. One poll per step tells the learner nothing new
   * (every window is one step wide), so without probes the grid could neither be
   * re-confirmed nor noticed to have changed.
   */
  readonly probe?: boolean;
  readonly tuning?: Partial<ScheduleTuning>;
}

export type PollMode =
  | "backoff" // no profile
  | "dense" // inside the likely completion window
  | "sparse" // outside it
  | "grid" // just after an expected refresh step
  | "grid-skip" // on a step, but a step where completion is unlikely
  | "grid-forced" // the next step is beyond the max interval
  | "grid-probe" // part of a probe bracket
  | "error-backoff"; // pushed later by errors or Retry-After

export interface PollPlan {
  readonly at: number;
  readonly mode: PollMode;
}

/** Below this a "grid" is no grid worth aligning to (and stepping through it would be slow). */
const MIN_GRID_PERIOD_MS = 1_000;

/** The absolute time of the next poll (whole ms for whole-ms input), within [now + min, now + max]. */
export function nextPollAt(input: NextPollInput): number {
  return planNextPoll(input).at;
}

/** `nextPollAt` with the reason, for logs and benchmarks. */
export function planNextPoll(input: NextPollInput): PollPlan {
  const tuning: ScheduleTuning = { ...DEFAULT_TUNING, ...input.tuning };
  const min = Math.max(0, input.config.minIntervalMs);
  const max = Math.max(min, input.config.maxIntervalMs);
  const { now, submittedAt, profile } = input;
  const earliest = now + min;
  const latest = now + max;

  let plan: PollPlan;
  if (profile === null) {
    plan = { at: now + backoffInterval(now - submittedAt, min, max, tuning), mode: "backoff" };
  } else if (profile.grid !== null && profile.grid.periodMs >= MIN_GRID_PERIOD_MS) {
    plan = gridPlan(input, profile.grid, profile.runTimeQuantiles, min, max, tuning);
  } else {
    plan = continuousPlan(input, profile.runTimeQuantiles, min, max, tuning);
  }

  let at = plan.at;
  let mode = plan.mode;
  // One failed poll is retried on the normal schedule (a lone 5xx says little, and
  // waiting longer costs latency); from the second in a row: 2×, 4×, 8× … the min interval.
  const errors = Math.max(0, Math.floor(input.consecutiveErrors ?? 0));
  const floor = Math.max(
    errors > 1 ? now + Math.min(max, min * 2 ** Math.min(errors - 1, 30)) : earliest,
    now + Math.max(0, input.retryAfterMs ?? 0),
  );
  if (floor > at) {
    at = floor;
    mode = "error-backoff";
  }
  return { at: Math.min(latest, Math.max(earliest, Math.round(at))), mode };
}

/** Interval growing with the time already waited: 2 s, 2 s, 4 s, 8 s, … at factor 1. */
function backoffInterval(sinceMs: number, min: number, max: number, t: ScheduleTuning): number {
  return Math.min(max, Math.max(min, Math.max(0, sinceMs) * t.backoffFactor));
}

// ── Continuous upstream ─────────────────────────────────────────────────────────────────

export interface TimeWindow {
  /** ms since submission */
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * The shortest set of time windows holding `coverage` of the completions (the highest-
 * density segments of the quantile table). A mixture, such as early moderation failures
 * plus the main run-time mode, gives several windows.
 */
export function likelyCompletionWindows(
  quantiles: readonly RunTimeQuantile[],
  coverage: number,
): readonly TimeWindow[] {
  // Called on every poll with the same profile: remember the answer per quantile table.
  let byCoverage = windowCache.get(quantiles);
  if (!byCoverage) {
    byCoverage = new Map();
    windowCache.set(quantiles, byCoverage);
  }
  const cached = byCoverage.get(coverage);
  if (cached) return cached;
  const computed = Object.freeze(computeLikelyWindows(quantiles, coverage));
  byCoverage.set(coverage, computed);
  return computed;
}

const windowCache = new WeakMap<readonly RunTimeQuantile[], Map<number, readonly TimeWindow[]>>();

function computeLikelyWindows(quantiles: readonly RunTimeQuantile[], coverage: number): TimeWindow[] {
  const segments: { start: number; end: number; mass: number; density: number }[] = [];
  for (let i = 0; i + 1 < quantiles.length; i++) {
    const a = quantiles[i];
    const b = quantiles[i + 1];
    if (!a || !b) continue;
    const mass = b.p - a.p;
    if (!(mass > 0)) continue;
    // Equal quantiles (a grid makes many) are a point mass: keep them, as 1 ms wide.
    const width = Math.max(1, b.ms - a.ms);
    segments.push({ start: a.ms, end: a.ms + width, mass, density: mass / width });
  }
  segments.sort((x, y) => y.density - x.density || x.start - y.start);
  const chosen: { start: number; end: number }[] = [];
  let mass = 0;
  for (const s of segments) {
    if (mass >= coverage) break;
    chosen.push(s);
    mass += s.mass;
  }
  chosen.sort((x, y) => x.start - y.start);
  const merged: TimeWindow[] = [];
  for (const s of chosen) {
    const last = merged.at(-1);
    if (last && s.start <= last.endMs) merged[merged.length - 1] = { startMs: last.startMs, endMs: Math.max(last.endMs, s.end) };
    else merged.push({ startMs: s.start, endMs: s.end });
  }
  return merged;
}

function continuousPlan(
  input: NextPollInput,
  quantiles: readonly RunTimeQuantile[],
  min: number,
  max: number,
  t: ScheduleTuning,
): PollPlan {
  const { now, submittedAt } = input;
  const rel = now - submittedAt;
  const windows = likelyCompletionWindows(quantiles, t.denseCoverage);
  // Dense polls sit on a lattice with a per-task offset. Aligned to submission, every
  // task would poll at the same offsets, and windows on a shared 2 s lattice fit any even
  // period: the learner would see a grid that is not there. The lattice point is taken
  // from 3/4 of an interval on, so an alarm a few ms late does not skip a whole point.
  const origin = submittedAt + unitHash(submittedAt, 0) * min;
  const onLattice = (x: number): number => (min > 0 ? origin + Math.ceil((x - origin) / min) * min : x);
  if (windows.some((w) => rel >= w.startMs && rel < w.endMs)) {
    return { at: Math.max(now + min, onLattice(now + 0.75 * min)), mode: "dense" };
  }

  const previousEnd = windows.reduce((acc, w) => (w.endMs <= rel ? Math.max(acc, w.endMs) : acc), 0);
  const next = windows.find((w) => w.startMs > rel);
  // Before the first window: quick at first, then backing off. After the last: backing
  // off again from its end. Between two windows completion is unlikely by construction:
  // as sparse as allowed.
  const between = previousEnd > 0 && next !== undefined;
  const at = now + (between ? max : backoffInterval(rel - previousEnd, min, max, t));
  if (next) {
    // Enter the window at most one interval early, on the lattice.
    const start = onLattice(submittedAt + next.startMs - min);
    if (at > start) return { at: Math.max(start, now + min, onLattice(now + 0.75 * min)), mode: "dense" };
  }
  return { at, mode: "sparse" };
}

// ── Refresh grid ────────────────────────────────────────────────────────────────────────

function gridPlan(
  input: NextPollInput,
  grid: RefreshGrid,
  quantiles: readonly RunTimeQuantile[],
  min: number,
  max: number,
  t: ScheduleTuning,
): PollPlan {
  const { now, submittedAt } = input;
  const earliest = now + min;
  const latest = now + max;
  const P = grid.periodMs;
  const phase = grid.phaseMs + ownPhaseShift(input.history, submittedAt, grid);
  const guard = t.guardMs + t.spreadGuardFraction * grid.spreadMs;
  /** Just after step k's change is expected to be visible (absolute). */
  const main = (k: number): number => submittedAt + phase + k * P + grid.spreadMs + guard;

  const windows = likelyCompletionWindows(quantiles, t.denseCoverage);
  const worthy = (k: number): boolean => {
    const from = k === 0 ? -Infinity : main(k - 1) - submittedAt;
    const to = main(k) - submittedAt;
    return windows.some((w) => w.endMs > from && w.startMs <= to);
  };

  // A step is done once a successful poll came after its visibility window (a failed
  // poll does not count); comparing with the window rather than with `main` leaves the
  // guard as slack for rounding and late alarms.
  const lastOk = input.history.findLast((p) => p.status !== null)?.at ?? submittedAt;
  const covered = (k: number): boolean => main(k) - guard <= lastOk;
  let k = Math.max(0, Math.floor((lastOk - main(0)) / P));
  while (covered(k)) k++;

  let fallback: number | undefined;
  for (; ; k++) {
    const m = main(k);
    if (input.probe === true && worthy(k)) {
      // Whole milliseconds, like the poll times themselves, so a bracket never loses a poll to rounding.
      const c = Math.round(submittedAt + phase + k * P - t.probeLeadMs + unitHash(submittedAt, k + 1) * min);
      const bracket = [c - min, c, Math.max(c + min, m)];
      for (const b of bracket) {
        if (b > now && b >= earliest && b <= latest) return { at: b, mode: "grid-probe" };
      }
    }
    const candidate = Math.max(m, earliest);
    if (candidate > latest) break;
    if (worthy(k)) return { at: candidate, mode: "grid" };
    // Polls forced by the max interval still go right after a step: they are as cheap,
    // and they may catch an unlikely completion early.
    fallback = candidate;
  }
  return fallback !== undefined ? { at: fallback, mode: "grid-skip" } : { at: latest, mode: "grid-forced" };
}

/**
 * How much this task's grid seems shifted from the model's (its submission time as the
 * relay saw it differs from the upstream's, or the upstream's reads drift): each of its
 * own narrow change windows must overlap one of its steps' visibility windows. The
 * smallest shift satisfying them; when a newer window contradicts the older ones, the
 * newer evidence wins (a drifting grid moves on).
 */
export function ownPhaseShift(history: readonly PollRecord[], submittedAt: number, grid: RefreshGrid): number {
  const P = grid.periodMs;
  let lo = -P / 2;
  let hi = P / 2;
  let previous = submittedAt;
  for (const poll of history) {
    if (poll.status === null) continue;
    if (poll.changed) {
      const a = previous - submittedAt;
      const b = poll.at - submittedAt;
      // Wider windows overlap a visibility window whatever the shift: no information.
      if (b - a <= P / 2) {
        const k = Math.round(((a + b) / 2 - grid.phaseMs - grid.spreadMs / 2) / P);
        const wLo = a - grid.phaseMs - grid.spreadMs - k * P;
        const wHi = b - grid.phaseMs - k * P;
        if (Math.max(lo, wLo) <= Math.min(hi, wHi)) {
          lo = Math.max(lo, wLo);
          hi = Math.min(hi, wHi);
        } else {
          lo = Math.max(-P / 2, wLo);
          hi = Math.min(P / 2, wHi);
        }
      }
    }
    previous = poll.at;
  }
  return Math.min(hi, Math.max(lo, 0));
}

// ── Helpers ─────────────────────────────────────────────────────────────────────────────

/**
 * Whether a task should be a probe (deterministic per task id, so a restarted Durable
 * Object keeps its role). A share of 1/16 keeps grid profiles supported.
 */
export function shouldProbe(taskId: string, share: number): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < taskId.length; i++) {
    h ^= taskId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return finalMix(h) / 2 ** 32 < share;
}

/** A deterministic number in [0, 1) from a time and a salt (dither without randomness). */
function unitHash(x: number, salt: number): number {
  const low = Math.floor(x) | 0;
  const high = Math.floor(x / 2 ** 32) | 0;
  let h = Math.imul(low ^ Math.imul(salt + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= Math.imul(high, 0xc2b2ae35);
  return finalMix(h) / 2 ** 32;
}

function finalMix(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
