/**
 * Checks of a request against its catalog family, shared by POST /v1/videos (canonical
 * names) and POST /llmage/video (the upstream's names): the checks are the same, only the
 * name each refusal puts in `param` differs, so callers pass a `label`.
 * All of this is cheap and runs before any media is fetched.
 */
import { invalidParam } from "../errors/api-error";
import type { ChoiceRule, DurationRule, VideoCatalogEntry, VideoFamily, VideoMode } from "./catalog";
import { describeEntry } from "./catalog";

export const SCALAR_PARAMS = ["negative_prompt", "resolution", "ratio", "size", "duration", "off_peak"] as const;
export const FRAME_PARAMS = ["first_frame", "last_frame"] as const;
export const REFERENCE_PARAMS = ["reference_images", "reference_videos", "reference_audios"] as const;

export type ScalarParam = (typeof SCALAR_PARAMS)[number];
export type FrameParam = (typeof FRAME_PARAMS)[number];
export type ReferenceParam = (typeof REFERENCE_PARAMS)[number];
export type CanonicalParam = ScalarParam | FrameParam | ReferenceParam;

export interface VideoParams {
  negative_prompt?: string;
  resolution?: string;
  ratio?: string;
  size?: string;
  duration?: number;
  off_peak?: boolean;
}

export type MediaCounts = Record<FrameParam | ReferenceParam, number>;

/** Names a canonical parameter the way the caller wrote it. */
export type ParamLabel = (param: CanonicalParam) => string;

export interface RuleContext {
  entry: VideoCatalogEntry;
  mode: VideoMode;
  model: string;
  label: ParamLabel;
}

export const canonicalLabel: ParamLabel = (param) => param;

/** The canonical parameters a family takes, for "it takes: …" in refusals. */
export function takenParams(family: VideoFamily): CanonicalParam[] {
  const all = [...SCALAR_PARAMS, ...FRAME_PARAMS, ...REFERENCE_PARAMS];
  return all.filter((p) => family[p] !== undefined);
}

function notTaken(ctx: RuleContext, param: CanonicalParam): never {
  const takes = ["prompt", ...takenParams(ctx.entry.family)].join(", ");
  throw invalidParam(
    ctx.label(param),
    `${ctx.label(param)} is not a parameter of ${describeEntry(ctx.entry, ctx.model)}; it takes: ${takes}.`,
  );
}

/** Matches a value against a choice set in any case; returns the page's spelling. */
export function matchChoice(rule: ChoiceRule, value: string): string | undefined {
  const wanted = value.trim().toLowerCase();
  return rule.values.find((v) => v.toLowerCase() === wanted);
}

function checkChoice(ctx: RuleContext, param: "resolution" | "ratio" | "size", value: string): string {
  const rule = ctx.entry.family[param];
  if (!rule) return notTaken(ctx, param);
  // Sizes are written `1280*720` upstream; `1280x720` is the same request.
  const candidate = param === "size" ? value.replace(/[x×]/gi, "*") : value;
  const matched = matchChoice(rule, candidate);
  if (matched !== undefined) return matched;
  throw invalidParam(
    ctx.label(param),
    `${ctx.label(param)} "${value}" is not available for ${describeEntry(ctx.entry, ctx.model)}; allowed: ${rule.values.join(", ")}.`,
  );
}

export function describeDuration(rule: DurationRule): string {
  return rule.values ? rule.values.join(", ") : `integer seconds from ${rule.min} to ${rule.max}`;
}

function checkDuration(ctx: RuleContext, value: number): number {
  const rule = ctx.entry.family.duration;
  if (!rule) return notTaken(ctx, "duration");
  const allowed = rule.values ? rule.values.includes(value) : value >= rule.min && value <= rule.max;
  if (Number.isInteger(value) && allowed) return value;
  throw invalidParam(
    ctx.label("duration"),
    `${ctx.label("duration")} ${value} is not available for ${describeEntry(ctx.entry, ctx.model)}; allowed: ${describeDuration(rule)}.`,
  );
}

/** Checks the scalar parameters and returns them with values in the upstream's spelling. */
export function checkVideoParams(ctx: RuleContext, params: VideoParams): VideoParams {
  const family = ctx.entry.family;
  const out: VideoParams = {};
  if (params.negative_prompt !== undefined) {
    if (!family.negative_prompt) notTaken(ctx, "negative_prompt");
    out.negative_prompt = params.negative_prompt;
  }
  if (params.resolution !== undefined) out.resolution = checkChoice(ctx, "resolution", params.resolution);
  if (params.ratio !== undefined) out.ratio = checkChoice(ctx, "ratio", params.ratio);
  if (params.size !== undefined) out.size = checkChoice(ctx, "size", params.size);
  if (params.duration !== undefined) out.duration = checkDuration(ctx, params.duration);
  if (params.off_peak !== undefined) {
    if (!family.off_peak) notTaken(ctx, "off_peak");
    out.off_peak = params.off_peak;
  }
  return out;
}

/** Checks which media are present and how many, against the family and the mode. */
export function checkMediaCounts(ctx: RuleContext, counts: MediaCounts): void {
  for (const param of FRAME_PARAMS) checkFrame(ctx, param, counts[param]);
  const family = ctx.entry.family;
  if (ctx.mode === "i2v" && counts.first_frame === 0 && counts.last_frame === 0 && family.first_frame) {
    throw invalidParam(
      ctx.label("first_frame"),
      `${ctx.label("first_frame")} is required in mode i2v: give the image the video starts from.`,
    );
  }
  for (const param of REFERENCE_PARAMS) checkReferences(ctx, param, counts[param]);
}

function checkFrame(ctx: RuleContext, param: FrameParam, count: number): void {
  const rule = ctx.entry.family[param];
  const label = ctx.label(param);
  const who = describeEntry(ctx.entry, ctx.model);
  if (count > 0 && !rule) notTaken(ctx, param);
  if (count > 0 && ctx.mode !== "i2v") {
    throw invalidParam(label, `${label} is taken in mode i2v only; this request is ${ctx.mode}. Drop mode or set it to i2v.`);
  }
  if (count > 1) throw invalidParam(label, `${label} takes one image; ${count} were given.`);
  if (count === 0 && ctx.mode === "i2v" && rule?.requirement === "required") {
    const which = param === "first_frame" ? "the image the video starts from" : "the image the video ends on";
    throw invalidParam(label, `${label} is required by ${who}: ${which} (JPEG, PNG or WebP).`);
  }
}

function checkReferences(ctx: RuleContext, param: ReferenceParam, count: number): void {
  const rule = ctx.entry.family[param];
  const label = ctx.label(param);
  if (count > 0 && !rule) notTaken(ctx, param);
  if (!rule || ctx.mode !== "r2v") return;
  if (count < rule.min || count > rule.max) {
    const range = rule.min === 0 ? `at most ${rule.max}` : `${rule.min} to ${rule.max}`;
    throw invalidParam(
      label,
      `${describeEntry(ctx.entry, ctx.model)} takes ${range} ${label}; ${count} ${count === 1 ? "was" : "were"} given.`,
    );
  }
}
