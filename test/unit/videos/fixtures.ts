/** Tiny real file headers, made in memory: enough bytes for the magic-byte checks, nothing more. */
import { expect } from "vitest";
import { ApiError } from "../../../src/errors/api-error";
import type { MediaDeps } from "../../../src/videos/media";
import type { UpstreamVideoRequest } from "../../../src/videos/upstream-request";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const bytes = (...parts: Array<number[] | string>) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? ascii(p) : p)));
const padding = (n = 16) => new Array<number>(n).fill(0);

export const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], "JFIF", padding());
export const PNG = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0, 0, 0, 13], "IHDR", padding());
export const WEBP = bytes("RIFF", [0x24, 0, 0, 0], "WEBP", "VP8 ", padding());
export const MP4 = bytes([0, 0, 0, 0x18], "ftyp", "isom", [0, 0, 2, 0], "isomiso2", padding());
export const MOV = bytes([0, 0, 0, 0x14], "ftyp", "qt  ", [0, 0, 0, 0], "qt  ", padding());
export const MOV_WIDE = bytes([0, 0, 0, 8], "wide", [0, 0, 0, 0], "mdat", padding());
export const M4A = bytes([0, 0, 0, 0x20], "ftyp", "M4A ", [0, 0, 0, 0], "M4A isom", padding());
export const MP3_ID3 = bytes("ID3", [0x03, 0x00, 0x00, 0, 0, 0, 0], padding());
export const MP3_FRAME = bytes([0xff, 0xfb, 0x90, 0x64], padding());
export const WAV = bytes("RIFF", [0x24, 0, 0, 0], "WAVE", "fmt ", padding());
export const HEIC = bytes([0, 0, 0, 0x18], "ftyp", "heic", [0, 0, 0, 0], "mif1heic", padding());
export const TEXT = bytes("this is plain text, not an image at all");
/** ADTS AAC: frame sync with the reserved layer 0, which an MP3 frame never has. */
export const AAC_ADTS = bytes([0xff, 0xf1, 0x50, 0x80], padding());

export function file(content: Uint8Array, name: string, type = ""): File {
  return new File([content], name, { type });
}

/** A file of `size` bytes starting with `header`. */
export function sized(header: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(header.subarray(0, Math.min(header.length, size)));
  return out;
}

export function dataUrl(content: Uint8Array, type = "application/octet-stream"): string {
  let binary = "";
  for (const b of content) binary += String.fromCharCode(b);
  return `data:${type};base64,${btoa(binary)}`;
}

/** Media deps for requests that must not touch the network. */
export const offline: MediaDeps = {
  fetch: () => Promise.reject(new Error("no network in this test")),
  checkUrl: () => undefined,
};

/** Fields as comparable text: files shown as `file:<name>:<type>:<size>`. */
export function fieldsOf(request: UpstreamVideoRequest): Array<[string, string]> {
  return request.fields.map(([name, value]) => [
    name,
    typeof value === "string" ? value : `file:${value.name}:${value.type}:${value.size}`,
  ]);
}

export async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<ApiError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected a refusal, but the request was accepted");
}
