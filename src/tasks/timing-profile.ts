/**
 * Per-model timing profiles, learned from finished tasks (what D1 records about them).
 *
 * The polling schedule (poll-schedule.ts) needs two facts about a model: when its tasks
 * usually finish, and whether the upstream only refreshes their status on a fixed grid
 * (`query_period`, counted from submission, see docs/UPSTREAM.md). Both are
 * learned here from the windows in which the relay saw status changes. Everything is a
 * pure function of its arguments: no clock, no I/O.
 */

/**
 * A status change seen by polling: it became visible after the poll at `afterMs` and was
 * seen by the poll at `atMs`. Both are milliseconds since submission (afterMs is 0 when
 * the first poll already saw the change).
 */
export interface ChangeWindow {
  readonly afterMs: number;
  readonly atMs: number;
}

/** One finished task, as the Durable Object records it in D1. */
export interface TimingSample {
  /** Non-terminal status changes, in order (e.g. PENDING → RUNNING). */
  readonly changes: readonly ChangeWindow[];
  /** The change to the terminal status (SUCCEEDED / FAILED). */
  readonly terminal: ChangeWindow;
}

/** `ms` is the p-quantile of "submission → terminal status visible upstream". */
export interface RunTimeQuantile {
  readonly p: number;
  readonly ms: number;
}

/**
 * The upstream's refresh grid for a model: the status of a task can only change when
 * the upstream re-reads it from the provider, at submission + phase + k·period, and the
 * new status is visible within `spreadMs` after that instant (provider latency, drift).
 */
export interface RefreshGrid {
  readonly periodMs: number;
  /** Earliest offset (0 ≤ phase < period) at which a step's change can be visible. */
  readonly phaseMs: number;
  /** Width of the window in which a step's change becomes visible. */
  readonly spreadMs: number;
  /** Number of narrow windows (≤ period/2) that supported the grid. */
  readonly support: number;
}

export interface TimingProfile {
  /** Finished tasks the profile was learned from. */
  readonly sampleCount: number;
  /** Ascending in p, covering p = 0 … 1 (see QUANTILE_PROBABILITIES). */
  readonly runTimeQuantiles: readonly RunTimeQuantile[];
  /** null: status changes show up continuously (or not enough evidence of a grid). */
  readonly grid: RefreshGrid | null;
}

export interface LearnOptions {
  /** Fewer finished tasks than this: no profile (the schedule falls back to backoff). */
  readonly minSamples: number;
  /** Narrow windows (≤ period/2) needed before a grid is believed. */
  readonly minGridSupport: number;
  /**
   * How unlikely the fit must be by chance: a window of width w fits a random phase with
   * probability (w + J) / P, so each consistent window is worth log2(P / (w + J)) bits.
   * Identical windows (the relay's own fixed poll offsets) count once.
   */
  readonly minEvidenceBits: number;
  /** ...and they must fall on at least this many different steps, or period and phase are confounded. */
  readonly minGridSteps: number;
  readonly periodMinMs: number;
  readonly periodMaxMs: number;
  readonly periodStepMs: number;
  /** Documented periods, chosen when they are among the equally consistent candidates. */
  readonly preferredPeriodsMs: readonly number[];
  /** How late after its grid point a change may become visible (provider latency, jitter). */
  readonly jitterToleranceMs: number;
  /** Share of windows allowed to contradict a grid (one slow provider answer must not erase it). */
  readonly outlierFraction: number;
  /**
   * Tail share ignored when estimating the edges of the visibility window. Not smaller:
   * with a few dozen narrow windows one stray observation would otherwise move an edge
   * by seconds (the slow tail is covered by `minSpreadMs` and the schedule's guard).
   */
  readonly edgeTail: number;
  /**
   * Floor of the learned spread. A change shows after the upstream's provider read and
   * its store, whose slow tail the few narrow windows cannot measure (a 1 % tail needs
   * hundreds of probe observations); missing it costs a whole period, so assume it.
   */
  readonly minSpreadMs: number;
}

export const DEFAULT_LEARN_OPTIONS: LearnOptions = {
  minSamples: 20,
  minGridSupport: 20,
  minEvidenceBits: 40,
  minGridSteps: 3,
  periodMinMs: 5_000,
  periodMaxMs: 60_000,
  periodStepMs: 100,
  preferredPeriodsMs: [10_000, 30_000],
  jitterToleranceMs: 2_000,
  outlierFraction: 0.01,
  edgeTail: 0.05,
  minSpreadMs: 800,
};

/** Dense in the tails, where the schedule decides when to start and stop polling densely. */
export const QUANTILE_PROBABILITIES: readonly number[] = [
  0, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
  0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995,
  0.9975, 1,
];

const TERMINAL = new Set(["SUCCEEDED", "FAILED"]);

/** Upstream statuses come in either case (docs/UPSTREAM.md). */
export function isTerminalStatus(status: string): boolean {
  return TERMINAL.has(status.toUpperCase());
}

/** A poll as the Durable Object stores it. */
export interface PollRecord {
  /** Absolute time of the poll, ms. */
  readonly at: number;
  /** The status the upstream answered, or null when the poll failed (5xx, 429, timeout, malformed). */
  readonly status: string | null;
  /** Whether `status` differs from the last status known before this poll. */
  readonly changed: boolean;
}

/**
 * Turns a finished task's poll history into the sample stored for learning; null when
 * the history does not end with a terminal change the relay itself observed.
 */
export function toTimingSample(submittedAt: number, history: readonly PollRecord[]): TimingSample | null {
  const windows: ChangeWindow[] = [];
  let previousOk = submittedAt;
  let lastStatus: string | null = null;
  for (const poll of history) {
    if (poll.status === null) continue;
    if (poll.changed) windows.push({ afterMs: previousOk - submittedAt, atMs: poll.at - submittedAt });
    previousOk = poll.at;
    lastStatus = poll.status;
  }
  const terminal = windows.at(-1);
  const lastPoll = history.findLast((p) => p.status !== null);
  if (terminal === undefined || lastStatus === null || !isTerminalStatus(lastStatus) || !lastPoll?.changed) {
    return null;
  }
  return { changes: windows.slice(0, -1), terminal };
}

/**
 * Learns a model's profile from its finished tasks (most recent first or not: order does
 * not matter). Returns null when there are fewer than `minSamples`.
 */
export function learnTimingProfile(
  samples: readonly TimingSample[],
  options: Partial<LearnOptions> = {},
): TimingProfile | null {
  const opts: LearnOptions = { ...DEFAULT_LEARN_OPTIONS, ...options };
  if (samples.length < opts.minSamples) return null;

  const windows: ChangeWindow[] = [];
  for (const s of samples) {
    for (const w of s.changes) if (isUsableWindow(w)) windows.push(w);
    if (isUsableWindow(s.terminal)) windows.push(s.terminal);
  }
  const grid = learnGrid(windows, opts);
  const visible = samples.map((s) => terminalVisibleEstimate(s.terminal, grid));
  return {
    sampleCount: samples.length,
    runTimeQuantiles: quantileTable(visible),
    grid,
  };
}

function isUsableWindow(w: ChangeWindow): boolean {
  return Number.isFinite(w.afterMs) && Number.isFinite(w.atMs) && w.atMs > w.afterMs && w.atMs >= 0;
}

/** Where in its window the terminal status most likely became visible. */
function terminalVisibleEstimate(w: ChangeWindow, grid: RefreshGrid | null): number {
  const mid = (w.afterMs + w.atMs) / 2;
  if (grid === null) return mid;
  // The latest step whose visibility window reaches into (afterMs, atMs].
  const k = Math.floor((w.atMs - grid.phaseMs) / grid.periodMs);
  const start = grid.phaseMs + k * grid.periodMs;
  if (start + grid.spreadMs <= w.afterMs) return mid;
  return Math.min(w.atMs, Math.max(w.afterMs, start + grid.spreadMs / 2));
}

function quantileTable(values: readonly number[]): RunTimeQuantile[] {
  const sorted = [...values].sort((a, b) => a - b);
  return QUANTILE_PROBABILITIES.map((p) => ({ p, ms: quantileOfSorted(sorted, p) }));
}

/** Linear interpolation between order statistics (type 7). */
export function quantileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const a = sorted[lo] ?? 0;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? a;
  return a + (h - lo) * (b - a);
}

// ── Grid learning ──────────────────────────────────────────────────────────────────────

interface Coverage {
  /** Windows covering the best point. */
  readonly count: number;
  /** Width of the best-covered stretch: how much room the fit leaves (more is a better fit). */
  readonly width: number;
  /** Middle of the best-covered stretch, in [0, period). */
  readonly at: number;
}

/**
 * A window (a, b] that saw a change at grid point g + d, 0 ≤ d ≤ J, holds g in (a − J, b].
 * For a candidate period, this sweeps those arcs around the circle [0, P) and returns the
 * point covered by the most windows.
 */
function bestCoverage(starts: Float64Array, ends: Float64Array, count: number, period: number): Coverage {
  // Scratch buffers: this runs for every candidate period, so no allocation per call.
  if (scratchOpen.length < 2 * count) {
    scratchOpen = new Float64Array(4 * count);
    scratchClose = new Float64Array(4 * count);
  }
  let m = 0;
  for (let i = 0; i < count; i++) {
    const s = mod(starts[i] ?? 0, period);
    const e = s + ((ends[i] ?? 0) - (starts[i] ?? 0));
    if (e <= period) {
      scratchOpen[m] = s;
      scratchClose[m++] = e;
    } else {
      scratchOpen[m] = s;
      scratchClose[m++] = period;
      scratchOpen[m] = 0;
      scratchClose[m++] = e - period;
    }
  }
  const o = scratchOpen.subarray(0, m).sort();
  const c = scratchClose.subarray(0, m).sort();
  let depth = 0;
  let best = 0;
  let bestAt = 0;
  let bestWidth = 0;
  let j = 0;
  for (let i = 0; i < m; i++) {
    const x = o[i] ?? 0;
    // Arcs are (start, end]: one ending exactly where another starts does not overlap it
    // (windows on a shared lattice would otherwise all meet at its points).
    while (j < m && (c[j] ?? 0) <= x) {
      depth--;
      j++;
    }
    depth++;
    // The stretch at this depth ends at the next event, open or close.
    const end = Math.min(c[j] ?? x, o[i + 1] ?? Infinity);
    const width = Math.max(0, end - x);
    if (depth > best || (depth === best && width > bestWidth)) {
      best = depth;
      bestWidth = width;
      bestAt = x + width / 2;
    }
  }
  return { count: best, width: bestWidth, at: mod(bestAt, period) };
}

// Reused across calls (never observable: filled and read within one call).
let scratchOpen = new Float64Array(256);
let scratchClose = new Float64Array(256);

interface Candidate {
  readonly period: number;
  readonly coverage: Coverage;
  readonly constraints: number;
}

/**
 * Candidates leaving at least this share of the best phase room fit as well (the room is
 * set by a few extreme windows, so it is noisy); among them a documented period wins.
 */
const TIE_WIDTH_SHARE = 0.5;

function learnGrid(all: readonly ChangeWindow[], opts: LearnOptions): RefreshGrid | null {
  const J = opts.jitterToleranceMs;
  // Sorted by width so "windows narrow enough for period P" is a prefix. Duplicates are
  // dropped: many tasks polled at the same offsets (backoff from submission) say nothing
  // more about a grid than one of them.
  const unique = new Map<string, ChangeWindow>();
  for (const w of all) unique.set(`${w.afterMs}:${w.atMs}`, w);
  const windows = [...unique.values()].sort((x, y) => x.atMs - x.afterMs - (y.atMs - y.afterMs));
  const widths = windows.map((w) => w.atMs - w.afterMs);
  const starts = Float64Array.from(windows, (w) => w.afterMs - J);
  const ends = Float64Array.from(windows, (w) => w.atMs);
  const prefixAtMost = (limit: number): number => upperBound(widths, limit);

  // Σ log2(w + J) as a prefix sum: the evidence bound of a candidate is then O(1).
  const logWidth = new Float64Array(windows.length + 1);
  for (let i = 0; i < windows.length; i++) logWidth[i + 1] = (logWidth[i] ?? 0) + Math.log2((widths[i] ?? 0) + J);
  // The narrowest windows discard almost every wrong period cheaply (a few allowed
  // outliers each time); survivors are checked against all windows.
  const STAGES = [12, 64];
  const evaluate = (period: number): Candidate | null => {
    const n = prefixAtMost(period - J); // wider windows may hold two grid points: no constraint
    const support = prefixAtMost(period / 2);
    if (support < opts.minGridSupport) return null;
    if (n * Math.log2(period) - (logWidth[n] ?? 0) < opts.minEvidenceBits) return null;
    for (const size of STAGES) {
      const k = Math.min(n, size);
      if (k === n) break;
      const slack = Math.max(1, Math.ceil(opts.outlierFraction * k));
      if (bestCoverage(starts, ends, k, period).count < k - slack) return null;
    }
    const full = bestCoverage(starts, ends, n, period);
    if (full.count < n - Math.floor(opts.outlierFraction * n)) return null;
    if (distinctSteps(windows, support, period, full.at, J) < opts.minGridSteps) return null;
    return { period, coverage: full, constraints: n };
  };

  const candidates: (Candidate | null)[] = [];
  for (let p = opts.periodMinMs; p <= opts.periodMaxMs + 1e-9; p += opts.periodStepMs) {
    candidates.push(evaluate(p));
  }
  // Divisors of the true period fit too (30 s data also fits a 15 s grid, whose every
  // other point it uses), so the largest consistent period wins; its neighbours within
  // jitter form a run, from which a documented period is preferred.
  let top = -1;
  for (let i = candidates.length - 1; i >= 0; i--) {
    if (candidates[i]) {
      top = i;
      break;
    }
  }
  if (top < 0) return null;
  let bottom = top;
  while (bottom > 0 && candidates[bottom - 1]) bottom--;
  const run = candidates.slice(bottom, top + 1).filter((c): c is Candidate => c !== null);
  // Best fit: fewest outliers, then the most room left for the phase. A grid that drifts
  // (an upstream that sleeps a period after each read) fits a slightly longer period
  // better than the documented one, and must get it.
  const score = (c: Candidate): number => c.coverage.count / c.constraints;
  const bestScore = Math.max(...run.map(score));
  const fits = run.filter((c) => score(c) === bestScore);
  const bestWidth = Math.max(...fits.map((c) => c.coverage.width));
  const ties = fits.filter((c) => c.coverage.width >= bestWidth * TIE_WIDTH_SHARE);
  const chosen =
    ties.find((c) => opts.preferredPeriodsMs.some((p) => Math.abs(p - c.period) < opts.periodStepMs / 2)) ??
    ties[Math.floor((ties.length - 1) / 2)];
  if (!chosen) return null;
  return gridEdges(windows, chosen, opts);
}

/** How many different steps the support windows fall on (period and phase are confounded otherwise). */
function distinctSteps(
  windows: readonly ChangeWindow[],
  support: number,
  period: number,
  anchor: number,
  J: number,
): number {
  const steps = new Set<number>();
  for (let i = 0; i < support; i++) {
    const w = windows[i];
    if (!w) continue;
    const k = Math.floor((w.atMs - anchor) / period);
    if (anchor + k * period > w.afterMs - J) steps.add(k);
  }
  return steps.size;
}

/**
 * Given the period and an anchor point, estimates the window [phase, phase + spread] in
 * which a step's change becomes visible. Each consistent window (a, b] says, relative to
 * its grid point, "not yet visible at a'" and "visible at b'": current-status data, whose
 * distribution function is the isotonic (pool-adjacent-violators) fit of those 0/1
 * observations.
 */
function gridEdges(windows: readonly ChangeWindow[], c: Candidate, opts: LearnOptions): RefreshGrid | null {
  const { period } = c;
  const J = opts.jitterToleranceMs;
  const observations: { x: number; visible: number }[] = [];
  let support = 0;
  for (let i = 0; i < c.constraints; i++) {
    const w = windows[i];
    if (!w) continue;
    const k = Math.floor((w.atMs - c.coverage.at) / period);
    const g = c.coverage.at + k * period;
    if (g <= w.afterMs - J) continue; // an outlier for this grid
    observations.push({ x: w.afterMs - g, visible: 0 }, { x: w.atMs - g, visible: 1 });
    if (w.atMs - w.afterMs <= period / 2) support++;
  }
  if (observations.length === 0) return null;
  const F = isotonicCdf(observations);
  const quantile = (p: number): number => F.find((s) => s.value >= p)?.x ?? F.at(-1)?.x ?? 0;
  const early = quantile(opts.edgeTail);
  const late = quantile(1 - opts.edgeTail);
  return {
    periodMs: period,
    phaseMs: mod(c.coverage.at + early, period),
    spreadMs: Math.max(opts.minSpreadMs, late - early),
    support,
  };
}

/** Non-decreasing least-squares fit of 0/1 observations ordered by x (PAVA). */
function isotonicCdf(observations: readonly { x: number; visible: number }[]): { x: number; value: number }[] {
  // At equal x, "not yet" first: the fit then never claims visibility before the evidence.
  const sorted = [...observations].sort((p, q) => p.x - q.x || p.visible - q.visible);
  const blocks: { sum: number; count: number; lastX: number }[] = [];
  for (const o of sorted) {
    blocks.push({ sum: o.visible, count: 1, lastX: o.x });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (!a || !b || a.sum / a.count <= b.sum / b.count) break;
      blocks.splice(blocks.length - 2, 2, { sum: a.sum + b.sum, count: a.count + b.count, lastX: b.lastX });
    }
  }
  return blocks.map((b) => ({ x: b.lastX, value: b.sum / b.count }));
}

function mod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

/** Number of elements < x in an ascending array. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements ≤ x in an ascending array. */
function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
