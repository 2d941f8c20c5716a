/**
 * Video integration-test builders: tiny real media headers (shared with the unit tests),
 * multipart bodies with a chosen boundary, and the upstream request a catalog family must
 * produce for a canonical request (derived from VIDEO_CATALOG, so a new entry is covered).
 */
import { expect } from "vitest";
import { toHex } from "../../src/lib/crypto";
import type { VideoCatalogEntry, VideoMode } from "../../src/videos/catalog";
import { JPEG, MP3_ID3, MP4, PNG, WEBP } from "../unit/videos/fixtures";
import { call, type SimRequest } from "./helpers";

export { dataUrl, JPEG, MP3_ID3, MP4, PNG, sized, TEXT, WAV, WEBP } from "../unit/videos/fixtures";

export interface Upload {
  bytes: Uint8Array;
  filename: string;
  type?: string;
}

export type Part = [name: string, value: string | Upload];

export function upload(bytes: Uint8Array, filename: string, type = "application/octet-stream"): Upload {
  return { bytes, filename, type };
}

/** A multipart/form-data body written by hand, so a test picks the boundary (a retry may change it). */
export function multipart(parts: readonly Part[], boundary = `----relay-test-${crypto.randomUUID()}`): { body: Uint8Array; contentType: string } {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const [name, value] of parts) {
    if (typeof value === "string") {
      chunks.push(encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    } else {
      chunks.push(
        encoder.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\n` +
            `Content-Type: ${value.type ?? "application/octet-stream"}\r\n\r\n`,
        ),
        value.bytes,
        encoder.encode("\r\n"),
      );
    }
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** POSTs a hand-written multipart body. */
export function postForm(path: string, key: string, parts: readonly Part[], options: { boundary?: string; headers?: Record<string, string> } = {}) {
  const { body, contentType } = multipart(parts, options.boundary);
  return call(path, { key, body, headers: { "content-type": contentType, ...options.headers } });
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** What the simulator must have recorded for an uploaded file: the same bytes, typed by their content. */
export async function sameFile(bytes: Uint8Array, mime: string): Promise<unknown> {
  return expect.objectContaining({ size: bytes.byteLength, sha256: await sha256(bytes), type: mime });
}

const MIME = new Map<Uint8Array, string>([
  [PNG, "image/png"],
  [JPEG, "image/jpeg"],
  [WEBP, "image/webp"],
  [MP4, "video/mp4"],
  [MP3_ID3, "audio/mpeg"],
]);

export function mimeOf(bytes: Uint8Array): string {
  const mime = MIME.get(bytes);
  if (!mime) throw new Error("not a fixture");
  return mime;
}

/** Only one submission reached the simulator; returns it. */
export function onlySubmission(requests: readonly SimRequest[]): SimRequest {
  expect(requests).toHaveLength(1);
  const [only] = requests;
  if (!only) throw new Error("no submission recorded");
  return only;
}

// ---- catalog-driven cases -------------------------------------------------------------

export interface VideoCase {
  name: string;
  entry: VideoCatalogEntry;
  mode: VideoMode;
  /** Canonical text fields (JSON types). */
  fields: Record<string, string | number | boolean>;
  /** Canonical file fields → uploads in order (frames have one). */
  files: Array<[string, Uint8Array]>;
  /** The upstream field → expected value(s): JSON values for a JSON submission, form values (text, files as matchers) otherwise. */
  expected: Record<string, unknown>;
  multipart: boolean;
}

/**
 * A valid canonical request for an entry in one mode, using every parameter its family
 * takes (a non-default value, in a case the page does not use, to check the relay sends
 * the page's spelling), and the upstream request it must become.
 */
export async function validCase(entry: VideoCatalogEntry, mode: VideoMode): Promise<VideoCase> {
  const family = entry.family;
  const model = entry.models[entry.models.length - 1] ?? entry.llmid;
  const fields: Record<string, string | number | boolean> = {
    model,
    llmid: entry.llmid,
    mode,
    prompt: `a ${family.id} video (${mode})`,
  };
  // upstream name → the value as typed in JSON
  const typed: Array<[string, string | number | boolean]> = [["llmid", entry.llmid]];
  if (family.takesModel) typed.push(["model", model]);
  typed.push(["prompt", String(fields.prompt)]);
  if (family.negative_prompt) {
    fields.negative_prompt = "blurry, low quality";
    for (const f of family.negative_prompt.fields) typed.push([f, "blurry, low quality"]);
  }
  for (const param of ["resolution", "ratio", "size"] as const) {
    const rule = family[param];
    if (!rule) continue;
    const value = rule.values[rule.values.length - 1] ?? "";
    // Callers may use any case (and `x` for `*` in sizes); the page's spelling is sent.
    fields[param] = param === "size" ? value.replace("*", "x") : value === value.toLowerCase() ? value.toUpperCase() : value.toLowerCase();
    for (const f of rule.fields) typed.push([f, value]);
  }
  if (family.duration) {
    const rule = family.duration;
    const value = rule.values ? (rule.values[0] ?? rule.min) : rule.max;
    fields.duration = value;
    for (const f of rule.fields) typed.push([f, value]);
  }
  if (family.off_peak) {
    fields.off_peak = true;
    for (const f of family.off_peak.fields) typed.push([f, true]);
  }

  const files: Array<[string, Uint8Array]> = [];
  const sentFiles: Array<[string, Uint8Array]> = [];
  if (mode === "i2v") {
    if (family.first_frame) {
      files.push(["first_frame", PNG]);
      for (const f of family.first_frame.fields) sentFiles.push([f, PNG]);
    }
    if (family.last_frame) {
      files.push(["last_frame", JPEG]);
      for (const f of family.last_frame.fields) sentFiles.push([f, JPEG]);
    }
  }
  if (mode === "r2v") {
    const refs: Array<[keyof typeof family & ("reference_images" | "reference_videos" | "reference_audios"), Uint8Array[]]> = [
      ["reference_images", [PNG, JPEG, WEBP]],
      ["reference_videos", [MP4]],
      ["reference_audios", [MP3_ID3]],
    ];
    for (const [param, samples] of refs) {
      const rule = family[param];
      if (!rule) continue;
      const count = Math.max(1, Math.min(rule.max, samples.length));
      for (const bytes of samples.slice(0, count)) {
        files.push([param, bytes]);
        sentFiles.push([rule.field, bytes]);
      }
    }
  }

  const isMultipart = files.length > 0;
  const expected: Record<string, unknown> = {};
  if (isMultipart) {
    const form: Record<string, unknown[]> = {};
    for (const [name, value] of typed) (form[name] ??= []).push(typeof value === "boolean" ? (value ? "1" : "0") : String(value));
    for (const [name, bytes] of sentFiles) (form[name] ??= []).push(await sameFile(bytes, mimeOf(bytes)));
    Object.assign(expected, form);
  } else {
    for (const [name, value] of typed) {
      const previous = expected[name];
      expected[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
  }
  return { name: `${entry.llmid} ${model} ${mode} (${family.id})`, entry, mode, fields, files, expected, multipart: isMultipart };
}

/** The case as multipart parts: text fields as text, files as uploads with misleading names (the bytes decide). */
export function caseParts(c: VideoCase): Part[] {
  const parts: Part[] = Object.entries(c.fields).map(([name, value]) => [name, String(value)]);
  c.files.forEach(([name, bytes], i) => parts.push([name, upload(bytes, `upload-${i}.bin`)]));
  return parts;
}
