/**
 * The video model catalog: the relay's single reading of the upstream's Text-, Image- and
 * Reference-to-Video tables (the provider's page, summarised in docs/UPSTREAM.md). It is data, not logic: a
 * family is the parameter rule set one "Upload Data Requirements" table describes, an entry
 * is one row of a model table. A new upstream model is one entry (and, only if its table
 * differs from every known one, one family).
 *
 * Where the page is silent or contradicts itself, the choice made is written next to it.
 */
import { ApiError, invalidParam } from "../errors/api-error";

export const VIDEO_MODES = ["t2v", "i2v", "r2v"] as const;
export type VideoMode = (typeof VIDEO_MODES)[number];

/** A parameter whose value is one of a documented set. */
export interface ChoiceRule {
  /** Allowed values spelled as the page spells them: callers may use any case, this spelling is sent. */
  values: readonly string[];
  /** The upstream's documented default. Informational: when the caller sends nothing, the relay sends nothing and the upstream applies it. */
  default?: string;
  /** Upstream field names the value is sent under; two when the page contradicts itself (docs/UPSTREAM.md). */
  fields: readonly string[];
}

export interface DurationRule {
  /** Integer seconds, inclusive. */
  min: number;
  max: number;
  /** When the page lists discrete values, only these are allowed. */
  values?: readonly number[];
  default?: number;
  fields: readonly string[];
}

export interface FieldRule {
  fields: readonly string[];
}

export interface FlagRule {
  default: boolean;
  fields: readonly string[];
}

export type FrameRequirement = "required" | "optional";

/** A frame image. A family without the rule does not take that frame. */
export interface FrameRule {
  requirement: FrameRequirement;
  fields: readonly string[];
}

/** A list of reference files, sent as one repeated field (`image_files=@1.jpg`, `image_files=@2.jpg`). */
export interface MediaListRule {
  min: number;
  max: number;
  field: string;
}

export type FamilyId =
  | "happyhorse-t2v"
  | "seedance-2.0-t2v"
  | "wan-t2v"
  | "vidu-t2v"
  | "seedance-1.5-t2v"
  | "happyhorse-i2v"
  | "seedance-2.0-i2v"
  | "wan-i2v"
  | "vidu-i2v"
  | "seedance-1.5-i2v"
  | "happyhorse-r2v"
  | "seedance-2.0-r2v";

/**
 * One upload-requirements table. A canonical parameter the family lacks is refused when a
 * caller sends it (a field the upstream does not know is silently ignored there, so the
 * caller would pay for a video that ignores what they asked for).
 */
export interface VideoFamily {
  id: FamilyId;
  /** Whether the table has a `model` field; then the relay always sends one (the starred default when the caller names none). */
  takesModel: boolean;
  negative_prompt?: FieldRule;
  resolution?: ChoiceRule;
  ratio?: ChoiceRule;
  size?: ChoiceRule;
  duration?: DurationRule;
  off_peak?: FlagRule;
  first_frame?: FrameRule;
  last_frame?: FrameRule;
  reference_images?: MediaListRule;
  reference_videos?: MediaListRule;
  reference_audios?: MediaListRule;
}

export interface VideoCatalogEntry {
  llmid: string;
  provider: string;
  /** Model names of the row; the first is the default (the starred one). */
  models: readonly string[];
  family: VideoFamily;
  /** The table the row comes from: preferred when one model name has rows in several tables. */
  table: VideoMode;
  modes: readonly VideoMode[];
  enabled: boolean;
}

// --- shared value sets -------------------------------------------------------------------

/**
 * The page gives a duration as "integer seconds" without bounds for several families. The
 * relay refuses only what cannot be meant (0, negative, absurdly long), so 1–30 s: wider
 * than any of these providers' real ranges, narrow enough to catch a milliseconds mistake.
 */
const SILENT_DURATION = { min: 1, max: 30 } as const;

const P480_720_1080 = ["480p", "720p", "1080p"] as const;
const SEEDANCE_RATIOS = ["adaptive", "16:9", "4:3", "1:1", "3:4", "9:16", "21:9"] as const;
const VIDU_RESOLUTIONS = ["540p", "720p", "1080p"] as const;
const VIDU_RATIOS = ["16:9", "9:16", "4:3", "3:4", "1:1"] as const;
const SEEDANCE_15_RATIOS = ["16:9", "keep_ratio", "4:3", "1:1", "3:4", "9:16", "9:21", "21:9", "adaptive"] as const;
const WAN_SIZES = [
  "832*480", "480*832", "624*624", "1280*720", "720*1280", "960*960", "1088*832",
  "832*1088", "1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632",
] as const;

const RESOLUTION = ["resolution"] as const;
const RATIO = ["ratio"] as const;
const DURATION = ["duration"] as const;
/** The Seedance 1.5 tables call it `radio`, their example `ratio`: both are sent. */
const SEEDANCE_15_RATIO = ["radio", "ratio"] as const;
/** Frame names: `image1_file` in the Happy Horse / Seedance 2.0 tables and the Seedance 1.5 example, `image_file1` elsewhere. */
const IMAGE1_FILE = ["image1_file"] as const;
const IMAGE2_FILE = ["image2_file"] as const;
const IMAGE_FILE1 = ["image_file1"] as const;
const IMAGE_FILE2 = ["image_file2"] as const;

/**
 * The page says "up to 9" for Happy Horse and nothing for Seedance 2.0; the relay caps
 * reference images at 9 for every model. Videos and audios are unbounded on the page: 3 of
 * each is Seedance 2.0's own documented limit, and the 10 MiB upstream body limit binds first
 * anyway.
 */
const MAX_REFERENCE_IMAGES = 9;
const MAX_REFERENCE_VIDEOS = 3;
const MAX_REFERENCE_AUDIOS = 3;

// --- families (one per upload-requirements table) ----------------------------------------

const happyhorseT2v: VideoFamily = {
  id: "happyhorse-t2v",
  takesModel: true,
  resolution: { values: P480_720_1080, default: "720p", fields: RESOLUTION },
  ratio: { values: SEEDANCE_RATIOS, default: "adaptive", fields: RATIO },
  duration: { ...SILENT_DURATION, default: 5, fields: DURATION },
};

const seedance20T2v: VideoFamily = {
  id: "seedance-2.0-t2v",
  takesModel: true,
  resolution: { values: P480_720_1080, default: "720p", fields: RESOLUTION },
  ratio: { values: SEEDANCE_RATIOS, default: "adaptive", fields: RATIO },
  duration: { ...SILENT_DURATION, default: 5, fields: DURATION },
};

const wanT2v: VideoFamily = {
  id: "wan-t2v",
  takesModel: true,
  negative_prompt: { fields: ["negative_prompt"] },
  size: { values: WAN_SIZES, default: "1920*1080", fields: ["size"] },
  duration: { min: 5, max: 15, values: [5, 10, 15], default: 15, fields: DURATION },
};

/** The t2v table has no `model` field (only the i2v one does), so none is sent. */
const viduT2v: VideoFamily = {
  id: "vidu-t2v",
  takesModel: false,
  off_peak: { default: false, fields: ["off_peak"] },
  duration: { min: 1, max: 16, default: 10, fields: DURATION },
  ratio: { values: VIDU_RATIOS, default: "16:9", fields: RATIO },
  resolution: { values: VIDU_RESOLUTIONS, default: "1080p", fields: RESOLUTION },
};

const seedance15T2v: VideoFamily = {
  id: "seedance-1.5-t2v",
  takesModel: false,
  ratio: { values: SEEDANCE_15_RATIOS, fields: SEEDANCE_15_RATIO },
  resolution: { values: P480_720_1080, default: "1080p", fields: RESOLUTION },
  duration: { ...SILENT_DURATION, default: 12, fields: DURATION },
};

/**
 * "The interface only supports first-frame-to-video." Resolutions are spelled `720P`/`1080P`
 * here (the default is written `720p`): either case is accepted, the upper-case one is sent.
 */
const happyhorseI2v: VideoFamily = {
  id: "happyhorse-i2v",
  takesModel: false,
  first_frame: { requirement: "required", fields: IMAGE1_FILE },
  resolution: { values: ["720P", "1080P"], default: "720P", fields: RESOLUTION },
  duration: { ...SILENT_DURATION, default: 5, fields: DURATION },
};

/** The page marks both frames required; one edit here relaxes that if the upstream does not. */
const seedance20I2v: VideoFamily = {
  id: "seedance-2.0-i2v",
  takesModel: true,
  first_frame: { requirement: "required", fields: IMAGE1_FILE },
  last_frame: { requirement: "required", fields: IMAGE2_FILE },
  resolution: { values: P480_720_1080, default: "720p", fields: RESOLUTION },
  ratio: { values: SEEDANCE_RATIOS, default: "adaptive", fields: RATIO },
  duration: { ...SILENT_DURATION, default: 5, fields: DURATION },
};

/** Sizes are given as "`1280*720`, etc.": read as the Wanxiang t2v list. */
const wanI2v: VideoFamily = {
  id: "wan-i2v",
  takesModel: false,
  negative_prompt: { fields: ["negative_prompt"] },
  size: { values: WAN_SIZES, default: "1920*1080", fields: ["size"] },
  duration: { min: 5, max: 15, values: [5, 10, 15], default: 15, fields: DURATION },
  first_frame: { requirement: "required", fields: IMAGE_FILE1 },
  last_frame: { requirement: "required", fields: IMAGE_FILE2 },
};

/** Ratio and resolution values are not listed for i2v: read as Vidu's t2v sets. */
const viduI2v: VideoFamily = {
  id: "vidu-i2v",
  takesModel: true,
  off_peak: { default: false, fields: ["off_peak"] },
  first_frame: { requirement: "required", fields: IMAGE_FILE1 },
  last_frame: { requirement: "required", fields: IMAGE_FILE2 },
  duration: { min: 1, max: 16, default: 10, fields: DURATION },
  ratio: { values: VIDU_RATIOS, default: "16:9", fields: RATIO },
  resolution: { values: VIDU_RESOLUTIONS, default: "1080p", fields: RESOLUTION },
};

/**
 * Frames are optional (the same llmid is listed for Text to Video). The table says
 * `image_file1`/`image_file2` and `radio`; its example says `image1_file` and `ratio`: both
 * spellings are sent. Ratio and resolution values are read from the Seedance t2v table.
 */
const seedance15I2v: VideoFamily = {
  id: "seedance-1.5-i2v",
  takesModel: false,
  ratio: { values: SEEDANCE_15_RATIOS, fields: SEEDANCE_15_RATIO },
  resolution: { values: P480_720_1080, default: "1080p", fields: RESOLUTION },
  duration: { ...SILENT_DURATION, default: 12, fields: DURATION },
  first_frame: { requirement: "optional", fields: [...IMAGE_FILE1, ...IMAGE1_FILE] },
  last_frame: { requirement: "optional", fields: [...IMAGE_FILE2, ...IMAGE2_FILE] },
};

/** Ratio and resolution values are not listed for r2v: read as Happy Horse's t2v sets. */
const happyhorseR2v: VideoFamily = {
  id: "happyhorse-r2v",
  takesModel: true,
  ratio: { values: SEEDANCE_RATIOS, fields: RATIO },
  resolution: { values: P480_720_1080, default: "1080p", fields: RESOLUTION },
  duration: { ...SILENT_DURATION, default: 12, fields: DURATION },
  reference_images: { min: 1, max: MAX_REFERENCE_IMAGES, field: "image_files" },
};

/** Ratio and resolution values are not listed for r2v: read as Seedance 2.0's t2v sets. */
const seedance20R2v: VideoFamily = {
  id: "seedance-2.0-r2v",
  takesModel: true,
  ratio: { values: SEEDANCE_RATIOS, fields: RATIO },
  resolution: { values: P480_720_1080, default: "1080p", fields: RESOLUTION },
  duration: { ...SILENT_DURATION, default: 12, fields: DURATION },
  reference_images: { min: 1, max: MAX_REFERENCE_IMAGES, field: "image_files" },
  reference_videos: { min: 0, max: MAX_REFERENCE_VIDEOS, field: "video_files" },
  reference_audios: { min: 0, max: MAX_REFERENCE_AUDIOS, field: "audio_files" },
};

export const VIDEO_FAMILIES: Readonly<Record<FamilyId, VideoFamily>> = {
  "happyhorse-t2v": happyhorseT2v,
  "seedance-2.0-t2v": seedance20T2v,
  "wan-t2v": wanT2v,
  "vidu-t2v": viduT2v,
  "seedance-1.5-t2v": seedance15T2v,
  "happyhorse-i2v": happyhorseI2v,
  "seedance-2.0-i2v": seedance20I2v,
  "wan-i2v": wanI2v,
  "vidu-i2v": viduI2v,
  "seedance-1.5-i2v": seedance15I2v,
  "happyhorse-r2v": happyhorseR2v,
  "seedance-2.0-r2v": seedance20R2v,
};

// --- entries (one per row of the model tables) -------------------------------------------

const DOUBAO_SEEDANCE_20 = ["doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128"] as const;
const DREAMINA_SEEDANCE_20 = ["dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128"] as const;

function row(
  table: VideoMode,
  llmid: string,
  provider: string,
  models: readonly string[],
  family: FamilyId,
  extra: { modes?: readonly VideoMode[]; enabled?: boolean } = {},
): VideoCatalogEntry {
  return {
    llmid,
    provider,
    models,
    family: VIDEO_FAMILIES[family],
    table,
    modes: extra.modes ?? [table],
    enabled: extra.enabled ?? true,
  };
}

/**
 * Readings of the rows:
 * - Doubao Seedance 2.0 rows name one model, but their requirement tables accept
 *   "doubao-seedance-2-0-260128 or doubao-seedance-2-0-fast-260128": both are listed.
 * - CrEMkFQfRCmbmopZsCqLj appears twice, identically, in the t2v table: one entry.
 * - tb0VSY6WeyGbzaolU1_qE stars no model; the non-fast one is the default, as on every other
 *   Seedance 2.0 row.
 * - 7RTOJD6K8A7RXCMG4GnQ9 is listed as both "Text/Image to Video" and "Text to Video": one
 *   entry with both modes (its frames are optional).
 * - Vidu's i2v table lists `viduq2-turbo` beside `viduq3-pro`; the t2v table has no model field.
 * - "eedance2.0 (Not enabled)" shares Doubao's t2v llmid: it is listed so the relay can say
 *   it is disabled rather than unknown; the llmid itself resolves to the enabled row.
 */
export const VIDEO_CATALOG: readonly VideoCatalogEntry[] = [
  row("t2v", "o5vfXYD5BURJWRTWpopE5", "Alibaba Cloud", ["happyhorse-1.0-t2v"], "happyhorse-t2v"),
  row("t2v", "YjjGgxO_Xma8PWsMjJvps", "Doubao", DOUBAO_SEEDANCE_20, "seedance-2.0-t2v"),
  row("t2v", "TWay-xd0p0pkEX-_Kuhto", "We Token AI", DREAMINA_SEEDANCE_20, "seedance-2.0-t2v"),
  row("t2v", "CrEMkFQfRCmbmopZsCqLj", "Doubao", ["doubao-seedance-1-5-pro-251215"], "seedance-1.5-t2v"),
  row("t2v", "u9HZyfDoqU6uKI6M1BTks", "Tongyi Wanxiang", ["wan2.6-t2v"], "wan-t2v"),
  row("t2v", "r0ill7L0s6PtBS8mkmg-7", "vidu", ["viduq3-pro"], "vidu-t2v"),
  row("t2v", "YjjGgxO_Xma8PWsMjJvps", "Doubao", ["eedance2.0"], "seedance-2.0-t2v", { enabled: false }),

  row("i2v", "7y7kfYM0Xasizyi37WvAZ", "Alibaba Cloud", ["happyhorse-1.0-i2v"], "happyhorse-i2v"),
  row("i2v", "UeYax4591ytnPcr9eumry", "Doubao", DOUBAO_SEEDANCE_20, "seedance-2.0-i2v"),
  row("i2v", "tb0VSY6WeyGbzaolU1_qE", "We Token AI", DREAMINA_SEEDANCE_20, "seedance-2.0-i2v"),
  row("i2v", "7RTOJD6K8A7RXCMG4GnQ9", "Doubao", ["doubao-seedance-1-5-pro-251215"], "seedance-1.5-i2v", {
    modes: ["t2v", "i2v"],
  }),
  row("i2v", "FK_h7FLYnosv2TkMN4ATC", "vidu", ["viduq3-pro", "viduq2-turbo"], "vidu-i2v"),
  row("i2v", "x4HksKp9mXR1Yv60mw6Py", "Tongyi Wanxiang", ["wan2.6-r2v"], "wan-i2v"),

  row("r2v", "6o9n_7u2K927hNlD8_72f", "Alibaba Cloud", ["happyhorse-1.0-r2v"], "happyhorse-r2v"),
  row("r2v", "dmPXF65TD1riKj9KaxLmg", "Doubao", DOUBAO_SEEDANCE_20, "seedance-2.0-r2v"),
  row("r2v", "nVbH7lEO51soqTbLGIHE_", "We Token AI", DREAMINA_SEEDANCE_20, "seedance-2.0-r2v"),
];

// --- look-ups ----------------------------------------------------------------------------

export function defaultModel(entry: VideoCatalogEntry): string {
  // Every row names at least one model; the fallback only satisfies the type checker.
  return entry.models[0] ?? entry.llmid;
}

/** How errors name an entry: the model the caller asked for (or the default) and its llmid. */
export function describeEntry(entry: VideoCatalogEntry, model?: string): string {
  return `${model ?? defaultModel(entry)} (llmid ${entry.llmid})`;
}

export interface VideoModelListing {
  id: string;
  llmid: string;
  provider: string;
  modes: readonly VideoMode[];
  default: boolean;
  enabled: boolean;
  family: FamilyId;
  parameters: VideoFamily;
}

/** One row per (entry, model name), for GET /v1/models. A name can appear under several llmids (one per mode). */
export function listVideoModels(): VideoModelListing[] {
  return VIDEO_CATALOG.flatMap((entry) =>
    entry.models.map((id, index) => ({
      id,
      llmid: entry.llmid,
      provider: entry.provider,
      modes: entry.modes,
      default: index === 0,
      enabled: entry.enabled,
      family: entry.family.id,
      parameters: entry.family,
    })),
  );
}

/** The enabled entry for an llmid (a shared llmid's disabled row never wins), else a disabled one, else undefined. */
export function findEntryByLlmid(llmid: string): VideoCatalogEntry | undefined {
  const rows = VIDEO_CATALOG.filter((e) => e.llmid === llmid);
  return rows.find((e) => e.enabled) ?? rows[0];
}

/** The catalog's spelling of a model name on this entry (names are matched case-insensitively). */
export function matchModel(entry: VideoCatalogEntry, model: string): string | undefined {
  const wanted = model.trim().toLowerCase();
  return entry.models.find((m) => m.toLowerCase() === wanted);
}

export interface VideoSelection {
  model?: string;
  llmid?: string;
  /** The mode the caller set explicitly. */
  mode?: VideoMode;
}

export interface ResolvedVideoEntry {
  entry: VideoCatalogEntry;
  mode: VideoMode;
  /** The model name sent (when the family takes one) and recorded: the caller's, or the starred default. */
  model: string;
}

/**
 * Picks the catalog row for a request. `inferred` is the mode the media imply (see
 * `inferVideoMode`); when the caller set no mode and the chosen model does not do the
 * inferred one, the row's own mode is used so that the media checks name the field at
 * fault ("first_frame is required…") instead of a mode the caller never wrote.
 */
export function resolveVideoEntry(selection: VideoSelection, inferred: VideoMode = "t2v"): ResolvedVideoEntry {
  const candidates = candidateEntries(selection);
  const enabled = candidates.filter((e) => e.enabled);
  const first = enabled[0];
  if (!first) throw disabledError(candidates, selection);

  const wanted = selection.mode ?? inferred;
  const supporting = enabled
    .filter((e) => e.modes.includes(wanted))
    .sort((a, b) => Number(b.table === wanted) - Number(a.table === wanted));
  const chosen = supporting[0];
  if (chosen) return { entry: chosen, mode: wanted, model: modelFor(chosen, selection.model) };

  if (selection.mode) {
    const modes = [...new Set(enabled.flatMap((e) => e.modes))].join(", ");
    throw invalidParam(
      "mode",
      `${selection.model ?? describeEntry(first)} does not do ${selection.mode}; it supports: ${modes}.`,
    );
  }
  return { entry: first, mode: first.table, model: modelFor(first, selection.model) };
}

function modelFor(entry: VideoCatalogEntry, requested: string | undefined): string {
  return (requested !== undefined ? matchModel(entry, requested) : undefined) ?? defaultModel(entry);
}

function candidateEntries(selection: VideoSelection): VideoCatalogEntry[] {
  const { model, llmid } = selection;
  if (llmid !== undefined) {
    const rows = VIDEO_CATALOG.filter((e) => e.llmid === llmid);
    if (rows.length === 0) {
      throw new ApiError(
        "not_found",
        `llmid ${llmid} is not in the relay's catalog; known llmids: ${knownLlmids().join(", ")}. ` +
          "POST /llmage/video forwards models the relay does not know.",
        { param: "llmid", detailCode: "model_not_found" },
      );
    }
    if (model === undefined) return rows;
    const matching = rows.filter((e) => matchModel(e, model) !== undefined);
    if (matching.length === 0) throw disagreementError(llmid, model, rows);
    return matching;
  }
  if (model !== undefined) {
    const rows = VIDEO_CATALOG.filter((e) => matchModel(e, model) !== undefined);
    if (rows.length === 0) {
      throw new ApiError(
        "not_found",
        `model ${model} is not in the catalog; available: ${knownModels().join(", ")}.`,
        { param: "model", detailCode: "model_not_found" },
      );
    }
    return rows;
  }
  throw invalidParam("model", "model or llmid is required: a model name from GET /v1/models, or an upstream llmid.");
}

function disagreementError(llmid: string, model: string, rows: readonly VideoCatalogEntry[]): ApiError {
  const served = [...new Set(rows.filter((e) => e.enabled).flatMap((e) => e.models))].join(", ");
  const elsewhere = VIDEO_CATALOG.filter((e) => e.enabled && matchModel(e, model) !== undefined).map(
    (e) => `${e.llmid} (${e.modes.join("/")})`,
  );
  const hint = elsewhere.length > 0 ? `model ${model} is served by llmid ${elsewhere.join(", ")}` : `model ${model} is not in the catalog`;
  return invalidParam("llmid", `llmid ${llmid} and model ${model} disagree: llmid ${llmid} serves ${served}; ${hint}. Give one of them, or a matching pair.`);
}

function disabledError(rows: readonly VideoCatalogEntry[], selection: VideoSelection): ApiError {
  const names = [...new Set(rows.flatMap((e) => e.models))].join(", ");
  const alternatives = [
    ...new Set(VIDEO_CATALOG.filter((e) => e.enabled && rows.some((r) => r.llmid === e.llmid)).flatMap((e) => e.models)),
  ];
  const hint = alternatives.length > 0 ? ` The same llmid serves: ${alternatives.join(", ")}.` : "";
  return new ApiError("invalid_request", `${names} is listed by the upstream but not enabled.${hint}`, {
    param: selection.model !== undefined ? "model" : "llmid",
    detailCode: "model_not_enabled",
  });
}

function knownLlmids(): string[] {
  return [...new Set(VIDEO_CATALOG.filter((e) => e.enabled).map((e) => e.llmid))];
}

function knownModels(): string[] {
  return [...new Set(VIDEO_CATALOG.filter((e) => e.enabled).flatMap((e) => e.models))];
}

/** What the media imply (docs/API.md): reference media → r2v, a frame → i2v, else t2v. */
export function inferVideoMode(present: {
  frames: boolean;
  references: boolean;
}): VideoMode {
  if (present.references) return "r2v";
  if (present.frames) return "i2v";
  return "t2v";
}
