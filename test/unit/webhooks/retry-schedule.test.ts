import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_SCHEDULE,
  nextRetryDelay,
  parseRetryAfter,
  parseRetrySchedule,
} from "../../../src/webhooks/retry-schedule";

// random() = 0.5 is the centre of the jitter band: no jitter at all.
const centre = (): number => 0.5;
const low = (): number => 0;
const high = (): number => 0.999999;

describe("parseRetrySchedule", () => {
  it("turns seconds into ms", () => {
    expect(parseRetrySchedule("5,300,1800")).toEqual([5_000, 300_000, 1_800_000]);
    expect(parseRetrySchedule(" 1 , 2 ")).toEqual([1_000, 2_000]);
    expect(parseRetrySchedule("0.05,0,0.1")).toEqual([50, 0, 100]);
  });

  it.each([
    ["", /empty/],
    ["   ", /empty/],
    ["5,,300", /step 2/],
    ["5,abc", /step 2 is "abc"/],
    ["-5", /step 1/],
    ["1e3", /step 1/],
    ["5,300,", /step 3/],
    ["5000000", /not milliseconds/],
    [Array.from({ length: 51 }, () => "1").join(","), /at most 50/],
  ])("refuses %j", (text, message) => {
    expect(() => parseRetrySchedule(text)).toThrow(message);
  });
});

describe("nextRetryDelay", () => {
  const scheduleMs = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE);

  it("sends the first attempt at once", () => {
    expect(nextRetryDelay({ attemptsMade: 0, scheduleMs, random: centre })).toBe(0);
  });

  it("follows the default schedule: 8 attempts over about 27 h", () => {
    const delays: number[] = [];
    let attemptsMade = 1; // the first attempt has been made
    for (;;) {
      const delay = nextRetryDelay({ attemptsMade, scheduleMs, random: centre });
      if (delay === null) break;
      delays.push(delay);
      attemptsMade++;
    }
    expect(attemptsMade).toBe(8);
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    const hours = delays.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(hours).toBeGreaterThan(27);
    expect(hours).toBeLessThan(28);
  });

  it("jitters each step within ±10%", () => {
    expect(nextRetryDelay({ attemptsMade: 2, scheduleMs, random: low })).toBe(270_000);
    expect(nextRetryDelay({ attemptsMade: 2, scheduleMs, random: high })).toBeCloseTo(330_000, -1);
    for (let i = 0; i < 200; i++) {
      const delay = nextRetryDelay({ attemptsMade: 3, scheduleMs, random: Math.random }) ?? -1;
      expect(delay).toBeGreaterThanOrEqual(1_620_000);
      expect(delay).toBeLessThanOrEqual(1_980_000);
    }
  });

  it("returns null once the schedule is exhausted", () => {
    expect(nextRetryDelay({ attemptsMade: 8, scheduleMs, random: centre })).toBeNull();
    expect(nextRetryDelay({ attemptsMade: 9, scheduleMs, random: centre })).toBeNull();
    expect(nextRetryDelay({ attemptsMade: 1, scheduleMs: [], random: centre })).toBeNull();
    // Retry-After does not buy extra attempts.
    expect(nextRetryDelay({ attemptsMade: 8, scheduleMs, retryAfterMs: 1_000, random: centre })).toBeNull();
  });

  it("honours a longer Retry-After, capped at the schedule's largest step", () => {
    const at = (retryAfterMs: number | null) =>
      nextRetryDelay({ attemptsMade: 1, scheduleMs, retryAfterMs, random: centre });
    expect(at(null)).toBe(5_000);
    expect(at(1_000)).toBe(5_000); // never sooner than scheduled
    expect(at(0)).toBe(5_000);
    expect(at(60_000)).toBe(60_000);
    expect(at(365 * 24 * 3_600_000)).toBe(36_000_000); // the bound
    // On a late step the scheduled (jittered) delay may exceed the bound: it still wins.
    expect(nextRetryDelay({ attemptsMade: 7, scheduleMs, retryAfterMs: 99e9, random: high })).toBeGreaterThan(
      36_000_000,
    );
  });

  it("refuses a nonsensical attempt count", () => {
    expect(() => nextRetryDelay({ attemptsMade: -1, scheduleMs, random: centre })).toThrow(RangeError);
    expect(() => nextRetryDelay({ attemptsMade: 1.5, scheduleMs, random: centre })).toThrow(RangeError);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 10, 24, 8, 0, 0); // Tue, 24 Nov 2026 08:00:00 GMT

  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("9".repeat(400), now)).toBe(2 ** 31 * 1000);
  });

  it("reads the three HTTP-date forms", () => {
    expect(parseRetryAfter("Tue, 24 Nov 2026 08:01:30 GMT", now)).toBe(90_000);
    expect(parseRetryAfter("Tuesday, 24-Nov-26 08:01:30 GMT", now)).toBe(90_000);
    expect(parseRetryAfter("Tue Nov 24 08:01:30 2026", now)).toBe(90_000);
    expect(parseRetryAfter("Tue Dec  1 08:00:00 2026", now)).toBe(7 * 24 * 3_600_000);
  });

  it("gives 0 for a date in the past", () => {
    expect(parseRetryAfter("Tue, 24 Nov 2026 07:00:00 GMT", now)).toBe(0);
    // Two-digit year more than 50 years ahead means the previous century.
    expect(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now)).toBe(0);
  });

  it.each([null, "", "soon", "-5", "1.5", "5s", "Tue, 31 Feb 2026 08:00:00 GMT", "Tue, 24 Nov 2026 25:00:00 GMT", "2026-11-24T08:01:30Z", "Tue, 24 Foo 2026 08:01:30 GMT"])(
    "gives null for %j",
    (value) => {
      expect(parseRetryAfter(value, now)).toBeNull();
    },
  );
});
