/**
 * From a canonical POST /v1/videos request to what the upstream receives, in three steps
 * the route runs in order, cheapest first:
 *
 *   const plan = planVideoRequest(request);           // catalog row, mode, rules: no I/O
 *   const media = await resolveVideoMedia(plan, deps); // uploads, data: and https URLs, checked
 *   const upstream = buildUpstreamVideoRequest(plan, media);
 *   const { body, headers } = encodeUpstreamBody(upstream);
 *
 * A refusal at any step is an ApiError naming the canonical field, raised before anything
 * is sent upstream.
 */
import type { VideoCatalogEntry, VideoMode } from "./catalog";
import { inferVideoMode, resolveVideoEntry } from "./catalog";
import type { MediaDeps, MediaItem, MediaKind, NormalizedMedia } from "./media";
import { loadMediaItems } from "./media";
import {
  canonicalLabel,
  checkMediaCounts,
  checkVideoParams,
  type MediaCounts,
  type ReferenceParam,
  type RuleContext,
  type VideoParams,
} from "./rules";
import type { CanonicalVideoRequest } from "./schemas";

export interface VideoPlan {
  entry: VideoCatalogEntry;
  mode: VideoMode;
  /** The model name recorded on the task, and sent when the family takes one. */
  model: string;
  prompt: string;
  /** Scalar parameters, checked and spelled as the upstream spells them. */
  params: VideoParams;
  request: CanonicalVideoRequest;
}

function mediaCounts(request: CanonicalVideoRequest): MediaCounts {
  return {
    first_frame: request.first_frame === undefined ? 0 : 1,
    last_frame: request.last_frame === undefined ? 0 : 1,
    reference_images: request.reference_images?.length ?? 0,
    reference_videos: request.reference_videos?.length ?? 0,
    reference_audios: request.reference_audios?.length ?? 0,
  };
}

/** Resolves the catalog row and mode, and checks every parameter and media count against it. No I/O. */
export function planVideoRequest(request: CanonicalVideoRequest): VideoPlan {
  const counts = mediaCounts(request);
  const inferred = inferVideoMode({
    frames: counts.first_frame + counts.last_frame > 0,
    references: counts.reference_images + counts.reference_videos + counts.reference_audios > 0,
  });
  const { entry, mode, model } = resolveVideoEntry(
    { model: request.model, llmid: request.llmid, mode: request.mode },
    inferred,
  );
  const ctx: RuleContext = { entry, mode, model, label: canonicalLabel };
  const params = checkVideoParams(ctx, {
    negative_prompt: request.negative_prompt,
    resolution: request.resolution,
    ratio: request.ratio,
    size: request.size,
    duration: request.duration,
    off_peak: request.off_peak,
  });
  checkMediaCounts(ctx, counts);
  return { entry, mode, model, prompt: request.prompt, params, request };
}

export interface VideoMediaSet<T> {
  first_frame?: T;
  last_frame?: T;
  reference_images: T[];
  reference_videos: T[];
  reference_audios: T[];
}

export type ResolvedVideoMedia = VideoMediaSet<NormalizedMedia>;

const REFERENCE_KINDS: Record<ReferenceParam, MediaKind> = {
  reference_images: "image",
  reference_videos: "video",
  reference_audios: "audio",
};

/** How many times the upstream receives a file of this field (a frame sent under two names: twice). */
function copiesOf(entry: VideoCatalogEntry, param: "first_frame" | "last_frame"): number {
  return entry.family[param]?.fields.length ?? 1;
}

/** Loads and checks every media item of a planned request (fetching https URLs through `deps`). */
export async function resolveVideoMedia(plan: VideoPlan, deps: MediaDeps): Promise<ResolvedVideoMedia> {
  const { request, entry } = plan;
  const items: MediaItem[] = [];
  for (const param of ["first_frame", "last_frame"] as const) {
    const source = request[param];
    if (source !== undefined) items.push({ param, source, kind: "image", copies: copiesOf(entry, param) });
  }
  for (const param of ["reference_images", "reference_videos", "reference_audios"] as const) {
    (request[param] ?? []).forEach((source, i) =>
      items.push({ param: `${param}[${i}]`, source, kind: REFERENCE_KINDS[param], copies: 1 }),
    );
  }
  const loaded = await loadMediaItems(items, deps);
  const byParam = new Map(items.map((item, i) => [item.param, loaded[i]]));
  const list = (param: ReferenceParam) =>
    (request[param] ?? []).flatMap((_, i) => {
      const media = byParam.get(`${param}[${i}]`);
      return media ? [media] : [];
    });
  return {
    first_frame: byParam.get("first_frame"),
    last_frame: byParam.get("last_frame"),
    reference_images: list("reference_images"),
    reference_videos: list("reference_videos"),
    reference_audios: list("reference_audios"),
  };
}

// --- the upstream request ----------------------------------------------------------------

export type UpstreamValue = string | number | boolean | File;
export type JsonFieldValue = string | number | boolean | Array<string | number | boolean>;

export interface UpstreamVideoRequest {
  llmid: string;
  /** The model recorded on the task (null for an llmid the catalog does not know). */
  model: string | null;
  mode: VideoMode | null;
  /** Every field in the order sent, as a form carries it (numbers as text, off_peak as "1"/"0"). */
  fields: Array<[string, string | File]>;
  /** True when a file is present: then the request must go as multipart/form-data. */
  multipart: boolean;
  /** The same fields as a JSON object (numbers and booleans typed, repeated names as arrays); null when multipart. */
  json: Record<string, JsonFieldValue> | null;
}

export interface UpstreamInput {
  entry: VideoCatalogEntry;
  mode: VideoMode;
  model: string;
  prompt: string;
  params: VideoParams;
  media: VideoMediaSet<File | string | NormalizedMedia>;
  /** Fields the catalog does not know, forwarded after the known ones (native requests). */
  extra?: ReadonlyArray<[string, UpstreamValue]>;
}

function mediaValue(value: File | string | NormalizedMedia): File | string {
  return typeof value === "string" || value instanceof File ? value : value.file;
}

/** The family's field names for each canonical value, in a fixed order: llmid, model, prompt, parameters, frames, references. */
function upstreamFields(input: UpstreamInput): Array<[string, UpstreamValue]> {
  const { entry, params, media } = input;
  const family = entry.family;
  const out: Array<[string, UpstreamValue]> = [["llmid", entry.llmid]];
  const send = (names: readonly string[] | undefined, value: UpstreamValue | undefined) => {
    if (names && value !== undefined) for (const name of names) out.push([name, value]);
  };
  if (family.takesModel) out.push(["model", input.model]);
  out.push(["prompt", input.prompt]);
  send(family.negative_prompt?.fields, params.negative_prompt);
  send(family.resolution?.fields, params.resolution);
  send(family.ratio?.fields, params.ratio);
  send(family.size?.fields, params.size);
  send(family.duration?.fields, params.duration);
  send(family.off_peak?.fields, params.off_peak);
  send(family.first_frame?.fields, media.first_frame && mediaValue(media.first_frame));
  send(family.last_frame?.fields, media.last_frame && mediaValue(media.last_frame));
  for (const param of ["reference_images", "reference_videos", "reference_audios"] as const) {
    const field = family[param]?.field;
    if (field) for (const value of media[param]) out.push([field, mediaValue(value)]);
  }
  return [...out, ...(input.extra ?? [])];
}

/** The upstream's off_peak test reads "Y" as false (docs/UPSTREAM.md): a form sends "1"/"0". */
function formValue(value: UpstreamValue): string | File {
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return String(value);
  return value;
}

export function toUpstreamRequest(
  llmid: string,
  model: string | null,
  mode: VideoMode | null,
  typed: ReadonlyArray<[string, UpstreamValue]>,
): UpstreamVideoRequest {
  const fields = typed.map(([name, value]): [string, string | File] => [name, formValue(value)]);
  const multipart = typed.some(([, value]) => value instanceof File);
  return { llmid, model, mode, fields, multipart, json: multipart ? null : toJson(typed) };
}

function toJson(typed: ReadonlyArray<[string, UpstreamValue]>): Record<string, JsonFieldValue> {
  const json: Record<string, JsonFieldValue> = {};
  for (const [name, value] of typed) {
    if (value instanceof File) continue;
    const previous = json[name];
    if (previous === undefined) json[name] = value;
    else json[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return json;
}

/** Builds the upstream request of a catalog model from checked values. */
export function encodeUpstreamRequest(input: UpstreamInput): UpstreamVideoRequest {
  return toUpstreamRequest(input.entry.llmid, input.model, input.mode, upstreamFields(input));
}

/** The upstream request for a planned canonical request and its resolved media. */
export function buildUpstreamVideoRequest(plan: VideoPlan, media: ResolvedVideoMedia): UpstreamVideoRequest {
  return encodeUpstreamRequest({ ...plan, media });
}

/** The body and headers for fetch(): multipart lets fetch write the boundary, JSON is labelled. */
export function encodeUpstreamBody(request: UpstreamVideoRequest): { body: FormData | string; headers: Record<string, string> } {
  if (request.json) return { body: JSON.stringify(request.json), headers: { "content-type": "application/json" } };
  const form = new FormData();
  for (const [name, value] of request.fields) {
    if (typeof value === "string") form.append(name, value);
    else form.append(name, value, value.name);
  }
  return { body: form, headers: {} };
}
