import { describe, expect, it } from "vitest";
import { decodeDataUrl, detectMediaType, loadMedia, MEDIA_LIMITS, type MediaDeps } from "../../../src/videos/media";
import {
  AAC_ADTS, dataUrl, file, HEIC, JPEG, M4A, MOV, MOV_WIDE, MP3_FRAME, MP3_ID3, MP4, offline, PNG, refusal, sized, TEXT, WAV, WEBP,
} from "./fixtures";

describe("detectMediaType (magic bytes)", () => {
  it.each([
    ["JPEG", JPEG, "image", "image/jpeg", "jpg"],
    ["PNG", PNG, "image", "image/png", "png"],
    ["WebP", WEBP, "image", "image/webp", "webp"],
    ["MP4", MP4, "video", "video/mp4", "mp4"],
    ["MOV (ftyp qt)", MOV, "video", "video/quicktime", "mov"],
    ["MOV (wide atom)", MOV_WIDE, "video", "video/quicktime", "mov"],
    ["M4A", M4A, "audio", "audio/mp4", "m4a"],
    ["MP3 with ID3", MP3_ID3, "audio", "audio/mpeg", "mp3"],
    ["MP3 frame sync", MP3_FRAME, "audio", "audio/mpeg", "mp3"],
    ["WAV", WAV, "audio", "audio/wav", "wav"],
  ])("recognises %s", (_, bytes, kind, mime, ext) => {
    expect(detectMediaType(bytes)).toEqual({ kind, mime, ext });
  });

  it.each([
    ["plain text", TEXT],
    ["a HEIC photo (ftyp but not a clip)", HEIC],
    ["AAC ADTS (frame sync with a reserved layer)", AAC_ADTS],
    ["an empty file", new Uint8Array(0)],
    ["a truncated PNG signature", PNG.subarray(0, 5)],
  ])("refuses %s", (_, bytes) => {
    expect(detectMediaType(bytes)).toBeNull();
  });
});

describe("loadMedia: uploads and data: URLs", () => {
  it("names the normalized file after the field with the detected extension, ignoring the upload's name and type", async () => {
    const media = await loadMedia(file(PNG, "holiday.jpg", "image/jpeg"), "image", "reference_images[2]", offline);
    expect(media.mime).toBe("image/png");
    expect(media.filename).toBe("reference_images_2.png");
    expect(media.file.type).toBe("image/png");
    expect(new Uint8Array(await media.file.arrayBuffer())).toEqual(PNG);
  });

  it("refuses a 'PNG' that is really text with 415, naming the field", async () => {
    const error = await refusal(loadMedia(file(TEXT, "frame.png", "image/png"), "image", "first_frame", offline));
    expect(error.status).toBe(415);
    expect(error.code).toBe("unsupported_media_type");
    expect(error.param).toBe("first_frame");
    expect(error.message).toContain("JPEG, PNG or WebP");
  });

  it("refuses a video where an image is expected, and an image where audio is expected", async () => {
    expect((await refusal(loadMedia(file(MP4, "a.png"), "image", "last_frame", offline))).status).toBe(415);
    const error = await refusal(loadMedia(file(JPEG, "a.mp3"), "audio", "reference_audios[0]", offline));
    expect([error.status, error.param]).toEqual([415, "reference_audios[0]"]);
    expect(error.message).toContain("MP3, WAV or M4A");
  });

  it("refuses a file over the per-file limit with 413 before reading it", async () => {
    const big = file(sized(JPEG, MEDIA_LIMITS.imageBytes + 1), "big.jpg");
    const error = await refusal(loadMedia(big, "image", "first_frame", offline));
    expect([error.status, error.code, error.param]).toEqual([413, "payload_too_large", "first_frame"]);
  });

  it("accepts a file exactly at the limit", async () => {
    const media = await loadMedia(file(sized(JPEG, MEDIA_LIMITS.imageBytes), "ok.jpg"), "image", "first_frame", offline);
    expect(media.bytes.byteLength).toBe(MEDIA_LIMITS.imageBytes);
  });

  it("decodes a base64 data: URL and checks its bytes, not its declared type", async () => {
    const media = await loadMedia(dataUrl(WEBP, "text/plain"), "image", "first_frame", offline);
    expect(media.mime).toBe("image/webp");
    const error = await refusal(loadMedia(dataUrl(TEXT, "image/png"), "image", "first_frame", offline));
    expect(error.status).toBe(415);
  });

  it("refuses a malformed data: URL with 400", async () => {
    for (const url of ["data:image/png;base64,@@@not base64@@@", "data:image/png;base64"]) {
      const error = await refusal(loadMedia(url, "image", "first_frame", offline));
      expect([error.status, error.param]).toEqual([400, "first_frame"]);
    }
  });

  it("refuses an oversized data: URL before decoding it", () => {
    const payload = "A".repeat(Math.ceil((MEDIA_LIMITS.imageBytes * 4) / 3) + 16);
    expect(() => decodeDataUrl(`data:image/png;base64,${payload}`, "first_frame", MEDIA_LIMITS.imageBytes)).toThrow(
      expect.objectContaining({ status: 413, param: "first_frame" }),
    );
  });
});

/** A fetch that answers from a table of URLs and records what it was asked. */
function fakeFetch(routes: Record<string, () => Response>): MediaDeps["fetch"] & { calls: string[] } {
  const calls: string[] = [];
  const fetcher = async (input: string) => {
    calls.push(input);
    const route = routes[input];
    if (!route) throw new TypeError("connection refused");
    return route();
  };
  return Object.assign(fetcher, { calls });
}

/** A body that sends `chunk` over and over, counting how many chunks were pulled. */
function endless(chunk: Uint8Array): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulls };
}

describe("loadMedia: https URLs", () => {
  const blockInternal = (url: URL) => {
    if (url.hostname.endsWith(".internal")) throw new Error("private host");
  };

  it("fetches, checks and normalizes an https image", async () => {
    const fetch = fakeFetch({ "https://cdn.example/cat.png": () => new Response(PNG) });
    const media = await loadMedia("https://cdn.example/cat.png", "image", "first_frame", { fetch, checkUrl: blockInternal });
    expect([media.mime, media.filename]).toEqual(["image/png", "first_frame.png"]);
  });

  it("refuses a URL the safety check rejects without fetching it", async () => {
    const fetch = fakeFetch({});
    const error = await refusal(loadMedia("https://db.internal/x.png", "image", "first_frame", { fetch, checkUrl: blockInternal }));
    expect([error.status, error.param]).toEqual([400, "first_frame"]);
    expect(error.message).toContain("private host");
    expect(fetch.calls).toEqual([]);
  });

  it("checks every redirect hop, and refuses one to a blocked host", async () => {
    const fetch = fakeFetch({
      "https://cdn.example/a.png": () => new Response(null, { status: 302, headers: { location: "https://db.internal/a.png" } }),
    });
    const error = await refusal(loadMedia("https://cdn.example/a.png", "image", "first_frame", { fetch, checkUrl: blockInternal }));
    expect(error.status).toBe(400);
    expect(fetch.calls).toEqual(["https://cdn.example/a.png"]);
  });

  it("follows an allowed redirect", async () => {
    const fetch = fakeFetch({
      "https://cdn.example/a": () => new Response(null, { status: 301, headers: { location: "/b.jpg" } }),
      "https://cdn.example/b.jpg": () => new Response(JPEG),
    });
    const media = await loadMedia("https://cdn.example/a", "image", "first_frame", { fetch, checkUrl: () => undefined });
    expect(media.mime).toBe("image/jpeg");
  });

  it("refuses an unreachable URL or an error answer with 400", async () => {
    const fetch = fakeFetch({ "https://cdn.example/gone.png": () => new Response("nope", { status: 404 }) });
    const deps = { fetch, checkUrl: () => undefined };
    const gone = await refusal(loadMedia("https://cdn.example/gone.png", "image", "first_frame", deps));
    expect([gone.status, gone.param]).toEqual([400, "first_frame"]);
    expect(gone.message).toContain("HTTP 404");
    const down = await refusal(loadMedia("https://down.example/x.png", "image", "last_frame", deps));
    expect([down.status, down.param]).toEqual([400, "last_frame"]);
  });

  it("stops reading at the byte cap even when Content-Length is absent", async () => {
    const body = endless(sized(JPEG, 64 * 1024));
    const fetch = fakeFetch({ "https://cdn.example/huge.jpg": () => new Response(body.stream) });
    const error = await refusal(loadMedia("https://cdn.example/huge.jpg", "image", "first_frame", { fetch, checkUrl: () => undefined }));
    expect(error.status).toBe(413);
    // The cap is 5 MiB = 80 chunks of 64 KiB; an unbounded reader would never return.
    expect(body.pulled()).toBeLessThan(90);
  });

  it("does not trust a Content-Length that understates the body", async () => {
    const big = sized(JPEG, MEDIA_LIMITS.imageBytes + 1024);
    const fetch = fakeFetch({
      "https://cdn.example/liar.jpg": () => new Response(big, { headers: { "content-length": "1000" } }),
    });
    const error = await refusal(loadMedia("https://cdn.example/liar.jpg", "image", "first_frame", { fetch, checkUrl: () => undefined }));
    expect(error.status).toBe(413);
  });

  it("gives up on the wrong kind after the first bytes", async () => {
    const body = endless(TEXT);
    const fetch = fakeFetch({ "https://cdn.example/page.png": () => new Response(body.stream) });
    const error = await refusal(loadMedia("https://cdn.example/page.png", "image", "first_frame", { fetch, checkUrl: () => undefined }));
    expect(error.status).toBe(415);
    expect(body.pulled()).toBeLessThan(5);
  });

  it("times out a URL that never finishes sending", async () => {
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(JPEG);
      },
    });
    const fetch = fakeFetch({ "https://slow.example/x.jpg": () => new Response(stalled) });
    const started = Date.now();
    const error = await refusal(
      loadMedia("https://slow.example/x.jpg", "image", "first_frame", { fetch, checkUrl: () => undefined, timeoutMs: 50 }),
    );
    expect([error.status, error.param]).toEqual([400, "first_frame"]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("refuses a plain http URL", async () => {
    const error = await refusal(loadMedia("http://cdn.example/x.png", "image", "first_frame", offline));
    expect([error.status, error.param]).toEqual([400, "first_frame"]);
  });
});
