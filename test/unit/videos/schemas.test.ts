import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import {
  parseCanonicalVideoForm,
  parseCanonicalVideoJson,
  VideoRequestFormSchema,
  VideoRequestJsonSchema,
} from "../../../src/videos/schemas";
import { file, JPEG, refusal } from "./fixtures";

function form(entries: Array<[string, string | File]>): FormData {
  const out = new FormData();
  for (const [name, value] of entries) out.append(name, value);
  return out;
}

describe("parseCanonicalVideoJson", () => {
  it("accepts the documented fields and normalizes off_peak 'Y'/'N'", () => {
    const parsed = parseCanonicalVideoJson({
      model: "viduq3-pro",
      prompt: "p",
      off_peak: "Y",
      duration: 5,
      webhook: "https://example.com/hook",
      webhook_events: ["task.failed", "task.failed", "task.succeeded"],
      metadata: { order: "42" },
      negative_prompt: null,
    });
    expect(parsed).toEqual({
      model: "viduq3-pro",
      prompt: "p",
      off_peak: true,
      duration: 5,
      webhook: "https://example.com/hook",
      webhook_events: ["task.failed", "task.succeeded"],
      metadata: { order: "42" },
    });
    expect(parseCanonicalVideoJson({ prompt: "p", off_peak: "N" }).off_peak).toBe(false);
  });

  it.each([
    [{}, "prompt", "prompt is required"],
    [{ prompt: "   " }, "prompt", "blank"],
    [{ prompt: "p", duration: 5.5 }, "duration", "integer"],
    [{ prompt: "p", duration: "5" }, "duration", "integer"],
    [{ prompt: "p", mode: "v2v" }, "mode", "t2v, i2v, r2v"],
    [{ prompt: "p", off_peak: "maybe" }, "off_peak", "true or false"],
    [{ prompt: "p", first_frame: "http://example.com/a.png" }, "first_frame", "https URL or a data: URL"],
    [{ prompt: "p", reference_images: ["https://a.example/1.png", "ftp://x"] }, "reference_images[1]", "https URL"],
    [{ prompt: "p", reference_images: Array(10).fill("https://a.example/1.png") }, "reference_images", "at most 9"],
    [{ prompt: "p", webhook: "not a url" }, "webhook", "absolute"],
    [{ prompt: "p", webhook: "https://a.example", webhook_events: ["task.done"] }, "webhook_events[0]", "task.running"],
    [{ prompt: "p", webhook_events: ["task.failed"] }, "webhook_events", "needs a webhook"],
    [{ prompt: "p", metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata", "at most 16"],
    [{ prompt: "p", metadata: { ["k".repeat(65)]: "v" } }, `metadata.${"k".repeat(65)}`, "1 to 64"],
    [{ prompt: "p", metadata: { note: "v".repeat(513) } }, "metadata.note", "512"],
    [{ prompt: "p", metadata: { n: 1 } }, "metadata.n", "strings"],
    [{ prompt: "p", durations: 5 }, "durations", "Unknown field durations"],
  ])("refuses %o on %s", async (body, param, message) => {
    const error = await refusal(() => parseCanonicalVideoJson(body));
    expect([error.status, error.param]).toEqual([400, param]);
    expect(error.message).toContain(message);
  });

  it("refuses a body that is not an object", async () => {
    expect((await refusal(() => parseCanonicalVideoJson([1, 2]))).status).toBe(400);
  });
});

describe("parseCanonicalVideoForm", () => {
  it("reads numbers and booleans from text, files as files, lists as repeated fields", () => {
    const frame = file(JPEG, "f.jpg");
    const parsed = parseCanonicalVideoForm(
      form([
        ["model", "viduq2-turbo"],
        ["prompt", "p"],
        ["duration", "10"],
        ["off_peak", "N"],
        ["first_frame", frame],
        ["last_frame", "https://cdn.example/last.png"],
        ["reference_images[]", "https://cdn.example/1.png"],
        ["reference_images[]", frame],
        ["webhook", "https://example.com/hook"],
        ["webhook_events", "task.failed, task.succeeded"],
        ["webhook_events", "task.running"],
        ["metadata[order]", "42"],
        ["metadata[user]", "ana"],
        ["negative_prompt", ""],
      ]),
    );
    expect(parsed).toEqual({
      model: "viduq2-turbo",
      prompt: "p",
      duration: 10,
      off_peak: false,
      first_frame: frame,
      last_frame: "https://cdn.example/last.png",
      reference_images: ["https://cdn.example/1.png", frame],
      webhook: "https://example.com/hook",
      webhook_events: ["task.failed", "task.succeeded", "task.running"],
      metadata: { order: "42", user: "ana" },
    });
  });

  it("takes metadata as one JSON field too", () => {
    expect(parseCanonicalVideoForm(form([["prompt", "p"], ["metadata", '{"a":"1"}']])).metadata).toEqual({ a: "1" });
  });

  it.each([
    [[["prompt", "p"], ["duration", "5"], ["duration", "6"]], "duration", "given 2 times"],
    [[["prompt", "p"], ["duration", "five"]], "duration", "integer"],
    [[["prompt", file(JPEG, "p.jpg")]], "prompt", "text field"],
    [[["prompt", "p"], ["metadata", "{not json"]], "metadata", "JSON object"],
    [[["prompt", "p"], ["metadata", '{"a":"1"}'], ["metadata[b]", "2"]], "metadata", "not both"],
    [[["prompt", "p"], ["first_frame", "http://insecure.example/a.png"]], "first_frame", "https URL"],
    [[["prompt", "p"], ["colour", "red"]], "colour", "Unknown field"],
  ] as Array<[Array<[string, string | File]>, string, string]>)("refuses %j on %s", async (entries, param, message) => {
    const error = await refusal(() => parseCanonicalVideoForm(form(entries)));
    expect([error.status, error.param]).toEqual([400, param]);
    expect(error.message).toContain(message);
  });
});

describe("OpenAPI", () => {
  it("renders both request schemas into the document", () => {
    const app = new OpenAPIHono();
    app.openapi(
      createRoute({
        method: "post",
        path: "/v1/videos",
        request: {
          body: {
            content: {
              "application/json": { schema: VideoRequestJsonSchema },
              "multipart/form-data": { schema: VideoRequestFormSchema },
            },
          },
        },
        responses: { 202: { description: "accepted" } },
      }),
      (c) => c.body(null, 202),
    );
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const schemas = doc.components?.schemas ?? {};
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(["VideoRequest", "VideoRequestForm"]));
    expect(JSON.stringify(schemas.VideoRequest)).toContain('"required":["prompt"]');
  });
});
