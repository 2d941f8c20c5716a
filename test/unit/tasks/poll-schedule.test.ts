import { describe, expect, it } from "vitest";
import {
  likelyCompletionWindows,
  nextPollAt,
  ownPhaseShift,
  planNextPoll,
  shouldProbe,
  type NextPollInput,
  type PollConfig,
} from "../../../src/tasks/poll-schedule";
import {
  QUANTILE_PROBABILITIES,
  learnTimingProfile,
  quantileOfSorted,
  toTimingSample,
  type ChangeWindow,
  type PollRecord,
  type RefreshGrid,
  type TimingProfile,
  type TimingSample,
} from "../../../src/tasks/timing-profile";

const CONFIG: PollConfig = { minIntervalMs: 2_000, maxIntervalMs: 30_000 };
const T0 = 1_750_000_000_000;

/** Small seeded PRNG so every "random" case is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantilesOf(values: number[]): TimingProfile["runTimeQuantiles"] {
  const sorted = [...values].sort((a, b) => a - b);
  return QUANTILE_PROBABILITIES.map((p) => ({ p, ms: quantileOfSorted(sorted, p) }));
}

/** Run times 100–140 s, most around 120 s. */
function runTimes(n: number, seed = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => 100_000 + 40_000 * ((r() + r() + r()) / 3));
}

function continuousProfile(): TimingProfile {
  return { sampleCount: 300, runTimeQuantiles: quantilesOf(runTimes(300)), grid: null };
}

function gridProfile(partial: Partial<RefreshGrid> = {}, times = runTimes(300)): TimingProfile {
  const grid: RefreshGrid = { periodMs: 30_000, phaseMs: 300, spreadMs: 1_000, support: 100, ...partial };
  // On a grid the terminal status shows at steps: snap run times to them.
  const visible = times.map((t) => Math.ceil(t / grid.periodMs) * grid.periodMs + grid.phaseMs + grid.spreadMs / 2);
  return { sampleCount: 300, runTimeQuantiles: quantilesOf(visible), grid };
}

/** Polls from submission until `until` (ms after submission), never seeing a change. */
function simulate(
  profile: TimingProfile | null,
  until: number,
  extra: Partial<NextPollInput> = {},
): { at: number[]; intervals: number[] } {
  const history: PollRecord[] = [];
  let now = T0;
  const at: number[] = [];
  while (now - T0 < until) {
    const next = nextPollAt({ now, submittedAt: T0, history, profile, config: CONFIG, ...extra });
    history.push({ at: next, status: "RUNNING", changed: false });
    at.push(next - T0);
    now = next;
  }
  return { at, intervals: at.map((t, i) => t - (i === 0 ? 0 : (at[i - 1] ?? 0))) };
}

describe("nextPollAt: bounds", () => {
  it("always lands within [now + min, now + max], whatever the regime", () => {
    const r = rng(7);
    const profiles: (TimingProfile | null)[] = [
      null,
      continuousProfile(),
      gridProfile(),
      gridProfile({ periodMs: 10_000, phaseMs: 9_900, spreadMs: 3_000 }),
      gridProfile({ periodMs: 45_000 }),
    ];
    for (let i = 0; i < 3_000; i++) {
      const profile = profiles[i % profiles.length] ?? null;
      const config = { minIntervalMs: Math.floor(r() * 5_000), maxIntervalMs: Math.floor(r() * 60_000) };
      const now = T0 + Math.floor(r() * 600_000);
      const history: PollRecord[] = [];
      for (let t = T0 + 1_000; t < now; t += 1_000 + Math.floor(r() * 20_000)) {
        history.push({ at: t, status: r() < 0.1 ? null : "RUNNING", changed: r() < 0.2 });
      }
      const at = nextPollAt({
        now,
        submittedAt: T0,
        history,
        profile,
        config,
        consecutiveErrors: Math.floor(r() * 8),
        retryAfterMs: r() < 0.3 ? Math.floor(r() * 90_000) : undefined,
        probe: r() < 0.3,
      });
      const min = Math.max(0, config.minIntervalMs);
      const max = Math.max(min, config.maxIntervalMs);
      expect(at).toBeGreaterThanOrEqual(now + min);
      expect(at).toBeLessThanOrEqual(now + max);
      expect(Number.isInteger(at)).toBe(true);
    }
  });

  it("is pure: the same input gives the same answer", () => {
    const input: NextPollInput = { now: T0 + 95_000, submittedAt: T0, history: [], profile: gridProfile(), config: CONFIG, probe: true };
    expect(nextPollAt(input)).toBe(nextPollAt(input));
  });
});

describe("nextPollAt: no profile", () => {
  it("starts quick and backs off to the max interval", () => {
    const { intervals } = simulate(null, 200_000);
    expect(intervals.slice(0, 8)).toEqual([2_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(planNextPoll({ now: T0, submittedAt: T0, history: [], profile: null, config: CONFIG }).mode).toBe("backoff");
  });
});

describe("nextPollAt: continuous upstream", () => {
  const profile = continuousProfile();
  const { at, intervals } = simulate(profile, 400_000);
  const windows = likelyCompletionWindows(profile.runTimeQuantiles, 0.985);
  const dense = windows[0];

  it("has a likely completion window around the run times", () => {
    expect(windows).toHaveLength(1);
    expect(dense?.startMs).toBeGreaterThan(95_000);
    expect(dense?.startMs).toBeLessThan(108_000);
    expect(dense?.endMs).toBeGreaterThan(130_000);
    expect(dense?.endMs).toBeLessThan(141_000);
  });

  it("is sparse while completion is unlikely, dense through the likely window", () => {
    const start = dense?.startMs ?? 0;
    const end = dense?.endMs ?? 0;
    const before = at.filter((t) => t < start - 2_000);
    const inside = intervals.filter((_, i) => (at[i] ?? 0) > start + 2_000 && (at[i] ?? 0) < end);
    expect(before.length).toBeLessThanOrEqual(8);
    expect(inside.length).toBeGreaterThan(10);
    for (const gap of inside) expect(gap).toBeLessThanOrEqual(2_001);
    // Reached on time: the first poll of the window is no later than its start.
    expect(at.some((t) => t >= start - 2_000 && t <= start)).toBe(true);
  });

  it("backs off again past the window", () => {
    const end = dense?.endMs ?? 0;
    const after = intervals.filter((_, i) => (at[i] ?? 0) > end + 2_000);
    expect(after.length).toBeGreaterThan(3);
    for (let i = 1; i < after.length; i++) expect(after[i] ?? 0).toBeGreaterThanOrEqual(after[i - 1] ?? 0);
    expect(after.at(-1)).toBe(30_000);
  });

  it("dithers the dense lattice per task, so tasks do not all poll at the same offsets", () => {
    const offsets = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const submittedAt = T0 + 1_237 * i;
      const now = submittedAt + 110_000;
      offsets.add((nextPollAt({ now, submittedAt, history: [], profile, config: CONFIG }) - submittedAt) % 2_000);
    }
    expect(offsets.size).toBeGreaterThan(1);
  });
});

describe("nextPollAt: refresh grid", () => {
  it("polls just after each expected step (one poll per step)", () => {
    const profile = gridProfile();
    const { at } = simulate(profile, 200_000);
    // guard = 250 ms + 10% of the spread
    const mainOffset = 300 + 1_000 + 350;
    expect(at[0]).toBe(2_000); // step 0 (the upstream's immediate read), at the min interval
    for (let k = 1; k < at.length; k++) expect(at[k]).toBe(k * 30_000 + mainOffset);
  });

  it("skips steps where completion is unlikely when the max interval allows", () => {
    const profile = gridProfile({ periodMs: 10_000, phaseMs: 200, spreadMs: 800 }, runTimes(300).map((t) => t + 200_000));
    const { at, intervals } = simulate(profile, 380_000);
    const mainOffset = 200 + 800 + 330;
    for (const t of at.slice(1)) expect((t - mainOffset) % 10_000).toBe(0);
    const early = intervals.filter((_, i) => (at[i] ?? 0) > 40_000 && (at[i] ?? 0) < 280_000);
    for (const gap of early) expect(gap).toBe(30_000); // every third step
    const likely = intervals.filter((_, i) => (at[i] ?? 0) > 335_000 && (at[i] ?? 0) < 362_000);
    expect(likely.length).toBeGreaterThan(0);
    for (const gap of likely) expect(gap).toBe(10_000); // every step
  });

  it("retries a step whose poll failed instead of waiting for the next step", () => {
    const profile = gridProfile();
    // Step 4 (120 s) is in the likely window; its poll failed.
    const failedAt = T0 + 120_000 + 1_650;
    const history: PollRecord[] = [
      { at: T0 + 2_000, status: "PENDING", changed: false },
      { at: T0 + 31_650, status: "RUNNING", changed: true },
      { at: T0 + 61_650, status: "RUNNING", changed: false },
      { at: T0 + 91_650, status: "RUNNING", changed: false },
      { at: failedAt, status: null, changed: false },
    ];
    expect(nextPollAt({ now: failedAt, submittedAt: T0, history, profile, config: CONFIG, consecutiveErrors: 1 })).toBe(failedAt + 2_000);
  });

  it("brackets likely steps with min-interval polls when probing", () => {
    const profile = gridProfile();
    const { at } = simulate(profile, 160_000, { probe: true });
    const aroundStep4 = at.filter((t) => t > 118_000 && t < 125_000);
    expect(aroundStep4.length).toBeGreaterThanOrEqual(2);
    expect(aroundStep4.some((t) => t >= 120_000 + 300 + 1_000)).toBe(true);
  });

  it("refines this task's phase from its own narrow change window", () => {
    const grid: RefreshGrid = { periodMs: 30_000, phaseMs: 300, spreadMs: 1_000, support: 100 };
    // The change showed between 33.0 s and 35.0 s: this task's grid runs ~2 s late.
    const history: PollRecord[] = [
      { at: T0 + 2_000, status: "PENDING", changed: false },
      { at: T0 + 31_650, status: "PENDING", changed: false },
      { at: T0 + 33_000, status: "PENDING", changed: false },
      { at: T0 + 35_000, status: "RUNNING", changed: true },
    ];
    const shift = ownPhaseShift(history, T0, grid);
    expect(shift).toBeGreaterThan(1_600);
    expect(shift).toBeLessThanOrEqual(4_700);
    const profile = gridProfile(grid);
    const next = nextPollAt({ now: T0 + 35_000, submittedAt: T0, history, profile, config: CONFIG });
    expect(next).toBe(T0 + 60_000 + 300 + shift + 1_000 + 350);
    // A window one step wide says nothing: no shift.
    expect(ownPhaseShift(history.filter((p) => p.at === T0 + 2_000 || p.at === T0 + 35_000), T0, grid)).toBe(0);
  });
});

describe("nextPollAt: errors", () => {
  it("backs off exponentially on consecutive errors, up to the max", () => {
    const now = T0 + 110_000; // inside the dense window: normally +2 s
    const intervals = [0, 1, 2, 3, 4, 5, 6].map(
      (consecutiveErrors) =>
        nextPollAt({ now, submittedAt: T0, history: [], profile: continuousProfile(), config: CONFIG, consecutiveErrors }) - now,
    );
    expect(intervals[1]).toBe(intervals[0]); // one failure: normal schedule
    expect(intervals.slice(2)).toEqual([4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it("honours Retry-After as a floor, capped by the max interval", () => {
    const base = { now: T0 + 110_000, submittedAt: T0, history: [], profile: continuousProfile(), config: CONFIG };
    expect(nextPollAt({ ...base, retryAfterMs: 7_000 }) - base.now).toBe(7_000);
    expect(nextPollAt({ ...base, retryAfterMs: 120_000 }) - base.now).toBe(30_000);
  });
});

// ── Learning ────────────────────────────────────────────────────────────────────────────

/**
 * Tasks on an upstream that re-reads every `period` ms (per-task offset ±200 ms, read
 * latency 100–1300 ms), observed by polls every 2 s from a random offset, with some
 * windows widened by failed polls.
 */
function gridSamples(period: number, n: number, seed: number): TimingSample[] {
  const r = rng(seed);
  const samples: TimingSample[] = [];
  for (let i = 0; i < n; i++) {
    const offset = (r() - 0.5) * 400;
    const visibleAt = (step: number): number => offset + step * period + 100 + 1_200 * r() * r();
    const observe = (t: number): ChangeWindow => {
      const dither = r() * 2_000;
      const after = Math.floor((t - dither) / 2_000) * 2_000 + dither;
      const wide = r() < 0.1 ? 2_000 : 0;
      return { afterMs: Math.max(0, after - wide), atMs: after + 2_000 };
    };
    const terminalStep = 2 + Math.floor(r() * 8);
    samples.push({ changes: [observe(visibleAt(1))], terminal: observe(visibleAt(terminalStep)) });
  }
  return samples;
}

function continuousSamples(n: number, seed: number, aligned: boolean): TimingSample[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const observe = (t: number): ChangeWindow => {
      const origin = aligned ? 0 : r() * 2_000;
      const after = Math.floor((t - origin) / 2_000) * 2_000 + origin;
      return { afterMs: after, atMs: after + 2_000 };
    };
    return { changes: [observe(3_000 + r() * 10_000)], terminal: observe(60_000 + r() * (aligned ? 400_000 : 120_000)) };
  });
}

describe("learnTimingProfile", () => {
  it("recovers a 30 s refresh grid and its visibility window from noisy windows", () => {
    const profile = learnTimingProfile(gridSamples(30_000, 200, 11));
    expect(profile?.grid?.periodMs).toBe(30_000);
    const grid = profile?.grid;
    if (!grid) throw new Error("no grid");
    // Changes show 0–1.5 s after each step; the learned window must cover most of that.
    const phase = grid.phaseMs > 15_000 ? grid.phaseMs - 30_000 : grid.phaseMs;
    expect(phase).toBeGreaterThan(-500);
    expect(phase).toBeLessThan(700);
    expect(phase + grid.spreadMs).toBeGreaterThan(900);
    expect(phase + grid.spreadMs).toBeLessThan(2_500);
  });

  it("recovers a 10 s refresh grid", () => {
    expect(learnTimingProfile(gridSamples(10_000, 200, 12))?.grid?.periodMs).toBe(10_000);
  });

  it("prefers the documented period only when it fits as well (a drifting upstream does not)", () => {
    // Read, store, sleep 30 s: each step comes ~0.1 s later than a 30 s grid would put
    // it, little enough for 30 s to stay within the jitter tolerance, with less room.
    expect(learnTimingProfile(gridSamples(30_100, 300, 18))?.grid?.periodMs).toBe(30_100);
  });

  it("returns no grid for continuous status changes", () => {
    const profile = learnTimingProfile(continuousSamples(300, 13, false));
    expect(profile).not.toBeNull();
    expect(profile?.grid).toBeNull();
  });

  it("is not fooled by polls that share a lattice with submission (every window on even seconds)", () => {
    expect(learnTimingProfile(continuousSamples(600, 14, true))?.grid).toBeNull();
  });

  it("needs enough narrow windows before believing a grid", () => {
    expect(learnTimingProfile(gridSamples(30_000, 8, 15), { minSamples: 5 })?.grid).toBeNull();
    expect(learnTimingProfile(gridSamples(30_000, 10, 16))).toBeNull(); // below minSamples
  });

  it("learns run-time quantiles from terminal windows", () => {
    const profile = learnTimingProfile(continuousSamples(300, 17, false));
    const median = profile?.runTimeQuantiles.find((q) => q.p === 0.5)?.ms ?? 0;
    expect(median).toBeGreaterThan(110_000);
    expect(median).toBeLessThan(130_000);
    const ms = profile?.runTimeQuantiles.map((q) => q.ms) ?? [];
    expect(ms).toEqual([...ms].sort((a, b) => a - b));
  });
});

describe("helpers", () => {
  it("turns a finished history into a sample", () => {
    const history: PollRecord[] = [
      { at: T0 + 2_000, status: "PENDING", changed: false },
      { at: T0 + 4_000, status: "RUNNING", changed: true },
      { at: T0 + 8_000, status: null, changed: false },
      { at: T0 + 12_000, status: "succeeded", changed: true },
    ];
    expect(toTimingSample(T0, history)).toEqual({
      changes: [{ afterMs: 2_000, atMs: 4_000 }],
      terminal: { afterMs: 4_000, atMs: 12_000 },
    });
    expect(toTimingSample(T0, history.slice(0, 2))).toBeNull();
  });

  it("picks probe tasks deterministically, at about the requested share", () => {
    const ids = Array.from({ length: 4_000 }, (_, i) => `task_${i.toString(36)}x`);
    const share = ids.filter((id) => shouldProbe(id, 1 / 16)).length / ids.length;
    expect(share).toBeGreaterThan(0.045);
    expect(share).toBeLessThan(0.08);
    expect(shouldProbe("task_abc", 1 / 16)).toBe(shouldProbe("task_abc", 1 / 16));
  });
});
