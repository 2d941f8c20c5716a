/**
 * POST /llmage/video: a task submission, as JSON, urlencoded or multipart. The request is
 * recorded exactly as it arrived (parsed JSON, or each form field → list of values with
 * files summarised by size and hash) so tests can check what a relay sent, field by field.
 */
import { authFailure } from "./auth";
import { lookupVideoModel, type VideoMode } from "./catalog";
import { preFault, takeFault } from "./faults";
import { bearerKey, isRecord, parseJson, toHex, upstreamJson } from "./http";
import { addTask, type FileInfo, type FormValue, getScope, Life, record, type SimTask, tasks } from "./state";

/** The upstream's server refuses bodies over this (aiohttp's client_max_size as configured). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

const decoder = new TextDecoder();

async function describeFile(file: File): Promise<FileInfo> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return {
    filename: file.name,
    type: file.type,
    size: bytes.byteLength,
    sha256: toHex(new Uint8Array(digest)),
    firstBytesHex: toHex(bytes.subarray(0, 16)),
  };
}

async function parseForm(raw: ArrayBuffer, contentType: string): Promise<Record<string, FormValue[]>> {
  const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
  const out: Record<string, FormValue[]> = {};
  for (const [name, value] of form.entries()) {
    const entry: FormValue = typeof value === "string" ? value : await describeFile(value);
    (out[name] ??= []).push(entry);
  }
  return out;
}

/** A field's first value as text, whichever body format carried it. */
function fieldReader(json: Record<string, unknown> | null, form: Record<string, FormValue[]> | null) {
  return (name: string): unknown => {
    if (json) return json[name];
    return form?.[name]?.[0];
  };
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "";
}

/** The upstream's own test, bug included: `[True, "Y" "y", 1, "1"]` — so "Y" reads false. */
function offPeak(value: unknown): boolean {
  return value === true || value === 1 || value === "1" || value === "Yy";
}

function hasImages(json: Record<string, unknown> | null, form: Record<string, FormValue[]> | null): boolean {
  const names = Object.keys(json ?? form ?? {});
  return names.some((name) => name.includes("image") && name !== "image_size");
}

function newTaskId(): string {
  for (;;) {
    const digits = crypto.getRandomValues(new Uint8Array(18));
    let id = String(1 + (digits[0] ?? 0) % 9);
    for (let i = 1; i < 18; i++) id += String((digits[i] ?? 0) % 10);
    if (!tasks.has(id)) return id;
  }
}

export async function handleVideo(request: Request, url: URL): Promise<Response> {
  const key = bearerKey(request);
  const scope = getScope(key);
  const rec = record(scope, "video", request, url);
  const life = new Life(scope, rec, request);
  const contentType = request.headers.get("content-type") ?? "";
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    rec.bodySize = declared;
    return life.finish(tooLarge(declared));
  }
  const raw = await request.arrayBuffer();
  rec.bodySize = raw.byteLength;
  if (raw.byteLength > MAX_BODY_BYTES) return life.finish(tooLarge(raw.byteLength));

  let json: Record<string, unknown> | null = null;
  let form: Record<string, FormValue[]> | null = null;
  let bodyError = false;
  const lowerType = contentType.toLowerCase();
  try {
    if (lowerType.includes("multipart/form-data") || lowerType.includes("application/x-www-form-urlencoded")) {
      form = await parseForm(raw, contentType);
      rec.form = form;
    } else if (raw.byteLength > 0) {
      const parsed = parseJson(decoder.decode(raw));
      if (parsed.ok) {
        rec.json = parsed.value;
        if (isRecord(parsed.value)) json = parsed.value;
        else bodyError = true;
      } else {
        rec.rawBody = decoder.decode(raw);
        bodyError = true;
      }
    }
  } catch {
    rec.rawBody = decoder.decode(raw);
    bodyError = true;
  }

  const fault = takeFault(scope, "video");
  const pre = await preFault(fault, life);
  if (pre) return pre;
  const denied = authFailure(key);
  if (denied) return life.finish(denied);
  if (bodyError) return life.finish(upstreamJson({ error: "Invalid request body" }, 400));

  const field = fieldReader(json, form);
  const llmid = text(field("llmid"));
  if (!llmid) return life.finish(upstreamJson({ error: "Missing required parameter: llmid" }, 400));
  const entry = lookupVideoModel(llmid);
  if (!entry) {
    return life.finish(upstreamJson({ status: "FAILED", error: `ERROR:llmid ${llmid} not found` }));
  }
  if (!text(field("prompt"))) return life.finish(upstreamJson({ error: "Missing required parameter: prompt" }, 400));
  if (fault?.kind === "failed_200") {
    const error = fault.error ?? "ERROR:simulated submission failure";
    return life.finish(upstreamJson({ error, status: "FAILED" }), "failed_200");
  }

  const action: VideoMode = entry.mode === "r2v" ? "r2v" : hasImages(json, form) ? "i2v" : "t2v";
  const duration = Number(text(field("duration")));
  const task: SimTask = {
    taskid: newTaskId(),
    key,
    createdAt: Date.now(),
    llmid,
    action,
    model: text(field("model")) || entry.model,
    resolution: text(field("resolution")) || text(field("size")) || entry.resolution,
    duration: Number.isFinite(duration) && duration > 0 ? duration : entry.duration,
    offPeak: offPeak(field("off_peak")),
    config: { ...scope.task },
    forced: null,
    history: false,
    polls: 0,
  };
  addTask(task);
  scope.stats.tasksCreated++;
  rec.taskid = task.taskid;
  return life.finish(upstreamJson({ taskid: task.taskid, status: "created" }));
}

function tooLarge(size: number): Response {
  // The upstream's server (aiohttp) answers in plain text, before any handler runs.
  return new Response(`Maximum request body size ${MAX_BODY_BYTES} exceeded, actual body size ${size}`, {
    status: 413,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
