/**
 * Client-side timing of a Server-Sent Events stream: when each event became complete at
 * the client, and which socket read delivered it. Several events completed by one read,
 * or arriving closer together than they were sent, means something between the sender
 * and the client held them back and let them go together (coalescing).
 */
export interface SseTimingResult {
  /** Arrival time (performance.now()) of each complete event, in order. */
  eventTimes: number[];
  /** The `data:` payload of each event (first line only; for checks). */
  eventData: string[];
  /** Body reads seen. */
  reads: number;
  /** Reads that completed two or more events. */
  multiEventReads: number;
  /** Time of the first complete `data:` event, or null. */
  firstDataAt: number | null;
}

export class SseTimer {
  private buffer = "";
  private readonly decoder = new TextDecoder();
  private readonly result: SseTimingResult = { eventTimes: [], eventData: [], reads: 0, multiEventReads: 0, firstDataAt: null };

  /** Feeds one body chunk that arrived at `at`. */
  feed(chunk: Uint8Array, at: number): void {
    this.result.reads++;
    this.buffer += this.decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, "\n");
    let completed = 0;
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end < 0) break;
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const dataLine = block.split("\n").find((line) => line.startsWith("data:"));
      if (dataLine === undefined) continue; // comments (keep-alives) and empty blocks
      completed++;
      this.result.eventTimes.push(at);
      this.result.eventData.push(dataLine.slice(5).trim());
      this.result.firstDataAt ??= at;
    }
    if (completed > 1) this.result.multiEventReads++;
  }

  done(): SseTimingResult {
    return this.result;
  }
}

/** Gaps between consecutive events, ms. */
export function eventGaps(times: readonly number[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) gaps.push(times[i]! - times[i - 1]!);
  return gaps;
}
