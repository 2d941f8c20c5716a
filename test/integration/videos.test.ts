import { describe, expect, it } from "vitest";
import { VIDEO_CATALOG, VIDEO_FAMILIES, type VideoCatalogEntry } from "../../src/videos/catalog";
import type { Task } from "../../src/tasks/task-object";
import { call, callJson, simFaults, simRequests, uniqueKey, type ErrorBody, type SimRequest } from "../support/helpers";
import { receiverUrl } from "../support/receiver";
import {
  caseParts,
  dataUrl,
  JPEG,
  MP4,
  onlySubmission,
  PNG,
  postForm,
  sameFile,
  sized,
  TEXT,
  upload,
  validCase,
  type Part,
} from "../support/videos";

const VIDU_T2V = "r0ill7L0s6PtBS8mkmg-7";
const VIDU_I2V = "FK_h7FLYnosv2TkMN4ATC";
const HAPPYHORSE_T2V = "o5vfXYD5BURJWRTWpopE5";
const HAPPYHORSE_I2V = "7y7kfYM0Xasizyi37WvAZ";
const HAPPYHORSE_R2V = "6o9n_7u2K927hNlD8_72f";
const SEEDANCE20_I2V = "UeYax4591ytnPcr9eumry";
const SEEDANCE15_T2V = "CrEMkFQfRCmbmopZsCqLj";
const SEEDANCE15_I2V = "7RTOJD6K8A7RXCMG4GnQ9";
const WAN_I2V = "x4HksKp9mXR1Yv60mw6Py";

type NativeAnswer = { taskid: string; status: string; id: string };

/** The submission body the simulator saw: parsed JSON, or the form (files summarised). */
function sentBody(sent: SimRequest): Record<string, unknown> {
  return (sent.json ?? sent.form ?? {}) as Record<string, unknown>;
}

async function expectRefused(
  key: string,
  res: Response | Promise<Response>,
  status: number,
  param: string | null,
): Promise<ErrorBody> {
  const response = await res;
  const body = (await response.json()) as ErrorBody;
  expect({ status: response.status, param: body.error?.param }).toEqual({ status, param });
  expect(await simRequests(key, "video")).toHaveLength(0);
  return body;
}

// ---------------------------------------------------------------------------- every family

const ENTRY_MODES = VIDEO_CATALOG.filter((e) => e.enabled).flatMap((entry) => entry.modes.map((mode) => ({ entry, mode })));

describe("POST /v1/videos: every catalog entry in every mode it supports", () => {
  it("covers every family of the catalog", () => {
    const covered = new Set(ENTRY_MODES.map(({ entry }) => entry.family.id));
    expect([...covered].sort()).toEqual(Object.keys(VIDEO_FAMILIES).sort());
  });

  it.each(ENTRY_MODES.map(({ entry, mode }) => [`${entry.llmid} ${mode} (${entry.family.id})`, entry, mode] as const))(
    "%s: sends the family's own field names, values and intact files",
    async (_name, entry: VideoCatalogEntry, mode) => {
      const key = uniqueKey("video");
      const c = await validCase(entry, mode);
      const res = c.multipart ? await postForm("/v1/videos", key, caseParts(c)) : await call("/v1/videos", { key, json: c.fields });
      const task = (await res.json()) as Task;
      expect(res.status, JSON.stringify(task)).toBe(202);
      const sent = onlySubmission(await simRequests(key, "video"));
      if (c.multipart) {
        expect(sent.contentType).toMatch(/^multipart\/form-data/);
        expect(sent.json).toBeUndefined();
        expect(sent.form).toEqual(c.expected);
      } else {
        expect(sent.contentType).toMatch(/^application\/json/);
        expect(sent.json).toEqual(c.expected);
      }
      expect(task).toMatchObject({
        object: "task",
        llmid: entry.llmid,
        mode,
        model: c.fields.model,
        status: "queued",
        upstream_taskid: expect.stringMatching(/^\d{18}$/),
      });
      expect(task.id).toMatch(/^task_/);
    },
  );
});

describe("POST /v1/videos: the page's spellings, written out", () => {
  it("Seedance 1.5 frames go under both spellings, the ratio as radio and ratio", async () => {
    const key = uniqueKey("video");
    const res = await postForm("/v1/videos", key, [
      ["llmid", SEEDANCE15_I2V],
      ["prompt", "two frames"],
      ["ratio", "KEEP_RATIO"],
      ["first_frame", upload(PNG, "a.png", "image/png")],
      ["last_frame", upload(JPEG, "b.jpg", "image/jpeg")],
    ]);
    expect(res.status).toBe(202);
    const form = onlySubmission(await simRequests(key, "video")).form ?? {};
    expect(Object.keys(form).sort()).toEqual(["image1_file", "image2_file", "image_file1", "image_file2", "llmid", "prompt", "radio", "ratio"]);
    expect(form.radio).toEqual(["keep_ratio"]);
    expect(form.ratio).toEqual(["keep_ratio"]);
    const png = await sameFile(PNG, "image/png");
    const jpeg = await sameFile(JPEG, "image/jpeg");
    expect(form.image_file1).toEqual([png]);
    expect(form.image1_file).toEqual([png]);
    expect(form.image_file2).toEqual([jpeg]);
    expect(form.image2_file).toEqual([jpeg]);
  });

  it("Happy Horse / Seedance 2.0 use image1_file, Vidu / Wan image_file1", async () => {
    const cases: Array<[string, string[], string[]]> = [
      [HAPPYHORSE_I2V, ["image1_file"], []],
      [SEEDANCE20_I2V, ["image1_file"], ["image2_file"]],
      [VIDU_I2V, ["image_file1"], ["image_file2"]],
      [WAN_I2V, ["image_file1"], ["image_file2"]],
    ];
    for (const [llmid, first, last] of cases) {
      const key = uniqueKey("video");
      const parts: Part[] = [["llmid", llmid], ["prompt", "frames"], ["first_frame", upload(PNG, "f.png")]];
      if (last.length > 0) parts.push(["last_frame", upload(JPEG, "l.jpg")]);
      const res = await postForm("/v1/videos", key, parts);
      expect(res.status, llmid).toBe(202);
      const form = onlySubmission(await simRequests(key, "video")).form ?? {};
      const fileFields = Object.entries(form).filter(([, v]) => typeof v[0] === "object").map(([k]) => k);
      expect(fileFields.sort(), llmid).toEqual([...first, ...last].sort());
    }
  });

  it("off_peak: a JSON boolean in a JSON submission, \"1\"/\"0\" in a form (never Y/N)", async () => {
    const jsonKey = uniqueKey("video");
    expect((await call("/v1/videos", { key: jsonKey, json: { model: "viduq3-pro", llmid: VIDU_T2V, prompt: "x", off_peak: "Y" } })).status).toBe(202);
    expect(onlySubmission(await simRequests(jsonKey, "video")).json?.off_peak).toBe(true);

    const offKey = uniqueKey("video");
    expect((await call("/v1/videos", { key: offKey, json: { llmid: VIDU_T2V, prompt: "x", off_peak: false } })).status).toBe(202);
    expect(onlySubmission(await simRequests(offKey, "video")).json?.off_peak).toBe(false);

    for (const [given, sent] of [["Y", "1"], ["n", "0"], ["true", "1"], ["0", "0"]] as const) {
      const key = uniqueKey("video");
      const res = await postForm("/v1/videos", key, [
        ["llmid", VIDU_I2V],
        ["prompt", "x"],
        ["off_peak", given],
        ["first_frame", upload(PNG, "f.png")],
        ["last_frame", upload(JPEG, "l.jpg")],
      ]);
      expect(res.status, given).toBe(202);
      expect(onlySubmission(await simRequests(key, "video")).form?.off_peak, given).toEqual([sent]);
    }
  });

  it("data: URLs in a JSON body become files upstream, byte for byte", async () => {
    const key = uniqueKey("video");
    const res = await call("/v1/videos", {
      key,
      json: {
        model: "viduq2-turbo",
        prompt: "from data URLs",
        first_frame: dataUrl(PNG, "image/png"),
        last_frame: dataUrl(JPEG), // the declared type is not trusted either way
        resolution: "720p",
        off_peak: false,
      },
    });
    const task = (await res.json()) as Task;
    expect(res.status, JSON.stringify(task)).toBe(202);
    expect(task).toMatchObject({ llmid: VIDU_I2V, model: "viduq2-turbo", mode: "i2v" });
    const sent = onlySubmission(await simRequests(key, "video"));
    expect(sent.form).toEqual({
      llmid: [VIDU_I2V],
      model: ["viduq2-turbo"],
      prompt: ["from data URLs"],
      off_peak: ["0"],
      resolution: ["720p"],
      image_file1: [await sameFile(PNG, "image/png")],
      image_file2: [await sameFile(JPEG, "image/jpeg")],
    });

    const refKey = uniqueKey("video");
    const refs = await call("/v1/videos", {
      key: refKey,
      json: { model: "happyhorse-1.0-r2v", prompt: "refs", reference_images: [dataUrl(JPEG, "image/jpeg"), dataUrl(PNG, "image/png")] },
    });
    expect(refs.status).toBe(202);
    const form = onlySubmission(await simRequests(refKey, "video")).form ?? {};
    expect(form.image_files).toEqual([await sameFile(JPEG, "image/jpeg"), await sameFile(PNG, "image/png")]);
  });

  it("the mode is inferred from the media when omitted", async () => {
    const key = uniqueKey("video");
    const res = await postForm("/v1/videos", key, [
      ["model", "doubao-seedance-2-0-260128"],
      ["prompt", "refs"],
      ["reference_images", upload(PNG, "1.png")],
      ["reference_videos", upload(MP4, "1.mp4")],
    ]);
    const task = (await res.json()) as Task;
    expect(res.status).toBe(202);
    expect(task).toMatchObject({ llmid: "dmPXF65TD1riKj9KaxLmg", mode: "r2v", model: "doubao-seedance-2-0-260128" });
    const form = onlySubmission(await simRequests(key, "video")).form ?? {};
    expect(form.video_files).toEqual([await sameFile(MP4, "video/mp4")]);
  });
});

// ---------------------------------------------------------------------------- refusals

const BAD_VALUES = Object.values(VIDEO_FAMILIES).flatMap((family) => {
  const entry = VIDEO_CATALOG.find((e) => e.enabled && e.family.id === family.id);
  if (!entry) return [];
  const params = (["resolution", "ratio", "size"] as const).filter((p) => family[p] !== undefined);
  const cases: Array<[string, string, Record<string, unknown>, string]> = params.map((p) => [family.id, p, { [p]: "999:1" }, p]);
  if (family.duration) cases.push([family.id, "duration", { duration: (family.duration.max ?? 30) + 1 }, "duration"]);
  return cases.map(([id, what, extra, param]) => ({ id, what, entry, extra, param }));
});

describe("POST /v1/videos: refusals reach nothing upstream", () => {
  it.each(BAD_VALUES.map((c) => [`${c.id} ${c.what}`, c] as const))("%s outside the family's set → 400", async (_name, c) => {
    const key = uniqueKey("video");
    const body = await expectRefused(
      key,
      call("/v1/videos", { key, json: { llmid: c.entry.llmid, mode: c.entry.table, prompt: "x", ...c.extra } }),
      400,
      c.param,
    );
    expect(body.error.type).toBe("invalid_request_error");
  });

  it("a parameter the family does not take → 400 naming it", async () => {
    const key = uniqueKey("video");
    await expectRefused(key, call("/v1/videos", { key, json: { llmid: VIDU_T2V, prompt: "x", size: "1280*720" } }), 400, "size");
  });

  it("a missing required frame → 400 naming it", async () => {
    const key = uniqueKey("video");
    await expectRefused(key, postForm("/v1/videos", key, [["llmid", SEEDANCE20_I2V], ["prompt", "x"], ["first_frame", upload(PNG, "f.png")]]), 400, "last_frame");
    await expectRefused(key, call("/v1/videos", { key, json: { llmid: WAN_I2V, mode: "i2v", prompt: "x" } }), 400, "first_frame");
  });

  it("10 reference images → 400 reference_images", async () => {
    const key = uniqueKey("video");
    const parts: Part[] = [["model", "happyhorse-1.0-r2v"], ["prompt", "x"]];
    for (let i = 0; i < 10; i++) parts.push(["reference_images", upload(PNG, `${i}.png`, "image/png")]);
    await expectRefused(key, postForm("/v1/videos", key, parts), 400, "reference_images");
  });

  it("a \"PNG\" that is really text → 415 naming the field", async () => {
    const key = uniqueKey("video");
    const body = await expectRefused(
      key,
      postForm("/v1/videos", key, [["llmid", HAPPYHORSE_I2V], ["prompt", "x"], ["first_frame", upload(TEXT, "frame.png", "image/png")]]),
      415,
      "first_frame",
    );
    expect(body.error.type).toBe("invalid_request_error");
    const viaData = uniqueKey("video");
    await expectRefused(viaData, call("/v1/videos", { key: viaData, json: { model: "happyhorse-1.0-r2v", prompt: "x", reference_images: [dataUrl(PNG), dataUrl(TEXT, "image/png")] } }), 415, "reference_images[1]");
  });

  it("an oversized file → 413 naming the field", async () => {
    const key = uniqueKey("video");
    await expectRefused(
      key,
      postForm("/v1/videos", key, [["llmid", HAPPYHORSE_I2V], ["prompt", "x"], ["first_frame", upload(sized(PNG, 5 * 1024 * 1024 + 1), "big.png", "image/png")]]),
      413,
      "first_frame",
    );
  });

  it("model and llmid that disagree → 400 llmid; an unknown model → 404 model; an unknown llmid → 404 llmid", async () => {
    const key = uniqueKey("video");
    await expectRefused(key, call("/v1/videos", { key, json: { model: "viduq3-pro", llmid: HAPPYHORSE_T2V, prompt: "x" } }), 400, "llmid");
    const unknown = await expectRefused(key, call("/v1/videos", { key, json: { model: "sora-9", prompt: "x" } }), 404, "model");
    expect(unknown.error.code).toBe("model_not_found");
    await expectRefused(key, call("/v1/videos", { key, json: { llmid: "nope", prompt: "x" } }), 404, "llmid");
  });

  it("the disabled model → 400 model_not_enabled", async () => {
    const key = uniqueKey("video");
    const body = await expectRefused(key, call("/v1/videos", { key, json: { model: "eedance2.0", prompt: "x" } }), 400, "model");
    expect(body.error.code).toBe("model_not_enabled");
  });

  it("malformed JSON → 400, a wrong content type → 415, a missing prompt → 400 prompt, an unknown field → 400", async () => {
    const key = uniqueKey("video");
    await expectRefused(key, call("/v1/videos", { key, body: '{"model": "viduq3-pro", ', headers: { "content-type": "application/json" } }), 400, null);
    const wrongType = await expectRefused(key, call("/v1/videos", { key, body: "model=viduq3-pro", headers: { "content-type": "text/plain" } }), 415, null);
    expect(wrongType.error.type).toBe("invalid_request_error");
    await expectRefused(key, call("/v1/videos", { key, json: { model: "viduq3-pro" } }), 400, "prompt");
    await expectRefused(key, call("/v1/videos", { key, json: { model: "viduq3-pro", prompt: "x", colour: "red" } }), 400, "colour");
  });
});

describe("POST /llmage/video: refusals", () => {
  it("missing llmid → 400 llmid", async () => {
    const key = uniqueKey("native");
    await expectRefused(key, call("/llmage/video", { key, json: { prompt: "x" } }), 400, "llmid");
  });

  it("a bad value for a known llmid → 400 naming the field as the caller spelled it", async () => {
    const key = uniqueKey("native");
    await expectRefused(key, call("/llmage/video", { key, json: { llmid: VIDU_T2V, prompt: "x", resolution: "4k" } }), 400, "resolution");
    await expectRefused(key, call("/llmage/video", { key, json: { llmid: SEEDANCE15_T2V, prompt: "x", radio: "5:4" } }), 400, "radio");
    await expectRefused(key, postForm("/llmage/video", key, [["llmid", HAPPYHORSE_I2V], ["prompt", "x"], ["image1_file", upload(TEXT, "f.png", "image/png")]]), 415, "image1_file");
    await expectRefused(key, call("/llmage/video", { key, body: "llmid=x", headers: { "content-type": "text/plain" } }), 415, null);
  });

  it("an unknown llmid is forwarded as it is", async () => {
    const key = uniqueKey("native");
    const res = await call("/llmage/video", { key, json: { llmid: "brand-new-model", prompt: "x", anything: 3 } });
    // The simulator does not know it either: it answers 200 FAILED, which is a 502.
    expect(res.status).toBe(502);
    const sent = onlySubmission(await simRequests(key, "video"));
    expect(sent.json).toEqual({ llmid: "brand-new-model", prompt: "x", anything: 3 });
  });
});

// ---------------------------------------------------------------------------- native route

describe("POST /llmage/video: the upstream's own request, forwarded", () => {
  it("JSON: relay-only fields stripped, values in the page's spelling, unknown fields kept; tracking starts", async () => {
    const key = uniqueKey("native");
    const hook = receiverUrl(`native-${crypto.randomUUID()}`);
    const { status, body } = await callJson<NativeAnswer>("/llmage/video", {
      key,
      json: {
        llmid: VIDU_T2V,
        prompt: "a native request",
        resolution: "720P",
        duration: "5",
        off_peak: "Y",
        seed: 42,
        webhook: hook,
        webhook_events: ["task.succeeded"],
        metadata: { order: "7" },
      },
    });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(["id", "status", "taskid"]);
    expect(body.id).toMatch(/^task_/);
    expect(body.status).toBe("created");
    const sent = onlySubmission(await simRequests(key, "video"));
    expect(sent.json).toEqual({ llmid: VIDU_T2V, prompt: "a native request", resolution: "720p", duration: 5, off_peak: true, seed: 42 });

    const byId = await callJson<Task>(`/v1/tasks/${body.id}`, { key });
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({
      id: body.id,
      upstream_taskid: body.taskid,
      llmid: VIDU_T2V,
      model: "viduq3-pro",
      mode: "t2v",
      metadata: { order: "7" },
      webhooks: [{ url: hook, events: ["task.succeeded"] }],
    });
    const byTaskid = await callJson<Task>(`/v1/tasks/${body.taskid}`, { key });
    expect(byTaskid.body.id).toBe(body.id);
  });

  it("multipart: files intact, the x-webhook-url header works, the page's two-image1_file example is read as [first, last]", async () => {
    const key = uniqueKey("native");
    const hook = receiverUrl(`native-${crypto.randomUUID()}`);
    const res = await postForm(
      "/llmage/video",
      key,
      [
        ["llmid", SEEDANCE15_I2V],
        ["prompt", "native frames"],
        ["radio", "16:9"],
        ["image1_file", upload(PNG, "first.png", "image/png")],
        ["image1_file", upload(JPEG, "last.jpg", "image/jpeg")],
        ["metadata[user]", "u1"],
      ],
      { headers: { "x-webhook-url": hook } },
    );
    const body = (await res.json()) as NativeAnswer;
    expect(res.status, JSON.stringify(body)).toBe(200);
    const form = onlySubmission(await simRequests(key, "video")).form ?? {};
    const png = await sameFile(PNG, "image/png");
    const jpeg = await sameFile(JPEG, "image/jpeg");
    expect(form).toEqual({
      llmid: [SEEDANCE15_I2V],
      prompt: ["native frames"],
      radio: ["16:9"],
      ratio: ["16:9"],
      image_file1: [png],
      image1_file: [png],
      image_file2: [jpeg],
      image2_file: [jpeg],
    });
    const task = await callJson<Task>(`/v1/tasks/${body.id}`, { key });
    expect(task.body).toMatchObject({
      mode: "i2v",
      metadata: { user: "u1" },
      webhooks: [{ url: hook, events: ["task.succeeded", "task.failed", "task.expired"] }],
    });
  });
});

describe("POST /llmage/video: webhook given in parts", () => {
  it("takes webhook_events from the body with the URL from x-webhook-url; events alone are refused", async () => {
    const key = uniqueKey("native-hook");
    const hook = "http://hooks.sim/hooks/native-parts";
    const ok = await callJson<{ id: string }>("/llmage/video", {
      key,
      json: { llmid: VIDU_T2V, prompt: "x", webhook_events: ["task.running"] },
      headers: { "x-webhook-url": hook },
    });
    expect(ok.status).toBe(200);
    const task = await callJson<Task>(`/v1/tasks/${ok.body.id}`, { key });
    expect(task.body.webhooks).toEqual([{ url: hook, events: ["task.running"] }]);
    const alone = await callJson<ErrorBody>("/llmage/video", { key, json: { llmid: VIDU_T2V, prompt: "x", webhook_events: ["task.running"] } });
    expect(alone.status).toBe(400);
    expect(alone.body.error.param).toBe("webhook_events");
  });
});

// ---------------------------------------------------------------------------- upstream quirks

describe("upstream answers", () => {
  const routes = [
    ["/v1/videos", { model: "viduq3-pro", prompt: "x" }],
    ["/llmage/video", { llmid: VIDU_T2V, prompt: "x" }],
  ] as const;

  it.each(routes)("%s: a 200 {status: FAILED} is a 502 and creates no task", async (path, json) => {
    const key = uniqueKey("quirk");
    await simFaults(key, [{ route: "video", fault: { kind: "failed_200", error: "ERROR:content rejected" } }]);
    const { status, body } = await callJson<ErrorBody>(path, { key, json });
    expect(status).toBe(502);
    expect(body.error).toMatchObject({ type: "upstream_error", code: "upstream_failed" });
    expect(body.error.message).toContain("content rejected");
    expect(await simRequests(key, "video")).toHaveLength(1);
    const list = await callJson<{ data: Task[] }>("/v1/tasks", { key });
    expect(list.body.data).toEqual([]);
  });

  it.each(routes)("%s: upstream 401 → 401, upstream 429 Insufficient balance → 429 insufficient_quota", async (path, json) => {
    const invalid = uniqueKey("invalid");
    const denied = await callJson<ErrorBody>(path, { key: invalid, json });
    expect(denied.status).toBe(401);
    expect(denied.body.error.type).toBe("authentication_error");

    const broke = uniqueKey("nobalance");
    const poor = await callJson<ErrorBody>(path, { key: broke, json });
    expect(poor.status).toBe(429);
    expect(poor.body.error).toMatchObject({ type: "insufficient_quota" });
    expect(poor.body.error.message).toMatch(/Insufficient balance/);
    for (const key of [invalid, broke]) expect((await callJson<{ data: Task[] }>("/v1/tasks", { key })).body.data).toEqual([]);
  });
});

// ---------------------------------------------------------------------------- idempotency

describe("Idempotency-Key", () => {
  it("POST /v1/videos JSON: a repeat replays the first task (field order and spacing do not matter); another body → 409", async () => {
    const key = uniqueKey("idem");
    const headers = { "idempotency-key": "order-1" };
    const first = await call("/v1/videos", { key, headers, json: { model: "viduq3-pro", prompt: "once", duration: 5 } });
    expect(first.status).toBe(202);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const task = (await first.json()) as Task;
    const again = await call("/v1/videos", {
      key,
      headers: { ...headers, "content-type": "application/json" },
      body: '{ "duration": 5,  "prompt": "once", "model": "viduq3-pro" }',
    });
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Task).id).toBe(task.id);
    expect(await simRequests(key, "video")).toHaveLength(1);

    const other = await callJson<ErrorBody>("/v1/videos", { key, headers, json: { model: "viduq3-pro", prompt: "twice", duration: 5 } });
    expect(other.status).toBe(409);
    expect(other.body.error.param).toBe("Idempotency-Key");
    expect(await simRequests(key, "video")).toHaveLength(1);
    expect((await callJson<{ data: Task[] }>("/v1/tasks", { key })).body.data).toHaveLength(1);
  });

  it("POST /v1/videos multipart: the same files under a new boundary are the same request", async () => {
    const key = uniqueKey("idem");
    const parts: Part[] = [
      ["llmid", VIDU_I2V],
      ["prompt", "frames"],
      ["first_frame", upload(PNG, "f.png", "image/png")],
      ["last_frame", upload(JPEG, "l.jpg", "image/jpeg")],
    ];
    const headers = { "idempotency-key": "upload-1" };
    const first = await postForm("/v1/videos", key, parts, { boundary: "boundary-one", headers });
    expect(first.status).toBe(202);
    const again = await postForm("/v1/videos", key, parts, { boundary: "a-completely-different-boundary", headers });
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Task).id).toBe(((await first.json()) as Task).id);
    expect(await simRequests(key, "video")).toHaveLength(1);

    const otherFile: Part[] = [...parts.slice(0, 3), ["last_frame", upload(PNG, "l.jpg", "image/jpeg")]];
    const conflict = await postForm("/v1/videos", key, otherFile, { headers });
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as ErrorBody).error.param).toBe("Idempotency-Key");
    expect(await simRequests(key, "video")).toHaveLength(1);
  });

  it("POST /v1/videos: a first attempt that failed upstream releases the key", async () => {
    const key = uniqueKey("idem");
    await simFaults(key, [{ route: "video", times: 1, fault: { kind: "status", status: 500 } }]);
    const headers = { "idempotency-key": "retry-me" };
    const json = { model: "viduq3-pro", prompt: "retry" };
    const failed = await call("/v1/videos", { key, headers, json });
    expect(failed.status).toBe(502);
    const retried = await call("/v1/videos", { key, headers, json });
    expect(retried.status).toBe(202);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(await simRequests(key, "video")).toHaveLength(2);
    const replay = await call("/v1/videos", { key, headers, json });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await simRequests(key, "video")).toHaveLength(2);
  });

  it("POST /llmage/video: replay, 409 on another body, release after an upstream failure", async () => {
    const key = uniqueKey("idem");
    const headers = { "idempotency-key": "native-1" };
    const json = { llmid: VIDU_T2V, prompt: "native once" };
    const first = await callJson<NativeAnswer>("/llmage/video", { key, headers, json });
    expect(first.status).toBe(200);
    const again = await callJson<NativeAnswer>("/llmage/video", { key, headers, json });
    expect(again.status).toBe(200);
    expect(again.res.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await simRequests(key, "video")).toHaveLength(1);
    const other = await callJson<ErrorBody>("/llmage/video", { key, headers, json: { ...json, prompt: "native twice" } });
    expect(other.status).toBe(409);
    expect(other.body.error.param).toBe("Idempotency-Key");

    await simFaults(key, [{ route: "video", times: 1, fault: { kind: "status", status: 503 } }]);
    const retryHeaders = { "idempotency-key": "native-2" };
    expect((await call("/llmage/video", { key, headers: retryHeaders, json })).status).toBe(502);
    const retried = await callJson<NativeAnswer>("/llmage/video", { key, headers: retryHeaders, json });
    expect(retried.status).toBe(200);
    expect(retried.body.id).not.toBe(first.body.id);
    expect(await simRequests(key, "video")).toHaveLength(3);
  });

  it("POST /llmage/video: relay-only fields are part of the request (other metadata or webhook → 409)", async () => {
    const key = uniqueKey("idem");
    const headers = { "idempotency-key": "native-meta" };
    const json = { llmid: VIDU_T2V, prompt: "x", metadata: { order: "1" } };
    expect((await call("/llmage/video", { key, headers, json })).status).toBe(200);
    const otherMeta = await callJson<ErrorBody>("/llmage/video", { key, headers, json: { ...json, metadata: { order: "2" } } });
    expect(otherMeta.status).toBe(409);
    expect(otherMeta.body.error.param).toBe("Idempotency-Key");
    const withHook = await callJson<ErrorBody>("/llmage/video", { key, headers, json: { ...json, webhook: receiverUrl("x") } });
    expect(withHook.status).toBe(409);
    expect(await simRequests(key, "video")).toHaveLength(1);
  });

  it("POST /llmage/video multipart: a new boundary is the same request", async () => {
    const key = uniqueKey("idem");
    const parts: Part[] = [["llmid", HAPPYHORSE_I2V], ["prompt", "x"], ["image1_file", upload(PNG, "f.png")]];
    const headers = { "idempotency-key": "native-upload" };
    const first = await postForm("/llmage/video", key, parts, { boundary: "b1", headers });
    const again = await postForm("/llmage/video", key, parts, { boundary: "b2-other", headers });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await simRequests(key, "video")).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------- metadata

describe("metadata", () => {
  it("is stored and echoed on the task, on GET and in the list (JSON and multipart)", async () => {
    const key = uniqueKey("meta");
    const metadata = { order: "42", customer: "acme" };
    const created = await callJson<Task>("/v1/videos", { key, json: { model: "viduq3-pro", prompt: "x", metadata } });
    expect(created.status).toBe(202);
    expect(created.body.metadata).toEqual(metadata);
    const viaForm = await postForm("/v1/videos", key, [
      ["model", "happyhorse-1.0-i2v"],
      ["prompt", "x"],
      ["first_frame", upload(PNG, "f.png")],
      ["metadata[batch]", "b-9"],
    ]);
    const formTask = (await viaForm.json()) as Task;
    expect(viaForm.status).toBe(202);
    expect(formTask.metadata).toEqual({ batch: "b-9" });
    // metadata stays with the relay
    for (const sent of await simRequests(key, "video")) expect(JSON.stringify(sentBody(sent))).not.toMatch(/acme|b-9|metadata/);

    expect((await callJson<Task>(`/v1/tasks/${created.body.id}`, { key })).body.metadata).toEqual(metadata);
    const list = await callJson<{ data: Task[] }>("/v1/tasks", { key });
    const byId = new Map(list.body.data.map((t) => [t.id, t.metadata]));
    expect(byId.get(created.body.id)).toEqual(metadata);
    expect(byId.get(formTask.id)).toEqual({ batch: "b-9" });
  });

  it("bad metadata is refused before anything goes upstream", async () => {
    const key = uniqueKey("meta");
    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    await expectRefused(key, call("/v1/videos", { key, json: { model: "viduq3-pro", prompt: "x", metadata: tooMany } }), 400, "metadata");
    await expectRefused(key, call("/v1/videos", { key, json: { model: "viduq3-pro", prompt: "x", metadata: { n: 1 } } }), 400, "metadata.n");
  });
});

