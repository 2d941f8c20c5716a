/**
 * For every family, a valid request in every mode it supports becomes exactly the upstream
 * fields the page documents; an invalid one is refused, before any media is loaded, with the
 * canonical field in `param` and the allowed values in the message.
 */
import { describe, expect, it } from "vitest";
import type { MediaDeps } from "../../../src/videos/media";
import { MEDIA_LIMITS } from "../../../src/videos/media";
import { parseCanonicalVideoForm, parseCanonicalVideoJson } from "../../../src/videos/schemas";
import {
  buildUpstreamVideoRequest,
  encodeUpstreamBody,
  planVideoRequest,
  resolveVideoMedia,
  type UpstreamVideoRequest,
} from "../../../src/videos/upstream-request";
import { dataUrl, fieldsOf, file, JPEG, MP3_ID3, MP4, offline, PNG, refusal, sized, TEXT, WAV, WEBP } from "./fixtures";

async function submit(body: unknown, deps: MediaDeps = offline): Promise<UpstreamVideoRequest> {
  const plan = planVideoRequest(parseCanonicalVideoJson(body));
  return buildUpstreamVideoRequest(plan, await resolveVideoMedia(plan, deps));
}

async function submitForm(entries: Array<[string, string | File]>, deps: MediaDeps = offline): Promise<UpstreamVideoRequest> {
  const form = new FormData();
  for (const [name, value] of entries) form.append(name, value);
  const plan = planVideoRequest(parseCanonicalVideoForm(form));
  return buildUpstreamVideoRequest(plan, await resolveVideoMedia(plan, deps));
}

const jpeg = (name = "a.bin") => file(JPEG, name, "application/octet-stream");
const png = (name = "b.bin") => file(PNG, name);
const FIRST_JPEG = `file:first_frame.jpg:image/jpeg:${JPEG.length}`;
const LAST_PNG = `file:last_frame.png:image/png:${PNG.length}`;

describe("text-to-video families", () => {
  it("happyhorse-t2v: model sent, resolution in the page's case", async () => {
    const out = await submit({ model: "happyhorse-1.0-t2v", prompt: "a horse", resolution: "1080P", ratio: "16:9", duration: 5 });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "o5vfXYD5BURJWRTWpopE5"],
      ["model", "happyhorse-1.0-t2v"],
      ["prompt", "a horse"],
      ["resolution", "1080p"],
      ["ratio", "16:9"],
      ["duration", "5"],
    ]);
    expect(out.multipart).toBe(false);
    expect(out.json).toEqual({
      llmid: "o5vfXYD5BURJWRTWpopE5", model: "happyhorse-1.0-t2v", prompt: "a horse", resolution: "1080p", ratio: "16:9", duration: 5,
    });
    expect([out.mode, out.model]).toEqual(["t2v", "happyhorse-1.0-t2v"]);
  });

  it("seedance-2.0-t2v (Doubao): the fast model by name", async () => {
    const out = await submit({ model: "doubao-seedance-2-0-fast-260128", prompt: "p", ratio: "adaptive", resolution: "480p" });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "YjjGgxO_Xma8PWsMjJvps"],
      ["model", "doubao-seedance-2-0-fast-260128"],
      ["prompt", "p"],
      ["resolution", "480p"],
      ["ratio", "adaptive"],
    ]);
  });

  it("seedance-2.0-t2v (We Token AI): by llmid, the starred model is sent", async () => {
    const out = await submit({ llmid: "TWay-xd0p0pkEX-_Kuhto", prompt: "p", duration: 10 });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "TWay-xd0p0pkEX-_Kuhto"],
      ["model", "dreamina-seedance-2-0-260128"],
      ["prompt", "p"],
      ["duration", "10"],
    ]);
  });

  it("wan-t2v: negative_prompt and size (1280x720 read as 1280*720)", async () => {
    const out = await submit({ model: "wan2.6-t2v", prompt: "p", negative_prompt: "blur", size: "1280x720", duration: 10 });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "u9HZyfDoqU6uKI6M1BTks"],
      ["model", "wan2.6-t2v"],
      ["prompt", "p"],
      ["negative_prompt", "blur"],
      ["size", "1280*720"],
      ["duration", "10"],
    ]);
  });

  it("vidu-t2v: no model field; off_peak as JSON true, as form '1' (never 'Y')", async () => {
    const out = await submit({ model: "viduq3-pro", prompt: "p", off_peak: "Y", duration: 16, ratio: "9:16", resolution: "540p" });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "r0ill7L0s6PtBS8mkmg-7"],
      ["prompt", "p"],
      ["resolution", "540p"],
      ["ratio", "9:16"],
      ["duration", "16"],
      ["off_peak", "1"],
    ]);
    expect(out.json).toMatchObject({ off_peak: true, duration: 16 });
    const off = await submit({ model: "viduq3-pro", prompt: "p", off_peak: false });
    expect(fieldsOf(off)).toContainEqual(["off_peak", "0"]);
    expect(off.json).toMatchObject({ off_peak: false });
  });

  it("seedance-1.5-t2v: ratio sent as both radio and ratio", async () => {
    const out = await submit({ model: "doubao-seedance-1-5-pro-251215", prompt: "p", ratio: "KEEP_RATIO", resolution: "720p", duration: 12 });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "CrEMkFQfRCmbmopZsCqLj"],
      ["prompt", "p"],
      ["resolution", "720p"],
      ["radio", "keep_ratio"],
      ["ratio", "keep_ratio"],
      ["duration", "12"],
    ]);
  });
});

describe("image-to-video families", () => {
  it("happyhorse-i2v: image1_file, 1080p sent as 1080P, no model; multipart", async () => {
    const out = await submitForm([
      ["model", "happyhorse-1.0-i2v"],
      ["prompt", "dance"],
      ["resolution", "1080p"],
      ["duration", "15"],
      ["first_frame", jpeg()],
    ]);
    expect(fieldsOf(out)).toEqual([
      ["llmid", "7y7kfYM0Xasizyi37WvAZ"],
      ["prompt", "dance"],
      ["resolution", "1080P"],
      ["duration", "15"],
      ["image1_file", FIRST_JPEG],
    ]);
    expect([out.multipart, out.json, out.mode]).toEqual([true, null, "i2v"]);
  });

  it("seedance-2.0-i2v (Doubao): image1_file and image2_file", async () => {
    const out = await submitForm([
      ["model", "doubao-seedance-2-0-260128"],
      ["prompt", "p"],
      ["first_frame", jpeg()],
      ["last_frame", png()],
    ]);
    expect(fieldsOf(out)).toEqual([
      ["llmid", "UeYax4591ytnPcr9eumry"],
      ["model", "doubao-seedance-2-0-260128"],
      ["prompt", "p"],
      ["image1_file", FIRST_JPEG],
      ["image2_file", LAST_PNG],
    ]);
  });

  it("seedance-2.0-i2v (We Token AI): frames as data: URLs in JSON", async () => {
    const out = await submit({
      model: "dreamina-seedance-2-0-fast-260128",
      prompt: "p",
      first_frame: dataUrl(JPEG),
      last_frame: dataUrl(PNG),
      ratio: "4:3",
    });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "tb0VSY6WeyGbzaolU1_qE"],
      ["model", "dreamina-seedance-2-0-fast-260128"],
      ["prompt", "p"],
      ["ratio", "4:3"],
      ["image1_file", FIRST_JPEG],
      ["image2_file", LAST_PNG],
    ]);
    expect(out.multipart).toBe(true);
  });

  it("wan-i2v: image_file1/image_file2, negative_prompt and size, no model", async () => {
    const out = await submitForm([
      ["model", "wan2.6-r2v"],
      ["prompt", "p"],
      ["negative_prompt", "noise"],
      ["size", "1920*1080"],
      ["duration", "5"],
      ["first_frame", jpeg()],
      ["last_frame", png()],
    ]);
    expect(fieldsOf(out)).toEqual([
      ["llmid", "x4HksKp9mXR1Yv60mw6Py"],
      ["prompt", "p"],
      ["negative_prompt", "noise"],
      ["size", "1920*1080"],
      ["duration", "5"],
      ["image_file1", FIRST_JPEG],
      ["image_file2", LAST_PNG],
    ]);
  });

  it("vidu-i2v: model choice, off_peak '0' in the form, image_file1/image_file2", async () => {
    const out = await submitForm([
      ["model", "viduq2-turbo"],
      ["prompt", "p"],
      ["off_peak", "N"],
      ["first_frame", jpeg()],
      ["last_frame", png()],
    ]);
    expect(fieldsOf(out)).toEqual([
      ["llmid", "FK_h7FLYnosv2TkMN4ATC"],
      ["model", "viduq2-turbo"],
      ["prompt", "p"],
      ["off_peak", "0"],
      ["image_file1", FIRST_JPEG],
      ["image_file2", LAST_PNG],
    ]);
  });

  it("viduq3-pro picks the i2v llmid when frames are given", async () => {
    const out = await submitForm([["model", "viduq3-pro"], ["prompt", "p"], ["first_frame", jpeg()], ["last_frame", png()]]);
    expect(out.llmid).toBe("FK_h7FLYnosv2TkMN4ATC");
    expect(fieldsOf(out)[1]).toEqual(["model", "viduq3-pro"]);
  });

  it("seedance-1.5-i2v: both frame spellings and both ratio spellings", async () => {
    const out = await submitForm([
      ["model", "doubao-seedance-1-5-pro-251215"],
      ["prompt", "p"],
      ["ratio", "16:9"],
      ["first_frame", jpeg()],
      ["last_frame", png()],
    ]);
    expect(fieldsOf(out)).toEqual([
      ["llmid", "7RTOJD6K8A7RXCMG4GnQ9"],
      ["prompt", "p"],
      ["radio", "16:9"],
      ["ratio", "16:9"],
      ["image_file1", FIRST_JPEG],
      ["image1_file", FIRST_JPEG],
      ["image_file2", LAST_PNG],
      ["image2_file", LAST_PNG],
    ]);
  });

  it("seedance-1.5-i2v: a first frame alone is enough (frames are optional)", async () => {
    const out = await submitForm([["llmid", "7RTOJD6K8A7RXCMG4GnQ9"], ["prompt", "p"], ["first_frame", jpeg()]]);
    expect(fieldsOf(out).map(([name]) => name)).toEqual(["llmid", "prompt", "image_file1", "image1_file"]);
  });

  it("seedance-1.5-i2v llmid also does text-to-video", async () => {
    const out = await submit({ llmid: "7RTOJD6K8A7RXCMG4GnQ9", prompt: "p", duration: 8 });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "7RTOJD6K8A7RXCMG4GnQ9"],
      ["prompt", "p"],
      ["duration", "8"],
    ]);
    expect(out.mode).toBe("t2v");
  });
});

describe("reference-to-video families", () => {
  it("happyhorse-r2v: repeated image_files in order", async () => {
    const out = await submitForm([
      ["model", "happyhorse-1.0-r2v"],
      ["prompt", "p"],
      ["ratio", "1:1"],
      ["reference_images", jpeg()],
      ["reference_images", file(WEBP, "c.png", "image/png")],
    ]);
    expect(fieldsOf(out)).toEqual([
      ["llmid", "6o9n_7u2K927hNlD8_72f"],
      ["model", "happyhorse-1.0-r2v"],
      ["prompt", "p"],
      ["ratio", "1:1"],
      ["image_files", `file:reference_images_0.jpg:image/jpeg:${JPEG.length}`],
      ["image_files", `file:reference_images_1.webp:image/webp:${WEBP.length}`],
    ]);
    expect(out.mode).toBe("r2v");
  });

  it("seedance-2.0-r2v (Doubao): images, videos and audios", async () => {
    const out = await submitForm([
      ["model", "doubao-seedance-2-0-260128"],
      ["prompt", "p"],
      ["resolution", "720p"],
      ["duration", "4"],
      ["reference_images", jpeg()],
      ["reference_videos", file(MP4, "clip.bin")],
      ["reference_audios", file(MP3_ID3, "song.bin")],
      ["reference_audios", file(WAV, "voice.bin")],
    ]);
    expect(fieldsOf(out)).toEqual([
      ["llmid", "dmPXF65TD1riKj9KaxLmg"],
      ["model", "doubao-seedance-2-0-260128"],
      ["prompt", "p"],
      ["resolution", "720p"],
      ["duration", "4"],
      ["image_files", `file:reference_images_0.jpg:image/jpeg:${JPEG.length}`],
      ["video_files", `file:reference_videos_0.mp4:video/mp4:${MP4.length}`],
      ["audio_files", `file:reference_audios_0.mp3:audio/mpeg:${MP3_ID3.length}`],
      ["audio_files", `file:reference_audios_1.wav:audio/wav:${WAV.length}`],
    ]);
  });

  it("seedance-2.0-r2v (We Token AI): by llmid, the starred model is sent", async () => {
    const out = await submit({ llmid: "nVbH7lEO51soqTbLGIHE_", prompt: "p", reference_images: [dataUrl(PNG)] });
    expect(fieldsOf(out)).toEqual([
      ["llmid", "nVbH7lEO51soqTbLGIHE_"],
      ["model", "dreamina-seedance-2-0-260128"],
      ["prompt", "p"],
      ["image_files", `file:reference_images_0.png:image/png:${PNG.length}`],
    ]);
  });

  it("fetches https references through the injected fetch", async () => {
    const fetched: string[] = [];
    const deps: MediaDeps = {
      fetch: async (url) => {
        fetched.push(url);
        return new Response(JPEG);
      },
      checkUrl: () => undefined,
    };
    const out = await submit(
      { model: "happyhorse-1.0-r2v", prompt: "p", reference_images: ["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"] },
      deps,
    );
    expect(fetched.sort()).toEqual(["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"]);
    expect(fieldsOf(out).filter(([name]) => name === "image_files")).toHaveLength(2);
  });
});

describe("refusals (before anything goes upstream)", () => {
  it.each([
    [{ model: "viduq3-pro", prompt: "p", resolution: "480p" }, "resolution", "540p, 720p, 1080p"],
    [{ model: "wan2.6-t2v", prompt: "p", duration: 7 }, "duration", "5, 10, 15"],
    [{ model: "viduq3-pro", prompt: "p", duration: 17 }, "duration", "1 to 16"],
    [{ model: "happyhorse-1.0-t2v", prompt: "p", duration: 0 }, "duration", "1 to 30"],
    [{ model: "wan2.6-t2v", prompt: "p", size: "1000*1000" }, "size", "832*480"],
    [{ model: "doubao-seedance-2-0-260128", prompt: "p", ratio: "9:21" }, "ratio", "adaptive, 16:9"],
    [{ model: "doubao-seedance-1-5-pro-251215", prompt: "p", ratio: "5:4" }, "ratio", "keep_ratio"],
    [{ model: "happyhorse-1.0-t2v", prompt: "p", size: "1280*720" }, "size", "it takes: prompt, resolution, ratio, duration"],
    [{ model: "doubao-seedance-2-0-260128", prompt: "p", off_peak: true }, "off_peak", "it takes:"],
    [{ model: "viduq3-pro", prompt: "p", negative_prompt: "x" }, "negative_prompt", "it takes:"],
  ])("%o is refused on %s", (body, param, allowed) => {
    const error = (() => {
      try {
        planVideoRequest(parseCanonicalVideoJson(body));
      } catch (e) {
        return e as { status: number; param: string; message: string };
      }
      throw new Error("accepted");
    })();
    expect([error.status, error.param]).toEqual([400, param]);
    expect(error.message).toContain(allowed);
  });

  it("happyhorse-i2v takes no ratio and no last frame", async () => {
    const ratio = await refusal(submitForm([["model", "happyhorse-1.0-i2v"], ["prompt", "p"], ["ratio", "16:9"], ["first_frame", jpeg()]]));
    expect(ratio.param).toBe("ratio");
    expect(ratio.message).toContain("it takes: prompt, resolution, duration, first_frame");
    const last = await refusal(submitForm([["model", "happyhorse-1.0-i2v"], ["prompt", "p"], ["first_frame", jpeg()], ["last_frame", png()]]));
    expect([last.status, last.param]).toEqual([400, "last_frame"]);
  });

  it("a missing required frame is named", async () => {
    const noFrame = await refusal(submit({ model: "happyhorse-1.0-i2v", prompt: "p" }));
    expect([noFrame.status, noFrame.param]).toEqual([400, "first_frame"]);
    expect(noFrame.message).toContain("required by happyhorse-1.0-i2v");
    const noLast = await refusal(submitForm([["model", "wan2.6-r2v"], ["prompt", "p"], ["first_frame", jpeg()]]));
    expect([noLast.status, noLast.param]).toEqual([400, "last_frame"]);
  });

  it("a frame given to a text-to-video-only model is refused on that frame", async () => {
    const error = await refusal(submitForm([["model", "wan2.6-t2v"], ["prompt", "p"], ["first_frame", jpeg()]]));
    expect([error.status, error.param]).toEqual([400, "first_frame"]);
  });

  it("an explicit mode the model lacks is refused on mode; a frame in explicit t2v on the frame", async () => {
    const mode = await refusal(submit({ model: "wan2.6-t2v", mode: "r2v", prompt: "p" }));
    expect([mode.param, mode.message]).toEqual(["mode", expect.stringContaining("t2v")]);
    const frame = await refusal(submitForm([["llmid", "7RTOJD6K8A7RXCMG4GnQ9"], ["mode", "t2v"], ["prompt", "p"], ["first_frame", jpeg()]]));
    expect(frame.param).toBe("first_frame");
  });

  it("reference counts follow the family", async () => {
    const none = await refusal(submit({ model: "happyhorse-1.0-r2v", prompt: "p" }));
    expect([none.param, none.message]).toEqual(["reference_images", expect.stringContaining("1 to 9")]);
    const videos = await refusal(
      submit({ model: "doubao-seedance-2-0-260128", prompt: "p", reference_images: [dataUrl(JPEG)], reference_videos: Array(4).fill(dataUrl(MP4)) }),
    );
    expect([videos.param, videos.message]).toEqual(["reference_videos", expect.stringContaining("at most 3")]);
    const audio = await refusal(submit({ model: "happyhorse-1.0-r2v", prompt: "p", reference_images: [dataUrl(JPEG)], reference_audios: [dataUrl(WAV)] }));
    expect(audio.param).toBe("reference_audios");
    const ten = await refusal(submit({ model: "happyhorse-1.0-r2v", prompt: "p", reference_images: Array(10).fill(dataUrl(JPEG)) }));
    expect([ten.status, ten.param]).toEqual([400, "reference_images"]);
  });

  it("a 'PNG' that is really text is refused with 415 on its field", async () => {
    const error = await refusal(
      submitForm([["model", "happyhorse-1.0-r2v"], ["prompt", "p"], ["reference_images", jpeg()], ["reference_images", file(TEXT, "x.png", "image/png")]]),
    );
    expect([error.status, error.code, error.param]).toEqual([415, "unsupported_media_type", "reference_images[1]"]);
  });

  it("an oversized file is refused with 413", async () => {
    const big = file(sized(JPEG, MEDIA_LIMITS.imageBytes + 1), "big.jpg");
    const error = await refusal(submitForm([["model", "happyhorse-1.0-i2v"], ["prompt", "p"], ["first_frame", big]]));
    expect([error.status, error.param]).toEqual([413, "first_frame"]);
  });

  it("the per-request total counts a frame sent under two names twice", async () => {
    const frame = () => file(sized(JPEG, 3 * 1024 * 1024), "f.jpg");
    // 2 × 3 MiB fits for a family that sends each frame once…
    await submitForm([["model", "doubao-seedance-2-0-260128"], ["prompt", "p"], ["first_frame", frame()], ["last_frame", frame()]]);
    // …but Seedance 1.5 sends each twice: 12 MiB upstream, over the limit.
    const error = await refusal(
      submitForm([["model", "doubao-seedance-1-5-pro-251215"], ["prompt", "p"], ["first_frame", frame()], ["last_frame", frame()]]),
    );
    expect([error.status, error.param]).toEqual([413, "last_frame"]);
  });

  it("model and llmid that disagree are refused on llmid", async () => {
    const error = await refusal(submit({ model: "viduq3-pro", llmid: "o5vfXYD5BURJWRTWpopE5", prompt: "p" }));
    expect([error.status, error.param]).toEqual([400, "llmid"]);
    expect(error.message).toContain("r0ill7L0s6PtBS8mkmg-7");
  });

  it("the disabled model is refused clearly", async () => {
    const error = await refusal(submit({ model: "eedance2.0", prompt: "p" }));
    expect([error.status, error.param, error.detailCode]).toEqual([400, "model", "model_not_enabled"]);
    expect(error.message).toContain("not enabled");
  });

  it("media are not loaded when a cheap check fails", async () => {
    let fetched = false;
    const deps: MediaDeps = { fetch: async () => ((fetched = true), new Response(JPEG)), checkUrl: () => undefined };
    await refusal(submit({ model: "wan2.6-r2v", prompt: "p", duration: 6, first_frame: "https://x.example/a.jpg", last_frame: "https://x.example/b.jpg" }, deps));
    expect(fetched).toBe(false);
  });
});

describe("encodeUpstreamBody", () => {
  it("sends JSON when there is no file, multipart otherwise", async () => {
    const json = encodeUpstreamBody(await submit({ model: "viduq3-pro", prompt: "p", off_peak: true }));
    expect(json.headers).toEqual({ "content-type": "application/json" });
    expect(JSON.parse(json.body as string)).toEqual({ llmid: "r0ill7L0s6PtBS8mkmg-7", prompt: "p", off_peak: true });

    const form = encodeUpstreamBody(await submitForm([["model", "happyhorse-1.0-i2v"], ["prompt", "p"], ["first_frame", jpeg()]]));
    expect(form.body).toBeInstanceOf(FormData);
    const image = (form.body as FormData).get("image1_file");
    expect(image).toBeInstanceOf(File);
    expect((image as File).name).toBe("first_frame.jpg");
  });
});
