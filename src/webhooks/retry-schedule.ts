/**
 * When to retry a failed webhook delivery (docs/API.md). Pure: time and randomness come
 * in as arguments, so the Durable Object that owns a delivery can store the due time it
 * gets back and tests and benchmarks can run the schedule in virtual time.
 *
 * The schedule lists the waits between attempts: with N steps a delivery gets N + 1
 * attempts. The default (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) is 8 attempts over
 * about 27 h, which rides out a receiver's bad deploy or a day-long outage.
 */

export const DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000";

/**
 * Each wait is moved by up to ±10% at random. When a receiver goes down, every delivery
 * to it fails at about the same moment; without jitter their retries would all come back
 * in the same second and knock it over again as it recovers. Symmetric jitter keeps the
 * expected total equal to the configured schedule, and 10% keeps it recognisable.
 */
export const RETRY_JITTER = 0.1;

// A wait longer than a week is almost surely a unit mistake (milliseconds given for
// seconds), and a pending delivery keeps the task's sealed key alive that long.
const MAX_STEP_SECONDS = 7 * 24 * 3600;
const MAX_STEPS = 50;

/** `"5,300,1800"` (seconds) → `[5000, 300000, 1800000]` (ms). Throws on anything odd. */
export function parseRetrySchedule(text: string): number[] {
  const items = text.split(",").map((item) => item.trim());
  if (items.length === 1 && items[0] === "") {
    throw new Error("WEBHOOK_RETRY_SCHEDULE is empty: list the seconds between attempts, e.g. 5,300,1800");
  }
  if (items.length > MAX_STEPS) {
    throw new Error(`WEBHOOK_RETRY_SCHEDULE has ${items.length} steps; at most ${MAX_STEPS} are allowed`);
  }
  return items.map((item, index) => {
    // Fractions are allowed so tests can run a schedule in milliseconds ("0.05,0.1").
    if (!/^\d+(\.\d+)?$/.test(item)) {
      throw new Error(
        `WEBHOOK_RETRY_SCHEDULE step ${index + 1} is ${JSON.stringify(item)}: expected a number of seconds (e.g. 5,300,1800)`,
      );
    }
    const seconds = Number(item);
    if (seconds > MAX_STEP_SECONDS) {
      throw new Error(
        `WEBHOOK_RETRY_SCHEDULE step ${index + 1} is ${item} s, more than a week: the values are seconds, not milliseconds`,
      );
    }
    return Math.round(seconds * 1000);
  });
}

export interface NextRetryInput {
  /** Attempts already made for this delivery (0 before the first). */
  attemptsMade: number;
  /** The waits between attempts, in ms (from `parseRetrySchedule`). */
  scheduleMs: readonly number[];
  /**
   * The receiver's `Retry-After`, in ms, from the last attempt. Only pass it for 429 and
   * 503, where it means "come back later"; the caller decides.
   */
  retryAfterMs?: number | null;
  /** A number in [0, 1), like Math.random. */
  random: () => number;
}

/** Ms to wait before the next attempt, or null when the delivery has used all its attempts. */
export function nextRetryDelay(input: NextRetryInput): number | null {
  const { attemptsMade, scheduleMs, retryAfterMs, random } = input;
  if (!Number.isInteger(attemptsMade) || attemptsMade < 0) {
    throw new RangeError(`attemptsMade must be a whole number >= 0, got ${attemptsMade}`);
  }
  if (attemptsMade === 0) return 0;
  const step = scheduleMs[attemptsMade - 1];
  if (step === undefined) return null;

  const factor = 1 + (random() * 2 - 1) * RETRY_JITTER;
  const scheduled = Math.max(0, Math.round(step * factor));
  if (retryAfterMs === null || retryAfterMs === undefined || !(retryAfterMs > scheduled)) {
    return scheduled;
  }
  // A receiver asking for more time gets it, up to the schedule's longest step: a hostile
  // or broken `Retry-After: 31536000` must not park a delivery for a year.
  const bound = Math.max(...scheduleMs);
  return Math.max(scheduled, Math.min(retryAfterMs, bound));
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// The three HTTP-date forms of RFC 9110 §5.6.7; a generic Date.parse would also accept
// "1" or "5.5" as dates.
const IMF_FIXDATE = /^[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^[A-Z][a-z]+, (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

// Retry-After values beyond this are capped before converting to ms (no overflow to
// Infinity); nextRetryDelay caps far lower anyway.
const MAX_RETRY_AFTER_SECONDS = 2 ** 31;

/**
 * A `Retry-After` header (delta-seconds or HTTP-date) as ms from `nowMs`; null when absent
 * or unparseable (then the schedule alone decides). A date in the past gives 0.
 */
export function parseRetryAfter(headerValue: string | null, nowMs: number): number | null {
  if (headerValue === null) return null;
  const value = headerValue.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value), MAX_RETRY_AFTER_SECONDS) * 1000;
  const at = parseHttpDate(value, nowMs);
  return at === null ? null : Math.max(0, at - nowMs);
}

function parseHttpDate(value: string, nowMs: number): number | null {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850_DATE.exec(value);
  if (m) {
    // RFC 9110: a two-digit year that looks more than 50 years ahead is in the past century.
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utc(year, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(value);
  // Number(" 5") is 5: asctime pads the day with a space.
  if (m) return utc(Number(m[6]), m[1], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}

function utc(
  year: number,
  monthName: string | undefined,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | null {
  const month = MONTHS.indexOf(monthName ?? "");
  if (month < 0) return null;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  // Date.UTC rolls "Feb 31" or "25:00" over; a date that does not round-trip is invalid.
  // (Leap second 60 is refused the same way; no receiver will send one.)
  const d = new Date(ms);
  const roundTrips =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === month &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hour &&
    d.getUTCMinutes() === minute &&
    d.getUTCSeconds() === second;
  return roundTrips ? ms : null;
}
