/**
 * GET /idfile?path=...: the task results the simulator points at. Both files are real and
 * tiny, so a client that sniffs magic bytes, probes the container or shows the cover works
 * offline too.
 *
 * - cover.jpeg (335 bytes): baseline JFIF, 16x16 greyscale, standard Huffman tables.
 * - video.mp4 (1054 bytes): ftyp (isom) + moov (mvhd, one avc1 track: tkhd, mdhd, hdlr,
 *   avcC with a Baseline SPS/PPS, sample tables) + mdat holding one 16x16 IDR frame coded
 *   as a single I_PCM macroblock; 1 s long. Generated once by hand-written box/bitstream
 *   code and embedded here so the worker does no work at start-up.
 */
import { fromBase64 } from "./http";

const JPEG_BASE64 =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB" +
  "AQEBAQEBAQEBAQEBAQEBAQH/wAALCAAQABABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgED" +
  "AwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RF" +
  "RkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJ" +
  "ytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/APx/ooor/9k=";

const MP4_BASE64 =
  "AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDEAAAJsbW9vdgAAAGxtdmhkAAAAAAAAAAAAAAAAAAAD6AAAA+gAAQAA" +
  "AQAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
  "AAAAAgAAAfh0cmFrAAAAXHRraGQAAAADAAAAAAAAAAAAAAABAAAAAAAAA+gAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAA" +
  "AAAAAAABAAAAAAAAAAAAAAAAAABAAAAAABAAAAAQAAAAAAGUbWRpYQAAACBtZGhkAAAAAAAAAAAAAAAAAAAD6AAAA+hVxAAA" +
  "AAAALWhkbHIAAAAAAAAAAHZpZGUAAAAAAAAAAAAAAABWaWRlb0hhbmRsZXIAAAABP21pbmYAAAAUdm1oZAAAAAEAAAAAAAAA" +
  "AAAAACRkaW5mAAAAHGRyZWYAAAAAAAAAAQAAAAx1cmwgAAAAAQAAAP9zdGJsAAAAg3N0c2QAAAAAAAAAAQAAAHNhdmMxAAAA" +
  "AAAAAAEAAAAAAAAAAAAAAAAAAAAAABAAEABIAAAASAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
  "GP//AAAAHWF2Y0MBQsAK/+EABmdCwAraeQEABGjOPIAAAAAYc3R0cwAAAAAAAAABAAAAAQAAA+gAAAAUc3RzcwAAAAAAAAAB" +
  "AAAAAQAAABxzdHNjAAAAAAAAAAEAAAABAAAAAQAAAAEAAAAYc3RzegAAAAAAAAAAAAAAAQAAAYoAAAAUc3RjbwAAAAAAAAAB" +
  "AAAClAAAAZJtZGF0AAABhmWIhKDQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQ" +
  "UFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQ" +
  "UFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQ" +
  "UFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUICAgICAgICAgICA" +
  "gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICA" +
  "gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgA==";

let jpeg: Uint8Array | null = null;
let mp4: Uint8Array | null = null;

export function coverJpeg(): Uint8Array {
  jpeg ??= fromBase64(JPEG_BASE64);
  return jpeg;
}

export function videoMp4(): Uint8Array {
  mp4 ??= fromBase64(MP4_BASE64);
  return mp4;
}

export function handleIdfile(url: URL): Response {
  const path = url.searchParams.get("path") ?? "";
  const lower = path.toLowerCase();
  let bytes: Uint8Array;
  let type: string;
  if (lower.endsWith(".mp4")) {
    bytes = videoMp4();
    type = "video/mp4";
  } else if (lower.endsWith(".jpeg") || lower.endsWith(".jpg")) {
    bytes = coverJpeg();
    type = "image/jpeg";
  } else {
    return new Response(JSON.stringify({ error: "file not found" }), {
      status: 404,
      headers: { "content-type": "application/json" },
    });
  }
  return new Response(bytes, {
    status: 200,
    headers: { "content-type": type, "content-length": String(bytes.byteLength), "cache-control": "public, max-age=3600" },
  });
}
