/**
 * The canonical POST /v1/videos request (docs/API.md), written once as a zod schema: it
 * validates JSON bodies, validates multipart bodies after `parseCanonicalVideoForm` has
 * turned the form into the same shape, and feeds the OpenAPI document.
 *
 * These are shape checks only. Whether a value suits the chosen model is the catalog's
 * business (rules.ts), and whether a webhook URL is safe is the webhook module's.
 */
import { z } from "@hono/zod-openapi";
import { ApiError, invalidParam } from "../errors/api-error";
import { VIDEO_MODES, type VideoMode } from "./catalog";
import type { MediaSource } from "./media";

/** Generous enough for any real prompt, small enough that two of them fit the upstream body headroom (media.ts). */
export const PROMPT_MAX_CHARS = 20_000;

export const WEBHOOK_EVENTS = ["task.running", "task.succeeded", "task.failed", "task.expired"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** docs/API.md: the terminal events when the caller names none. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ["task.succeeded", "task.failed", "task.expired"];

/** docs/API.md says "up to 16 string pairs"; the key and value lengths are Stripe's metadata limits. */
export const METADATA_LIMITS = { maxPairs: 16, maxKeyChars: 64, maxValueChars: 512 } as const;

/** Per docs/API.md, reference images are capped at 9 for every model; the same shape cap holds for videos and audios (families narrow it). */
export const MAX_REFERENCES = 9;

export interface CanonicalVideoRequest {
  model?: string;
  llmid?: string;
  mode?: VideoMode;
  prompt: string;
  negative_prompt?: string;
  resolution?: string;
  ratio?: string;
  size?: string;
  duration?: number;
  off_peak?: boolean;
  first_frame?: MediaSource;
  last_frame?: MediaSource;
  reference_images?: MediaSource[];
  reference_videos?: MediaSource[];
  reference_audios?: MediaSource[];
  webhook?: string;
  webhook_events?: WebhookEvent[];
  metadata?: Record<string, string>;
}

// --- field schemas -----------------------------------------------------------------------

function isUrlWithScheme(value: string, schemes: readonly string[]): boolean {
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export function isMediaUrl(value: string): boolean {
  return /^data:/i.test(value) || isUrlWithScheme(value, ["https:"]);
}

const MEDIA_FORMS = "an https URL or a data: URL (or, in multipart, an uploaded file)";

function mediaUrl(field: string) {
  return z
    .string({ error: `${field} must be ${MEDIA_FORMS}.` })
    .refine(isMediaUrl, { error: `${field} must be ${MEDIA_FORMS}.` })
    .openapi({ description: `${MEDIA_FORMS}; checked by its bytes before anything goes upstream.`, example: "https://example.com/frame.png" });
}

function mediaUpload(field: string) {
  return z.union([z.instanceof(File), mediaUrl(field)], { error: `${field} must be ${MEDIA_FORMS}.` });
}

/** For the multipart request in the OpenAPI document only. */
function mediaBinary(field: string) {
  return z.string().openapi({ format: "binary", description: `${field}: a file, or ${MEDIA_FORMS}.` });
}

function text(field: string, max: number) {
  return z
    .string({ error: `${field} must be a string.` })
    .max(max, { error: `${field} is longer than ${max} characters.` });
}

const prompt = z
  .string({ error: (issue) => (issue.input === undefined ? "prompt is required." : "prompt must be a string.") })
  .max(PROMPT_MAX_CHARS, { error: `prompt is longer than ${PROMPT_MAX_CHARS} characters.` })
  .refine((s) => s.trim().length > 0, { error: "prompt must not be blank." })
  .openapi({ description: "What the video shows. Required.", example: "A cat chasing a mouse" });

export const webhookUrlSchema = z
  .string({ error: "webhook must be a URL string." })
  .max(2048, { error: "webhook is longer than 2048 characters." })
  // http is let through here because local development may allow it (WEBHOOK_ALLOW_PRIVATE); the URL-safety module decides.
  .refine((s) => isUrlWithScheme(s, ["https:", "http:"]), { error: "webhook must be an absolute https URL." })
  .openapi({ description: "A URL to notify of the task's events (Standard Webhooks signed).", example: "https://example.com/hooks/video" });

export const webhookEventsSchema = z
  .array(z.enum(WEBHOOK_EVENTS, { error: `webhook_events items must be one of: ${WEBHOOK_EVENTS.join(", ")}.` }), {
    error: "webhook_events must be an array of event names.",
  })
  .min(1, { error: `webhook_events must name at least one of: ${WEBHOOK_EVENTS.join(", ")}.` })
  .openapi({ description: `Events sent to webhook; default the terminal ones (${DEFAULT_WEBHOOK_EVENTS.join(", ")}).` });

export const metadataSchema = z
  .record(z.string(), z.string({ error: "metadata values must be strings." }), {
    error: "metadata must be an object of string pairs.",
  })
  .superRefine((pairs, ctx) => {
    const keys = Object.keys(pairs);
    if (keys.length > METADATA_LIMITS.maxPairs) {
      ctx.addIssue({ code: "custom", message: `metadata has ${keys.length} pairs; at most ${METADATA_LIMITS.maxPairs} are allowed.` });
    }
    for (const key of keys) {
      if (key.length === 0 || key.length > METADATA_LIMITS.maxKeyChars) {
        ctx.addIssue({ code: "custom", path: [key], message: `metadata keys must be 1 to ${METADATA_LIMITS.maxKeyChars} characters.` });
      } else if ((pairs[key] ?? "").length > METADATA_LIMITS.maxValueChars) {
        ctx.addIssue({ code: "custom", path: [key], message: `metadata values must be at most ${METADATA_LIMITS.maxValueChars} characters.` });
      }
    }
  })
  .openapi({
    description: `Up to ${METADATA_LIMITS.maxPairs} string pairs (keys ≤ ${METADATA_LIMITS.maxKeyChars} characters, values ≤ ${METADATA_LIMITS.maxValueChars}), echoed on the task and in every webhook.`,
  });

function references<M extends z.ZodType>(field: string, media: M) {
  return z
    .array(media, { error: `${field} must be an array.` })
    .max(MAX_REFERENCES, { error: `${field} takes at most ${MAX_REFERENCES} items.` });
}

function videoRequestSchema<M extends z.ZodType>(media: (field: string) => M) {
  return z.strictObject({
    model: text("model", 128).optional().openapi({ description: "A model name from the catalog; or give llmid.", example: "viduq3-pro" }),
    llmid: text("llmid", 128).optional().openapi({ description: "An upstream model id; must agree with model when both are given.", example: "r0ill7L0s6PtBS8mkmg-7" }),
    mode: z
      .enum(VIDEO_MODES, { error: `mode must be one of: ${VIDEO_MODES.join(", ")}.` })
      .optional()
      .openapi({ description: "Inferred when omitted: reference media → r2v, a frame → i2v, else t2v." }),
    prompt,
    negative_prompt: text("negative_prompt", PROMPT_MAX_CHARS).optional(),
    resolution: text("resolution", 32).optional().openapi({ example: "720p" }),
    ratio: text("ratio", 32).optional().openapi({ example: "16:9" }),
    size: text("size", 32).optional().openapi({ example: "1280*720" }),
    duration: z
      .number({ error: "duration must be an integer number of seconds." })
      .int({ error: "duration must be an integer number of seconds." })
      .optional()
      .openapi({ example: 5 }),
    off_peak: z
      .union([z.boolean(), z.enum(["Y", "N", "y", "n"])], { error: 'off_peak must be true or false (or "Y"/"N").' })
      .optional(),
    first_frame: media("first_frame").optional(),
    last_frame: media("last_frame").optional(),
    reference_images: references("reference_images", media("reference_images")).optional(),
    reference_videos: references("reference_videos", media("reference_videos")).optional(),
    reference_audios: references("reference_audios", media("reference_audios")).optional(),
    webhook: webhookUrlSchema.optional(),
    webhook_events: webhookEventsSchema.optional(),
    metadata: metadataSchema.optional(),
  });
}

/** The JSON body of POST /v1/videos (also the OpenAPI component `VideoRequest`). */
export const VideoRequestJsonSchema = videoRequestSchema(mediaUrl).openapi("VideoRequest");
/** The multipart body of POST /v1/videos, for the OpenAPI document. */
export const VideoRequestFormSchema = videoRequestSchema(mediaBinary).openapi("VideoRequestForm");
const formValidationSchema = videoRequestSchema(mediaUpload);

export const CANONICAL_FIELDS = Object.keys(VideoRequestJsonSchema.shape);

// --- zod issues → ApiError ---------------------------------------------------------------

/** `["reference_images", 2]` → `reference_images[2]`, the same spelling media refusals use. */
export function pathToParam(path: readonly PropertyKey[]): string | null {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || null;
}

/** The first issue, as the relay's error: `param` is where it is, the message says what is allowed. */
export function apiErrorFromZod(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  if (!issue) return new ApiError("invalid_request", "The request is invalid.");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    return invalidParam(
      pathToParam([...issue.path, key]) ?? key,
      `Unknown field ${key}; POST /v1/videos takes: ${CANONICAL_FIELDS.join(", ")}.`,
    );
  }
  return new ApiError("invalid_request", issue.message, { param: pathToParam(issue.path) });
}

// --- parsing -----------------------------------------------------------------------------

type ParsedShape = z.output<typeof formValidationSchema>;

function finish(parsed: ParsedShape): CanonicalVideoRequest {
  const { off_peak, webhook_events, ...rest } = parsed;
  const out: CanonicalVideoRequest = { ...rest };
  if (off_peak !== undefined) out.off_peak = typeof off_peak === "boolean" ? off_peak : off_peak.toUpperCase() === "Y";
  if (webhook_events !== undefined) out.webhook_events = [...new Set(webhook_events)];
  if (out.webhook_events && out.webhook === undefined) {
    throw invalidParam("webhook_events", "webhook_events needs a webhook to send them to.");
  }
  return out;
}

function validate(schema: z.ZodType<ParsedShape>, value: unknown): CanonicalVideoRequest {
  const result = schema.safeParse(value);
  if (!result.success) throw apiErrorFromZod(result.error);
  return finish(result.data);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON body. `null` fields count as absent (some clients send every field). */
export function parseCanonicalVideoJson(body: unknown): CanonicalVideoRequest {
  if (!isPlainObject(body)) throw new ApiError("invalid_request", "The body must be a JSON object.");
  const present = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null));
  return validate(VideoRequestJsonSchema, present);
}

const LIST_FIELDS = new Set(["reference_images", "reference_videos", "reference_audios", "webhook_events"]);
const FILE_FIELDS = new Set(["first_frame", "last_frame", "reference_images", "reference_videos", "reference_audios"]);

/** A browser sends untouched inputs as "" and untouched file inputs as an empty, nameless file: both mean "not given". */
export function isEmptyFormValue(value: File | string): boolean {
  return typeof value === "string" ? value === "" : value.size === 0 && value.name === "";
}

const INTEGER = /^\s*-?\d+\s*$/;
const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, false: false, "1": true, "0": false, y: true, n: false };

/** Collects `name` and `name[]` parts; `metadata[key]` parts are returned apart. */
function collectFormFields(form: FormData): { fields: Map<string, Array<File | string>>; metadataParts: Map<string, File | string> } {
  const fields = new Map<string, Array<File | string>>();
  const metadataParts = new Map<string, File | string>();
  for (const [rawName, value] of form.entries()) {
    if (isEmptyFormValue(value)) continue;
    const metadataKey = /^metadata\[(.*)\]$/.exec(rawName)?.[1];
    if (metadataKey !== undefined) {
      metadataParts.set(metadataKey, value);
      continue;
    }
    const name = rawName.endsWith("[]") ? rawName.slice(0, -2) : rawName;
    fields.set(name, [...(fields.get(name) ?? []), value]);
  }
  return { fields, metadataParts };
}

/** Turns one text part into the JSON value it stands for (numbers and booleans come as strings). */
function formScalar(name: string, value: File | string): unknown {
  if (typeof value !== "string") {
    if (FILE_FIELDS.has(name) || !CANONICAL_FIELDS.includes(name)) return value;
    throw invalidParam(name, `${name} must be a text field, not a file.`);
  }
  if (name === "duration" && INTEGER.test(value)) return Number(value);
  if (name === "off_peak") return BOOLEAN_WORDS[value.trim().toLowerCase()] ?? value;
  return value;
}

function formMetadata(fields: Map<string, Array<File | string>>, parts: Map<string, File | string>): unknown {
  const json = fields.get("metadata");
  if (json && parts.size > 0) {
    throw invalidParam("metadata", "Give metadata either as one JSON field or as metadata[key] fields, not both.");
  }
  if (parts.size > 0) {
    for (const [key, value] of parts) {
      if (typeof value !== "string") throw invalidParam(`metadata.${key}`, "metadata values must be strings.");
    }
    return Object.fromEntries(parts);
  }
  const [value] = json ?? [];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalidParam("metadata", "metadata must be a JSON object of string pairs, not a file.");
  try {
    return JSON.parse(value);
  } catch {
    throw invalidParam("metadata", "metadata must be a JSON object of string pairs (or metadata[key]=value fields).");
  }
}

/** `task.succeeded, task.failed` → two events; a file part is left for the schema to refuse. */
function splitEvents(value: File | string): Array<File | string> {
  if (typeof value !== "string") return [value];
  return value
    .split(",")
    .map((event) => event.trim())
    .filter((event) => event !== "");
}

/**
 * A multipart body: the same fields as JSON, numbers and booleans as text, files as file
 * parts, lists as repeated parts (`name` or `name[]`), webhook_events also comma-separated,
 * metadata as one JSON part or `metadata[key]=value` parts.
 */
export function parseCanonicalVideoForm(form: FormData): CanonicalVideoRequest {
  const { fields, metadataParts } = collectFormFields(form);
  const body: Record<string, unknown> = {};
  for (const [name, values] of fields) {
    if (name === "metadata") continue;
    if (name === "webhook_events") {
      body[name] = values.flatMap(splitEvents);
    } else if (LIST_FIELDS.has(name)) {
      body[name] = values;
    } else {
      if (values.length > 1) throw invalidParam(name, `${name} was given ${values.length} times; it takes one value.`);
      const [value] = values;
      if (value !== undefined) body[name] = formScalar(name, value);
    }
  }
  const metadata = formMetadata(fields, metadataParts);
  if (metadata !== undefined) body.metadata = metadata;
  return validate(formValidationSchema, body);
}
