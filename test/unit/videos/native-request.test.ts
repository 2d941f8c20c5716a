import { describe, expect, it } from "vitest";
import { MEDIA_LIMITS } from "../../../src/videos/media";
import {
  nativeFieldsFromForm,
  nativeFieldsFromJson,
  prepareNativeVideoRequest,
  type PreparedNativeVideo,
} from "../../../src/videos/native-request";
import { fieldsOf, file, JPEG, MP4, PNG, refusal, sized, TEXT } from "./fixtures";

function fromForm(entries: Array<[string, string | File]>): Promise<PreparedNativeVideo> {
  const form = new FormData();
  for (const [name, value] of entries) form.append(name, value);
  return prepareNativeVideoRequest(nativeFieldsFromForm(form));
}

const fromJson = (body: unknown) => prepareNativeVideoRequest(nativeFieldsFromJson(body));

const jpeg = () => file(JPEG, "02.jpg", "image/jpeg");
const png = () => file(PNG, "03.png", "image/png");

describe("POST /llmage/video: catalog models", () => {
  it("forwards the page's Seedance t2v example, sending radio beside ratio", async () => {
    const out = await fromJson({ llmid: "CrEMkFQfRCmbmopZsCqLj", prompt: "小猫在抓老鼠", duration: 5, ratio: "16:9", resolution: "480p" });
    expect(fieldsOf(out.upstream)).toEqual([
      ["llmid", "CrEMkFQfRCmbmopZsCqLj"],
      ["prompt", "小猫在抓老鼠"],
      ["resolution", "480p"],
      ["radio", "16:9"],
      ["ratio", "16:9"],
      ["duration", "5"],
    ]);
    expect(out.upstream.json).toMatchObject({ duration: 5 });
    expect(out.entry?.family.id).toBe("seedance-1.5-t2v");
  });

  it("reads the Seedance 1.5 example's two image1_file parts as first and last frame", async () => {
    const out = await fromForm([
      ["llmid", "7RTOJD6K8A7RXCMG4GnQ9"],
      ["prompt", "从图片1到图片2丝滑转换"],
      ["duration", "5"],
      ["ratio", "16:9"],
      ["resolution", "480p"],
      ["image1_file", jpeg()],
      ["image1_file", png()],
    ]);
    expect(fieldsOf(out.upstream)).toEqual([
      ["llmid", "7RTOJD6K8A7RXCMG4GnQ9"],
      ["prompt", "从图片1到图片2丝滑转换"],
      ["resolution", "480p"],
      ["radio", "16:9"],
      ["ratio", "16:9"],
      ["duration", "5"],
      ["image_file1", `file:image1_file.jpg:image/jpeg:${JPEG.length}`],
      ["image1_file", `file:image1_file.jpg:image/jpeg:${JPEG.length}`],
      ["image_file2", `file:image1_file.png:image/png:${PNG.length}`],
      ["image2_file", `file:image1_file.png:image/png:${PNG.length}`],
    ]);
    expect(out.upstream.multipart).toBe(true);
  });

  it("takes one frame sent under both spellings as one frame", async () => {
    const frame = jpeg();
    const out = await fromForm([["llmid", "7RTOJD6K8A7RXCMG4GnQ9"], ["prompt", "p"], ["image_file1", frame], ["image1_file", frame]]);
    expect(fieldsOf(out.upstream).map(([name]) => name)).toEqual(["llmid", "prompt", "image_file1", "image1_file"]);
  });

  it("accepts the other family's frame spelling and sends the family's own, in its case", async () => {
    const out = await fromForm([["llmid", "7y7kfYM0Xasizyi37WvAZ"], ["prompt", "一起来调科目三"], ["resolution", "720p"], ["image_file1", jpeg()]]);
    expect(fieldsOf(out.upstream)).toEqual([
      ["llmid", "7y7kfYM0Xasizyi37WvAZ"],
      ["prompt", "一起来调科目三"],
      ["resolution", "720P"],
      ["image1_file", `file:image_file1.jpg:image/jpeg:${JPEG.length}`],
    ]);
  });

  it("sends off_peak Y as '1', keeps unknown text fields, and takes the relay-only fields out", async () => {
    const out = await fromForm([
      ["llmid", "r0ill7L0s6PtBS8mkmg-7"],
      ["prompt", "p"],
      ["off_peak", "Y"],
      ["seed", "42"],
      ["webhook", "https://example.com/hook"],
      ["webhook_events", "task.succeeded,task.failed"],
      ["metadata[order]", "7"],
    ]);
    expect(fieldsOf(out.upstream)).toEqual([
      ["llmid", "r0ill7L0s6PtBS8mkmg-7"],
      ["prompt", "p"],
      ["off_peak", "1"],
      ["seed", "42"],
    ]);
    expect(out.relay).toEqual({
      webhook: "https://example.com/hook",
      webhook_events: ["task.succeeded", "task.failed"],
      metadata: { order: "7" },
    });
  });

  it("keeps JSON types of unknown fields and accepts metadata as an object", async () => {
    const out = await fromJson({
      llmid: "dmPXF65TD1riKj9KaxLmg",
      prompt: "p",
      image_files: ["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"],
      watermark: false,
      metadata: { a: "b" },
    });
    expect(out.upstream.json).toEqual({
      llmid: "dmPXF65TD1riKj9KaxLmg",
      model: "doubao-seedance-2-0-260128",
      prompt: "p",
      image_files: ["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"],
      watermark: false,
    });
    expect(out.relay.metadata).toEqual({ a: "b" });
  });

  it.each([
    [[["prompt", "p"]], "llmid", "llmid is required"],
    [[["llmid", "u9HZyfDoqU6uKI6M1BTks"]], "prompt", "prompt is required"],
    [[["llmid", "u9HZyfDoqU6uKI6M1BTks"], ["prompt", "p"], ["size", "100*100"]], "size", "1920*1080"],
    [[["llmid", "CrEMkFQfRCmbmopZsCqLj"], ["prompt", "p"], ["radio", "16:9"], ["ratio", "4:3"]], "ratio", "disagree"],
    [[["llmid", "CrEMkFQfRCmbmopZsCqLj"], ["prompt", "p"], ["radio", "5:4"]], "radio", "keep_ratio"],
    [[["llmid", "r0ill7L0s6PtBS8mkmg-7"], ["prompt", "p"], ["off_peak", "maybe"]], "off_peak", "Y or N"],
    [[["llmid", "r0ill7L0s6PtBS8mkmg-7"], ["prompt", "p"], ["duration", "3.5"]], "duration", "integer"],
    [[["llmid", "r0ill7L0s6PtBS8mkmg-7"], ["prompt", "p"], ["model", "happyhorse-1.0-t2v"]], "llmid", "disagree"],
    [[["llmid", "YjjGgxO_Xma8PWsMjJvps"], ["prompt", "p"], ["model", "eedance2.0"]], "model", "not enabled"],
    [[["llmid", "UeYax4591ytnPcr9eumry"], ["prompt", "p"], ["image1_file", "https://cdn.example/1.jpg"]], "image2_file", "required"],
    [[["llmid", "6o9n_7u2K927hNlD8_72f"], ["prompt", "p"]], "image_files", "1 to 9"],
    [[["llmid", "r0ill7L0s6PtBS8mkmg-7"], ["prompt", "p"], ["webhook", "https://a.example"], ["webhook_events", "task.nope"]], "webhook_events[0]", "task.running"],
  ] as Array<[Array<[string, string]>, string, string]>)("refuses %j on %s", async (entries, param, message) => {
    const error = await refusal(fromForm(entries));
    expect([error.status, error.param]).toEqual([400, param]);
    expect(error.message).toContain(message);
  });

  it("checks uploaded files by their bytes and size", async () => {
    const text = await refusal(fromForm([["llmid", "6o9n_7u2K927hNlD8_72f"], ["prompt", "p"], ["image_files", jpeg()], ["image_files", file(TEXT, "x.png", "image/png")]]));
    expect([text.status, text.param]).toEqual([415, "image_files[1]"]);
    const video = await refusal(fromForm([["llmid", "dmPXF65TD1riKj9KaxLmg"], ["prompt", "p"], ["image_files", jpeg()], ["video_files", jpeg()]]));
    expect([video.status, video.param]).toEqual([415, "video_files[0]"]);
    const big = await refusal(fromForm([["llmid", "7y7kfYM0Xasizyi37WvAZ"], ["prompt", "p"], ["image1_file", file(sized(PNG, MEDIA_LIMITS.imageBytes + 1), "a.png")]]));
    expect([big.status, big.param]).toEqual([413, "image1_file"]);
  });

  it("refuses a file in a field the model does not read", async () => {
    const error = await refusal(fromForm([["llmid", "o5vfXYD5BURJWRTWpopE5"], ["prompt", "p"], ["image1_file", jpeg()]]));
    expect([error.status, error.param]).toEqual([400, "image1_file"]);
    const stray = await refusal(fromForm([["llmid", "7y7kfYM0Xasizyi37WvAZ"], ["prompt", "p"], ["image1_file", jpeg()], ["photo", jpeg()]]));
    expect([stray.param, stray.message]).toEqual(["photo", expect.stringContaining("files go in: image1_file")]);
  });

  it("refuses a request over the upstream's 10 MiB body limit, counting duplicated frames", async () => {
    const frame = () => file(sized(JPEG, 3 * 1024 * 1024), "f.jpg");
    const error = await refusal(fromForm([["llmid", "7RTOJD6K8A7RXCMG4GnQ9"], ["prompt", "p"], ["image1_file", frame()], ["image2_file", frame()]]));
    expect([error.status, error.param]).toEqual([413, "image2_file"]);
  });
});

describe("POST /llmage/video: llmids the catalog does not know", () => {
  it("forwards them with basic checks only", async () => {
    const out = await fromForm([["llmid", "brand-new-model"], ["prompt", "p"], ["whatever", "1"], ["clip", file(MP4, "c.mp4")]]);
    expect(out.entry).toBeNull();
    expect(fieldsOf(out.upstream)).toEqual([
      ["llmid", "brand-new-model"],
      ["prompt", "p"],
      ["whatever", "1"],
      ["clip", `file:c.mp4::${MP4.length}`],
    ]);
  });

  it("still requires a prompt and bounds the size", async () => {
    expect((await refusal(fromJson({ llmid: "brand-new-model" }))).param).toBe("prompt");
    const huge = file(sized(MP4, MEDIA_LIMITS.videoBytes), "a.mp4");
    const second = file(sized(MP4, 2 * 1024 * 1024), "b.mp4");
    const error = await refusal(fromForm([["llmid", "brand-new-model"], ["prompt", "p"], ["a", huge], ["b", second]]));
    expect([error.status, error.param]).toEqual([413, "b"]);
  });
});

describe("POST /llmage/video: one frame under two spellings", () => {
  it("refuses two spellings carrying different images even with the same name and size", async () => {
    const a = file(JPEG, "frame.jpg", "image/jpeg");
    const other = JPEG.slice();
    other[other.length - 1] = (other[other.length - 1] ?? 0) ^ 0xff;
    const b = file(other, "frame.jpg", "image/jpeg");
    const refused = await fromForm([
      ["llmid", "7RTOJD6K8A7RXCMG4GnQ9"],
      ["prompt", "p"],
      ["image_file1", a],
      ["image1_file", b],
    ]).catch((err: unknown) => err);
    expect(refused).toMatchObject({ status: 400, param: "image1_file" });
  });

  it("takes the same image sent under both spellings as one frame", async () => {
    const out = await fromForm([
      ["llmid", "7RTOJD6K8A7RXCMG4GnQ9"],
      ["prompt", "p"],
      ["image_file1", file(JPEG, "frame.jpg", "image/jpeg")],
      ["image1_file", file(JPEG, "frame.jpg", "image/jpeg")],
    ]);
    expect(out.upstream.multipart).toBe(true);
  });

  it("keeps webhook_events for a webhook URL given in the x-webhook-url header", async () => {
    const out = await fromJson({ llmid: "CrEMkFQfRCmbmopZsCqLj", prompt: "p", webhook_events: "task.succeeded,task.failed" });
    expect(out.relay.webhook_events).toEqual(["task.succeeded", "task.failed"]);
  });
});
