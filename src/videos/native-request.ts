/**
 * POST /llmage/video: the upstream's own request (its field names, JSON or multipart),
 * checked against the catalog row of its `llmid` with the same rules as POST /v1/videos,
 * then forwarded. What the relay absorbs for the caller (docs/UPSTREAM.md):
 * - either spelling of a frame (`image1_file`/`image_file1`, `image2_file`/`image_file2`)
 *   or of the ratio (`ratio`/`radio`) is accepted, and the family's own spelling(s) sent;
 * - a repeated first-frame field with no last frame is read as [first, last], as in the
 *   page's own Seedance 1.5 example;
 * - values in any case are sent in the page's spelling, and off_peak "Y"/"N" as "1"/"0"
 *   (the upstream reads "Y" as false).
 * Fields the catalog does not know are forwarded unchanged (the page is not exhaustive),
 * except files: a file in a field the model does not read would be silently dropped
 * upstream and the caller billed for a video that ignores it.
 * An llmid the catalog does not know gets the basic checks (llmid, prompt, sizes) only.
 */
import { toHex } from "../lib/crypto";
import type { z } from "@hono/zod-openapi";
import { ApiError, invalidParam } from "../errors/api-error";
import type { VideoCatalogEntry } from "./catalog";
import { findEntryByLlmid, inferVideoMode, resolveVideoEntry } from "./catalog";
import type { MediaKind, NormalizedMedia } from "./media";
import { checkFile, formatBytes, MEDIA_LIMITS } from "./media";
import {
  checkMediaCounts,
  checkVideoParams,
  REFERENCE_PARAMS,
  type CanonicalParam,
  type FrameParam,
  type ReferenceParam,
  type RuleContext,
  type ScalarParam,
} from "./rules";
import { apiErrorFromZod, isEmptyFormValue, metadataSchema, webhookEventsSchema, webhookUrlSchema, type WebhookEvent } from "./schemas";
import type { UpstreamValue, UpstreamVideoRequest, VideoMediaSet } from "./upstream-request";
import { encodeUpstreamRequest, toUpstreamRequest } from "./upstream-request";

export type NativeValue = string | number | boolean | File;
/** Field name → its values in order (a repeated multipart field has several). */
export type NativeFields = Map<string, NativeValue[]>;

export interface RelayOptions {
  webhook?: string;
  webhook_events?: WebhookEvent[];
  metadata?: Record<string, string>;
}

export interface PreparedNativeVideo {
  llmid: string;
  /** The catalog row, or null for an llmid the relay does not know. */
  entry: VideoCatalogEntry | null;
  upstream: UpstreamVideoRequest;
  /** The relay-only fields, taken out of what is forwarded. */
  relay: RelayOptions;
}

// --- building NativeFields ---------------------------------------------------------------

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** A JSON body: arrays become repeated fields, nulls are absent, `metadata` may stay an object (kept as JSON text). */
export function nativeFieldsFromJson(body: unknown): NativeFields {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError("invalid_request", "The body must be a JSON object.");
  }
  const fields: NativeFields = new Map();
  for (const [name, value] of Object.entries(body)) {
    if (value === null) continue;
    if (name === "metadata" && typeof value === "object" && !Array.isArray(value)) {
      fields.set(name, [JSON.stringify(value)]);
    } else if (Array.isArray(value) && value.every(isScalar)) {
      fields.set(name, value);
    } else if (isScalar(value)) {
      fields.set(name, [value]);
    } else {
      throw invalidParam(name, `${name} must be a string, a number, a boolean or an array of them.`);
    }
  }
  return fields;
}

/** A multipart or urlencoded body: repeated names become lists; empty inputs are absent. */
export function nativeFieldsFromForm(form: FormData): NativeFields {
  const fields: NativeFields = new Map();
  for (const [name, value] of form.entries()) {
    if (!isEmptyFormValue(value)) fields.set(name, [...(fields.get(name) ?? []), value]);
  }
  return fields;
}

// --- relay-only fields -------------------------------------------------------------------

function single(fields: NativeFields, name: string): NativeValue | undefined {
  const values = fields.get(name);
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) throw invalidParam(name, `${name} was given ${values.length} times; it takes one value.`);
  return values[0];
}

function text(value: NativeValue, name: string): string {
  if (value instanceof File) throw invalidParam(name, `${name} must be a text field, not a file.`);
  return String(value);
}

function takeRelayOptions(fields: NativeFields): RelayOptions {
  const relay: RelayOptions = {};
  const webhook = single(fields, "webhook");
  if (webhook !== undefined) relay.webhook = parseWith(webhookUrlSchema, text(webhook, "webhook"), "webhook");
  const events = (fields.get("webhook_events") ?? [])
    .flatMap((v) => text(v, "webhook_events").split(","))
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (events.length > 0) {
    // The URL may come in the x-webhook-url header instead; the route checks the pair.
    relay.webhook_events = [...new Set(parseWith(webhookEventsSchema, events, "webhook_events"))];
  }
  const metadata = takeMetadata(fields);
  if (metadata !== undefined) relay.metadata = metadata;
  for (const name of [...fields.keys()]) {
    if (name === "webhook" || name === "webhook_events" || name === "metadata" || /^metadata\[.*\]$/.test(name)) {
      fields.delete(name);
    }
  }
  return relay;
}

function takeMetadata(fields: NativeFields): Record<string, string> | undefined {
  const pairs: Array<[string, string]> = [];
  for (const [name, values] of fields) {
    const key = /^metadata\[(.*)\]$/.exec(name)?.[1];
    if (key !== undefined) pairs.push([key, text(values[0] ?? "", `metadata.${key}`)]);
  }
  const json = single(fields, "metadata");
  if (json !== undefined && pairs.length > 0) {
    throw invalidParam("metadata", "Give metadata either as one JSON field or as metadata[key] fields, not both.");
  }
  let candidate: unknown = Object.fromEntries(pairs);
  if (json !== undefined) {
    try {
      candidate = JSON.parse(text(json, "metadata"));
    } catch {
      throw invalidParam("metadata", "metadata must be a JSON object of string pairs (or metadata[key]=value fields).");
    }
  } else if (pairs.length === 0) {
    return undefined;
  }
  return parseWith(metadataSchema, candidate, "metadata");
}

/** Validates one relay-only field with the same schema as POST /v1/videos; `param` is rooted at `field`. */
function parseWith<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const error = apiErrorFromZod(result.error);
  const param = error.param === null ? field : error.param.startsWith("[") ? `${field}${error.param}` : `${field}.${error.param}`;
  throw new ApiError("invalid_request", error.message, { param });
}

// --- catalog models ----------------------------------------------------------------------

type NativeTarget = ScalarParam | FrameParam | ReferenceParam | "prompt" | "model";

/** Every spelling the relay reads, to the canonical value it stands for. */
const NATIVE_NAMES: Readonly<Record<string, NativeTarget>> = {
  prompt: "prompt",
  model: "model",
  negative_prompt: "negative_prompt",
  resolution: "resolution",
  ratio: "ratio",
  radio: "ratio",
  size: "size",
  duration: "duration",
  off_peak: "off_peak",
  image1_file: "first_frame",
  image_file1: "first_frame",
  image2_file: "last_frame",
  image_file2: "last_frame",
  image_files: "reference_images",
  video_files: "reference_videos",
  audio_files: "reference_audios",
};

interface Given {
  name: string;
  value: NativeValue;
}

/** The fields grouped by what they stand for, plus those the catalog does not know. */
function groupFields(fields: NativeFields): { known: Map<NativeTarget, Given[]>; extra: Array<[string, UpstreamValue]> } {
  const known = new Map<NativeTarget, Given[]>();
  const extra: Array<[string, UpstreamValue]> = [];
  for (const [name, values] of fields) {
    if (name === "llmid") continue;
    const target = NATIVE_NAMES[name];
    if (target === undefined) {
      for (const value of values) extra.push([name, value]);
      continue;
    }
    known.set(target, [...(known.get(target) ?? []), ...values.map((value) => ({ name, value }))]);
  }
  return { known, extra };
}

/** One value under any of its spellings; the same value under two spellings is fine, two different ones are not. */
function scalar(known: Map<NativeTarget, Given[]>, target: NativeTarget): Given | undefined {
  const given = known.get(target) ?? [];
  const [first, ...rest] = given;
  if (!first) return undefined;
  for (const other of [first, ...rest]) text(other.value, other.name);
  const conflict = rest.find((g) => String(g.value) !== String(first.value) || g.name === first.name);
  if (conflict) {
    throw invalidParam(
      conflict.name,
      conflict.name === first.name
        ? `${conflict.name} was given more than once; it takes one value.`
        : `${first.name} and ${conflict.name} are the same parameter and disagree ("${String(first.value)}" vs "${String(conflict.value)}").`,
    );
  }
  return first;
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, false: false, "1": true, "0": false, y: true, n: false };

function parseDuration(given: Given): number {
  const raw = given.value;
  const value = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(value)) {
    throw invalidParam(given.name, `${given.name} must be an integer number of seconds.`);
  }
  return value;
}

function parseFlag(given: Given): boolean {
  const flag = BOOLEAN_WORDS[String(given.value).trim().toLowerCase()];
  if (flag === undefined) throw invalidParam(given.name, `${given.name} must be Y or N (also true/false, 1/0).`);
  return flag;
}

/** Frames under either spelling; two first frames and no last one are read as [first, last] (the page's Seedance 1.5 example). */
function frames(known: Map<NativeTarget, Given[]>, entry: VideoCatalogEntry): { first: Given[]; last: Given[] } {
  const first = oneFramePerSpelling(known.get("first_frame") ?? []);
  const last = oneFramePerSpelling(known.get("last_frame") ?? []);
  const [a, b] = first;
  if (first.length === 2 && last.length === 0 && a && b && entry.family.last_frame) return { first: [a], last: [b] };
  return { first, last };
}

/**
 * A caller following docs/UPSTREAM.md may send one frame under both spellings (the relay itself
 * does so for Seedance 1.5): that is one frame, not two.
 */
function oneFramePerSpelling(given: Given[]): Given[] {
  const names = [...new Set(given.map((g) => g.name))];
  const [first, ...others] = given;
  if (names.length < 2 || !first) return given;
  for (const name of names) {
    const count = given.filter((g) => g.name === name).length;
    if (count > 1) throw invalidParam(name, `${name} was given ${count} times beside ${names.filter((n) => n !== name).join(", ")}; a frame takes one image.`);
  }
  const differing = others.find((other) => !sameValue(first.value, other.value));
  if (differing) {
    throw invalidParam(differing.name, `${first.name} and ${differing.name} are the same frame and carry different images.`);
  }
  return [first];
}

// File digests, computed once per request before frames are compared (see fileDigests).
const digests = new WeakMap<File, string>();

async function fileDigests(fields: NativeFields): Promise<void> {
  for (const values of fields.values()) {
    for (const value of values) {
      if (value instanceof File && !digests.has(value)) {
        const hash = await crypto.subtle.digest("SHA-256", await value.arrayBuffer());
        digests.set(value, toHex(new Uint8Array(hash)));
      }
    }
  }
}

/** Same frame under two spellings: equal text, or files with equal bytes. */
function sameValue(a: NativeValue, b: NativeValue): boolean {
  if (a instanceof File || b instanceof File) {
    return a instanceof File && b instanceof File && a.size === b.size && digests.get(a) === digests.get(b) && digests.has(a);
  }
  return String(a) === String(b);
}

const REFERENCE_KINDS: Record<ReferenceParam, MediaKind> = {
  reference_images: "image",
  reference_videos: "video",
  reference_audios: "audio",
};

/** Checks uploaded files by their bytes; text values (URLs, base64 the upstream accepts) go as they are. */
async function checkMediaValue(given: Given, kind: MediaKind, param: string): Promise<File | string | NormalizedMedia> {
  if (given.value instanceof File) return checkFile(given.value, kind, param);
  return String(given.value);
}

/** The upstream field names a family reads files from, for "files go in: …". */
function fileFields(entry: VideoCatalogEntry): string[] {
  const family = entry.family;
  return [
    ...(family.first_frame?.fields ?? []),
    ...(family.last_frame?.fields ?? []),
    ...[family.reference_images, family.reference_videos, family.reference_audios].flatMap((rule) => (rule ? [rule.field] : [])),
  ];
}

async function prepareCatalogRequest(listed: VideoCatalogEntry, fields: NativeFields): Promise<UpstreamVideoRequest> {
  const { known, extra } = groupFields(fields);
  const stray = extra.find(([, value]) => value instanceof File);
  if (stray) {
    const reads = fileFields(listed);
    const where = reads.length > 0 ? `files go in: ${reads.join(", ")}` : "it takes no files";
    throw invalidParam(stray[0], `${stray[0]} is not a file field of ${listed.llmid}; ${where}.`);
  }
  const prompt = scalar(known, "prompt");
  const model = scalar(known, "model");
  const { first, last } = frames(known, listed);
  const references = (param: ReferenceParam) => known.get(param) ?? [];
  const inferred = inferVideoMode({
    frames: first.length + last.length > 0,
    references: REFERENCE_PARAMS.some((param) => references(param).length > 0),
  });
  const resolved = resolveVideoEntry({ llmid: listed.llmid, model: model && String(model.value) }, inferred);
  if (!prompt || String(prompt.value).trim() === "") throw invalidParam("prompt", "prompt is required.");

  const ctx: RuleContext = { ...resolved, label: nativeLabel(known, resolved.entry) };
  const textOf = (target: ScalarParam): string | undefined => {
    const given = scalar(known, target);
    return given && String(given.value);
  };
  const duration = scalar(known, "duration");
  const offPeak = scalar(known, "off_peak");
  const params = checkVideoParams(ctx, {
    negative_prompt: textOf("negative_prompt"),
    resolution: textOf("resolution"),
    ratio: textOf("ratio"),
    size: textOf("size"),
    duration: duration && parseDuration(duration),
    off_peak: offPeak && parseFlag(offPeak),
  });
  checkMediaCounts(ctx, {
    first_frame: first.length,
    last_frame: last.length,
    reference_images: references("reference_images").length,
    reference_videos: references("reference_videos").length,
    reference_audios: references("reference_audios").length,
  });

  const media: VideoMediaSet<File | string | NormalizedMedia> = {
    first_frame: first[0] && (await checkMediaValue(first[0], "image", first[0].name)),
    last_frame: last[0] && (await checkMediaValue(last[0], "image", last[0].name)),
    reference_images: [],
    reference_videos: [],
    reference_audios: [],
  };
  for (const param of REFERENCE_PARAMS) {
    for (const [i, given] of references(param).entries()) {
      media[param].push(await checkMediaValue(given, REFERENCE_KINDS[param], `${given.name}[${i}]`));
    }
  }
  return encodeUpstreamRequest({ ...resolved, prompt: String(prompt.value), params, media, extra });
}

/** Refusals name the field as the caller spelled it, or (for a missing one) as the family spells it. */
function nativeLabel(known: Map<NativeTarget, Given[]>, entry: VideoCatalogEntry): (param: CanonicalParam) => string {
  const family = entry.family;
  return (param) => {
    const given = known.get(param)?.[0]?.name;
    if (given !== undefined) return given;
    if (param === "reference_images" || param === "reference_videos" || param === "reference_audios") {
      return family[param]?.field ?? param;
    }
    return family[param]?.fields[0] ?? param;
  };
}

// --- unknown models ----------------------------------------------------------------------

const MAX_FILE_BYTES = Math.max(MEDIA_LIMITS.imageBytes, MEDIA_LIMITS.videoBytes, MEDIA_LIMITS.audioBytes);

function prepareUnknownRequest(llmid: string, fields: NativeFields): UpstreamVideoRequest {
  const prompt = single(fields, "prompt");
  if (prompt === undefined || text(prompt, "prompt").trim() === "") throw invalidParam("prompt", "prompt is required.");
  const typed: Array<[string, UpstreamValue]> = [["llmid", llmid]];
  for (const [name, values] of fields) {
    if (name === "llmid") continue;
    for (const value of values) {
      if (value instanceof File && value.size > MAX_FILE_BYTES) {
        throw new ApiError("payload_too_large", `${name} is larger than the ${formatBytes(MAX_FILE_BYTES)} allowed per file.`, {
          param: name,
        });
      }
      typed.push([name, value]);
    }
  }
  return toUpstreamRequest(llmid, null, null, typed);
}

// --- entry point -------------------------------------------------------------------------

/** Roughly what a multipart body of these fields weighs: the parts plus their framing. */
const PART_OVERHEAD_BYTES = 200;

function checkUpstreamSize(request: UpstreamVideoRequest): void {
  const encoder = new TextEncoder();
  let total = 0;
  for (const [name, value] of request.fields) {
    total += PART_OVERHEAD_BYTES + name.length + (typeof value === "string" ? encoder.encode(value).byteLength : value.size);
    if (total > MEDIA_LIMITS.upstreamBodyBytes) {
      throw new ApiError(
        "payload_too_large",
        `The request would be over the upstream's ${formatBytes(MEDIA_LIMITS.upstreamBodyBytes)} body limit ` +
          `(counted as forwarded, a file sent under two field names twice); ${name} crosses it.`,
        { param: name },
      );
    }
  }
}

/**
 * Checks a native request and returns what to forward. `fields` is consumed: the relay-only
 * fields are removed from it.
 */
export async function prepareNativeVideoRequest(fields: NativeFields): Promise<PreparedNativeVideo> {
  const relay = takeRelayOptions(fields);
  const llmidValue = single(fields, "llmid");
  const llmid = llmidValue === undefined ? "" : text(llmidValue, "llmid").trim();
  if (llmid === "") throw invalidParam("llmid", "llmid is required: the upstream model id (see GET /v1/models).");

  const listed = findEntryByLlmid(llmid);
  await fileDigests(fields);
  const upstream = listed ? await prepareCatalogRequest(listed, fields) : prepareUnknownRequest(llmid, fields);
  checkUpstreamSize(upstream);
  return { llmid, entry: listed ?? null, upstream, relay };
}
