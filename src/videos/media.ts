/**
 * Media a video request carries: an uploaded File, an `https:` URL or a `data:` URL. Every
 * source is turned into bytes the relay holds and checked here, before anything goes
 * upstream: the upstream bills a submission even when the media are unusable.
 *
 * The kind is decided by magic bytes only: a declared content type or a file name is the
 * caller's claim, the bytes are the fact.
 */
import { ApiError, invalidParam } from "../errors/api-error";
import { fromBase64 } from "../lib/crypto";

const MiB = 1024 * 1024;

export const MEDIA_LIMITS = {
  /** The upstream's server refuses request bodies over 10 MiB (docs/UPSTREAM.md). */
  upstreamBodyBytes: 10 * MiB,
  /**
   * All files of one request, counted as they go upstream (a frame a family receives under
   * two field names counts twice). The 512 KiB left below the upstream's limit covers the
   * multipart framing and the text fields (prompts are capped at 20,000 characters).
   */
  totalBytes: 9.5 * MiB,
  /** Per file. Frames and references are photos; a clip may use most of the budget. */
  imageBytes: 5 * MiB,
  videoBytes: 9 * MiB,
  audioBytes: 5 * MiB,
  /** A media URL must answer, and finish sending, within this. */
  fetchTimeoutMs: 15_000,
  /** Redirects followed when fetching a media URL, each one checked like the first URL. */
  maxRedirects: 3,
} as const;

export type MediaKind = "image" | "video" | "audio";

export interface DetectedType {
  kind: MediaKind;
  mime: string;
  ext: string;
}

/** A checked media file: what is sent upstream. */
export interface NormalizedMedia {
  kind: MediaKind;
  bytes: Uint8Array;
  /** The type detected from the bytes. */
  mime: string;
  /** Derived from the field, with the detected extension: never the caller's file name. */
  filename: string;
  file: File;
}

export type MediaSource = File | string;

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface MediaDeps {
  /** Used for `https:` sources; inject the platform's fetch (tests inject their own). */
  fetch: FetchLike;
  /** URL safety (another module's job): throws for a URL the relay must not fetch. Called for every URL, redirects included. */
  checkUrl: (url: URL) => void;
  timeoutMs?: number;
}

export const KIND_NAMES: Record<MediaKind, string> = {
  image: "an image (JPEG, PNG or WebP)",
  video: "a video (MP4 or MOV)",
  audio: "an audio file (MP3, WAV or M4A)",
};

export function maxBytesFor(kind: MediaKind): number {
  switch (kind) {
    case "image":
      return MEDIA_LIMITS.imageBytes;
    case "video":
      return MEDIA_LIMITS.videoBytes;
    case "audio":
      return MEDIA_LIMITS.audioBytes;
  }
}

// --- magic bytes -------------------------------------------------------------------------

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

/**
 * ISO-BMFF brands that are still images (HEIF/AVIF), not clips: an `ftyp` box alone must
 * not make a phone photo pass as a video.
 */
const IMAGE_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis"]);
const AUDIO_BRANDS = new Set(["M4A ", "M4B "]);
/** QuickTime files may start with these atoms instead of `ftyp`. */
const QUICKTIME_ATOMS = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"]);

function detectIsoMedia(bytes: Uint8Array): DetectedType | null {
  const box = ascii(bytes, 4, 4);
  if (box === "ftyp" && bytes.length >= 12) {
    const brand = ascii(bytes, 8, 4);
    if (AUDIO_BRANDS.has(brand)) return { kind: "audio", mime: "audio/mp4", ext: "m4a" };
    if (IMAGE_BRANDS.has(brand)) return null;
    if (brand === "qt  ") return { kind: "video", mime: "video/quicktime", ext: "mov" };
    return { kind: "video", mime: "video/mp4", ext: "mp4" };
  }
  if (QUICKTIME_ATOMS.has(box)) return { kind: "video", mime: "video/quicktime", ext: "mov" };
  return null;
}

/** An MPEG audio frame header: 11 sync bits, then no reserved version, layer, bitrate or sample rate. */
function isMpegAudioFrame(bytes: Uint8Array): boolean {
  const [b0, b1, b2] = [bytes[0], bytes[1], bytes[2]];
  if (b0 === undefined || b1 === undefined || b2 === undefined) return false;
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 0b11;
  const layer = (b1 >> 1) & 0b11;
  const bitrate = b2 >> 4;
  const sampleRate = (b2 >> 2) & 0b11;
  return version !== 0b01 && layer !== 0b00 && bitrate !== 0b1111 && sampleRate !== 0b11;
}

/** The media type the bytes themselves announce, or null when they are none the relay takes. */
export function detectMediaType(bytes: Uint8Array): DetectedType | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: "image", mime: "image/jpeg", ext: "jpg" };
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return { kind: "image", mime: "image/png", ext: "png" };
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF") {
    const form = ascii(bytes, 8, 4);
    if (form === "WEBP") return { kind: "image", mime: "image/webp", ext: "webp" };
    if (form === "WAVE") return { kind: "audio", mime: "audio/wav", ext: "wav" };
    return null;
  }
  if (ascii(bytes, 0, 3) === "ID3" || isMpegAudioFrame(bytes)) return { kind: "audio", mime: "audio/mpeg", ext: "mp3" };
  if (bytes.length >= 8) return detectIsoMedia(bytes);
  return null;
}

/** Enough bytes to tell every supported kind apart. */
const SNIFF_BYTES = 16;

function checkKind(bytes: Uint8Array, expected: MediaKind, param: string): DetectedType {
  const detected = detectMediaType(bytes);
  if (detected?.kind === expected) return detected;
  const found = detected ? `${detected.mime} content` : "content of no supported type";
  throw new ApiError(
    "unsupported_media_type",
    `${param} must be ${KIND_NAMES[expected]}; its bytes are ${found} (the declared type and file name are not trusted).`,
    { param },
  );
}

function tooLarge(param: string, limit: number, what = "file"): ApiError {
  return new ApiError("payload_too_large", `${param} is larger than the ${formatBytes(limit)} allowed per ${what}.`, {
    param,
  });
}

export function formatBytes(n: number): string {
  return n >= MiB ? `${+(n / MiB).toFixed(2)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

// --- sources -----------------------------------------------------------------------------

/** `reference_images[2]` → `reference_images_2`: brackets in a multipart file name only invite parser trouble. */
function filenameFor(param: string, ext: string): string {
  return `${param.replace(/\[(\d+)\]/g, "_$1").replace(/[^A-Za-z0-9_.-]/g, "_")}.${ext}`;
}

function normalize(bytes: Uint8Array, detected: DetectedType, param: string): NormalizedMedia {
  const filename = filenameFor(param, detected.ext);
  return {
    kind: detected.kind,
    bytes,
    mime: detected.mime,
    filename,
    file: new File([bytes], filename, { type: detected.mime }),
  };
}

function checkBytes(bytes: Uint8Array, expected: MediaKind, param: string, maxBytes: number): NormalizedMedia {
  if (bytes.byteLength === 0) throw invalidParam(param, `${param} is empty.`);
  if (bytes.byteLength > maxBytes) throw tooLarge(param, maxBytes);
  return normalize(bytes, checkKind(bytes, expected, param), param);
}

/** Checks an uploaded file (size first: it is known without reading). */
export async function checkFile(file: File, expected: MediaKind, param: string): Promise<NormalizedMedia> {
  const limit = maxBytesFor(expected);
  if (file.size > limit) throw tooLarge(param, limit);
  return checkBytes(new Uint8Array(await file.arrayBuffer()), expected, param, limit);
}

/** Decodes a `data:[<type>][;base64],<data>` URL; the declared type is ignored. */
export function decodeDataUrl(url: string, param: string, maxBytes: number): Uint8Array {
  const comma = url.indexOf(",");
  if (!/^data:/i.test(url) || comma < 0) {
    throw invalidParam(param, `${param} is not a valid data: URL (expected data:<type>;base64,<data>).`);
  }
  const meta = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  const isBase64 = /;base64$/i.test(meta);
  // Refuse before decoding: base64 carries 3 bytes per 4 characters.
  const estimated = isBase64 ? Math.floor((payload.length * 3) / 4) - 2 : payload.length / 3;
  if (estimated > maxBytes) throw tooLarge(param, maxBytes);
  try {
    return isBase64 ? fromBase64(payload.replace(/\s+/g, "")) : percentDecode(payload);
  } catch {
    throw invalidParam(param, `${param} is not a valid data: URL: its ${isBase64 ? "base64" : "percent-encoded"} data does not decode.`);
  }
}

function percentDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/i.test(hex)) throw new Error("bad escape");
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80) {
      out.push(c);
    } else {
      // RFC 2397 data is ASCII; anything else must be percent-encoded.
      throw new Error("raw non-ASCII character");
    }
  }
  return new Uint8Array(out);
}

function unreachable(param: string, url: string, why: string): ApiError {
  return invalidParam(param, `${param} could not be fetched from ${url}: ${why}. Upload the file instead, or give a public https URL.`);
}

function guardUrl(deps: MediaDeps, url: URL, param: string): void {
  if (url.protocol !== "https:") throw invalidParam(param, `${param} must be an https URL (got ${url.protocol}).`);
  try {
    deps.checkUrl(url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw invalidParam(param, `${param} URL ${url.href} is not allowed: ${reason}`);
  }
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new Error("timed out"));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

/**
 * Reads a response body up to `maxBytes`, counting what actually arrives (a Content-Length
 * can lie or be absent), and stops early once the first bytes show the wrong kind.
 */
async function readCapped(
  response: Response,
  maxBytes: number,
  expected: MediaKind,
  param: string,
  aborted: Promise<never>,
): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let sniffed = false;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(param, maxBytes);
      if (!sniffed && total >= SNIFF_BYTES) {
        checkKind(concat(chunks, total), expected, param);
        sniffed = true;
      }
    }
  } catch (error) {
    reader.cancel().catch(() => undefined);
    throw error;
  }
  return concat(chunks, total);
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches a media URL. Redirects are followed by hand so every hop passes `checkUrl`
 * (an automatic redirect could lead the relay to a private address).
 */
export async function fetchMediaBytes(
  url: string,
  expected: MediaKind,
  param: string,
  deps: MediaDeps,
): Promise<Uint8Array> {
  const maxBytes = maxBytesFor(expected);
  const timeoutMs = deps.timeoutMs ?? MEDIA_LIMITS.fetchTimeoutMs;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw invalidParam(param, `${param} is not a valid URL.`);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const aborted = abortPromise(controller.signal);
  aborted.catch(() => undefined);
  try {
    for (let hop = 0; ; hop++) {
      guardUrl(deps, target, param);
      let response: Response;
      try {
        response = await Promise.race([
          deps.fetch(target.href, { redirect: "manual", signal: controller.signal }),
          aborted,
        ]);
      } catch {
        const why = controller.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : "the host could not be reached";
        throw unreachable(param, target.href, why);
      }
      if (REDIRECTS.has(response.status)) {
        await response.body?.cancel();
        const location = response.headers.get("location");
        if (!location || hop >= MEDIA_LIMITS.maxRedirects) {
          throw unreachable(param, target.href, location ? "too many redirects" : "a redirect without a Location");
        }
        target = new URL(location, target);
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw unreachable(param, target.href, `it answered HTTP ${response.status}`);
      }
      const declared = Number(response.headers.get("content-length"));
      if (Number.isFinite(declared) && declared > maxBytes) {
        await response.body?.cancel();
        throw tooLarge(param, maxBytes);
      }
      try {
        return await readCapped(response, maxBytes, expected, param, aborted);
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw unreachable(param, target.href, controller.signal.aborted ? `not fully sent within ${timeoutMs / 1000} s` : "the download failed");
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Any source → a checked file. Uploads and data: URLs cost nothing; https URLs are fetched. */
export async function loadMedia(
  source: MediaSource,
  expected: MediaKind,
  param: string,
  deps: MediaDeps,
): Promise<NormalizedMedia> {
  const limit = maxBytesFor(expected);
  if (typeof source !== "string") return checkFile(source, expected, param);
  if (/^data:/i.test(source)) return checkBytes(decodeDataUrl(source, param, limit), expected, param, limit);
  if (/^https:/i.test(source)) return checkBytes(await fetchMediaBytes(source, expected, param, deps), expected, param, limit);
  throw invalidParam(param, `${param} must be an uploaded file, an https URL or a data: URL.`);
}

export function isLocalSource(source: MediaSource): boolean {
  return typeof source !== "string" || /^data:/i.test(source);
}

/** One media item of a request: its source, the kind it must be, the name refusals use, and how many times the upstream receives it. */
export interface MediaItem {
  param: string;
  source: MediaSource;
  kind: MediaKind;
  copies: number;
}

/**
 * Loads a request's media: local sources first, in order (cheap, and a bad upload is
 * refused before any URL is fetched), then the URLs in parallel. The request's total, as
 * sent upstream, must stay under MEDIA_LIMITS.totalBytes; the refusal names the item that
 * crosses the line, in request order.
 */
export async function loadMediaItems(items: readonly MediaItem[], deps: MediaDeps): Promise<NormalizedMedia[]> {
  const loaded = new Map<number, NormalizedMedia>();
  for (const [index, item] of items.entries()) {
    if (!isLocalSource(item.source)) continue;
    loaded.set(index, await loadMedia(item.source, item.kind, item.param, deps));
    checkTotal(items, loaded);
  }
  const remote = [...items.entries()].filter(([, item]) => !isLocalSource(item.source));
  const fetched = await Promise.all(remote.map(([, item]) => loadMedia(item.source, item.kind, item.param, deps)));
  fetched.forEach((media, i) => {
    const index = remote[i]?.[0];
    if (index !== undefined) loaded.set(index, media);
  });
  checkTotal(items, loaded);
  return items.map((_, index) => {
    const media = loaded.get(index);
    if (!media) throw new Error("media item not loaded");
    return media;
  });
}

function checkTotal(items: readonly MediaItem[], loaded: ReadonlyMap<number, NormalizedMedia>): void {
  let total = 0;
  for (const [index, item] of items.entries()) {
    const media = loaded.get(index);
    if (!media) continue;
    total += media.bytes.byteLength * item.copies;
    if (total > MEDIA_LIMITS.totalBytes) {
      throw new ApiError(
        "payload_too_large",
        `The request's media add up to more than the ${formatBytes(MEDIA_LIMITS.totalBytes)} allowed per request ` +
          `(the upstream refuses bodies over ${formatBytes(MEDIA_LIMITS.upstreamBodyBytes)}; a file the model receives ` +
          `under two field names counts twice); ${item.param} crosses it.`,
        { param: item.param },
      );
    }
  }
}
