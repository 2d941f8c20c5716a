import type { TaskStatus } from "./task-object";

/**
 * Reading the upstream's task answers. Its shape varies between versions (flat, wrapped
 * in `data`, or in `data.resposne` — sic) and its status comes in any case
 * (docs/UPSTREAM.md); this is the one place that knows.
 */
export interface UpstreamTaskAnswer {
  status: string;
  taskid?: string;
  usage?: Record<string, unknown>;
  image?: string;
  video?: string;
  error?: string;
}

const TASK_STATUS_WORDS = new Set(["CREATED", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "UNKNOWN"]);

function record(value: unknown): Record<string, unknown> | null {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** Unwraps flat, `{data}` and `{data: {resposne}}` answers; null when nothing task-like is in there. */
export function parseUpstreamTaskAnswer(body: unknown): UpstreamTaskAnswer | null {
  let r = record(body);
  for (let depth = 0; r && depth < 3; depth++) {
    const status = typeof r.status === "string" ? r.status : undefined;
    if (status && TASK_STATUS_WORDS.has(status.toUpperCase())) {
      const answer: UpstreamTaskAnswer = { status: status.toUpperCase() };
      if (typeof r.taskid === "string" || typeof r.taskid === "number") answer.taskid = String(r.taskid);
      const usage = record(r.usage);
      if (usage) answer.usage = usage;
      if (typeof r.image === "string" && r.image !== "") answer.image = r.image;
      if (typeof r.video === "string" && r.video !== "") answer.video = r.video;
      const error = r.error ?? r.message;
      if (typeof error === "string" && error !== "") answer.error = error.replace(/^ERROR:\s*/i, "");
      return answer;
    }
    r = record(r.data) ?? record(r.resposne) ?? record(r.response);
    if (r && !("status" in r)) r = record(r.resposne) ?? record(r.response) ?? r;
  }
  return null;
}

/** Upstream status word → the relay's status (docs/API.md); UNKNOWN means it gave up. */
export function mapUpstreamStatus(upstream: string): TaskStatus {
  switch (upstream.toUpperCase()) {
    case "CREATED":
    case "PENDING":
      return "queued";
    case "RUNNING":
      return "running";
    case "SUCCEEDED":
      return "succeeded";
    default:
      return "failed";
  }
}

/** The upstream's answer for an unknown (or archived) taskid. */
export function isNotExist(answer: UpstreamTaskAnswer): boolean {
  return answer.status === "FAILED" && /not exist/i.test(answer.error ?? "");
}
