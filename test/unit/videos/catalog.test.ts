import { describe, expect, it } from "vitest";
import {
  findEntryByLlmid,
  inferVideoMode,
  listVideoModels,
  resolveVideoEntry,
  VIDEO_CATALOG,
} from "../../../src/videos/catalog";
import { refusal } from "./fixtures";

/** Every (llmid, model) pair of the page's three tables, starred defaults first. */
const PAGE_ROWS: Array<[string, string[]]> = [
  ["o5vfXYD5BURJWRTWpopE5", ["happyhorse-1.0-t2v"]],
  ["YjjGgxO_Xma8PWsMjJvps", ["doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128"]],
  ["TWay-xd0p0pkEX-_Kuhto", ["dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128"]],
  ["CrEMkFQfRCmbmopZsCqLj", ["doubao-seedance-1-5-pro-251215"]],
  ["u9HZyfDoqU6uKI6M1BTks", ["wan2.6-t2v"]],
  ["r0ill7L0s6PtBS8mkmg-7", ["viduq3-pro"]],
  ["7y7kfYM0Xasizyi37WvAZ", ["happyhorse-1.0-i2v"]],
  ["UeYax4591ytnPcr9eumry", ["doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128"]],
  ["tb0VSY6WeyGbzaolU1_qE", ["dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128"]],
  ["7RTOJD6K8A7RXCMG4GnQ9", ["doubao-seedance-1-5-pro-251215"]],
  ["FK_h7FLYnosv2TkMN4ATC", ["viduq3-pro", "viduq2-turbo"]],
  ["x4HksKp9mXR1Yv60mw6Py", ["wan2.6-r2v"]],
  ["6o9n_7u2K927hNlD8_72f", ["happyhorse-1.0-r2v"]],
  ["dmPXF65TD1riKj9KaxLmg", ["doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128"]],
  ["nVbH7lEO51soqTbLGIHE_", ["dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128"]],
];

describe("the catalog", () => {
  it.each(PAGE_ROWS)("has %s with its models, the starred one first", (llmid, models) => {
    const entry = findEntryByLlmid(llmid);
    expect(entry?.enabled).toBe(true);
    expect(entry?.models).toEqual(models);
    expect(resolveVideoEntry({ llmid }, entry?.table).model).toBe(models[0]);
  });

  it("lists every enabled row and the disabled one for GET /v1/models", () => {
    const listed = listVideoModels();
    expect(new Set(listed.filter((m) => m.enabled).map((m) => m.llmid))).toEqual(new Set(PAGE_ROWS.map(([llmid]) => llmid)));
    expect(listed.filter((m) => m.id === "viduq3-pro").map((m) => [m.llmid, m.modes])).toEqual([
      ["r0ill7L0s6PtBS8mkmg-7", ["t2v"]],
      ["FK_h7FLYnosv2TkMN4ATC", ["i2v"]],
    ]);
    expect(listed.find((m) => m.id === "eedance2.0")).toMatchObject({ enabled: false, llmid: "YjjGgxO_Xma8PWsMjJvps" });
    expect(listed.find((m) => m.id === "wan2.6-t2v")?.parameters.duration?.values).toEqual([5, 10, 15]);
  });

  it("keeps the shared Doubao llmid on its enabled row", () => {
    expect(findEntryByLlmid("YjjGgxO_Xma8PWsMjJvps")?.models[0]).toBe("doubao-seedance-2-0-260128");
  });

  it("gives each llmid one enabled row, and each model name at most one row per mode", () => {
    const enabled = VIDEO_CATALOG.filter((e) => e.enabled);
    expect(new Set(enabled.map((e) => e.llmid)).size).toBe(enabled.length);
    for (const model of new Set(enabled.flatMap((e) => e.models))) {
      const tables = enabled.filter((e) => e.models.includes(model)).map((e) => e.table);
      expect(new Set(tables).size, model).toBe(tables.length);
    }
  });
});

describe("resolveVideoEntry", () => {
  it("maps one model name to a different llmid per mode", () => {
    expect(resolveVideoEntry({ model: "viduq3-pro" }, "t2v").entry.llmid).toBe("r0ill7L0s6PtBS8mkmg-7");
    expect(resolveVideoEntry({ model: "viduq3-pro" }, "i2v").entry.llmid).toBe("FK_h7FLYnosv2TkMN4ATC");
    expect(resolveVideoEntry({ model: "doubao-seedance-2-0-260128" }, "r2v").entry.llmid).toBe("dmPXF65TD1riKj9KaxLmg");
  });

  it("prefers the row of the mode's own table for Seedance 1.5", () => {
    expect(resolveVideoEntry({ model: "doubao-seedance-1-5-pro-251215" }, "t2v").entry.llmid).toBe("CrEMkFQfRCmbmopZsCqLj");
    expect(resolveVideoEntry({ model: "doubao-seedance-1-5-pro-251215" }, "i2v").entry.llmid).toBe("7RTOJD6K8A7RXCMG4GnQ9");
    expect(resolveVideoEntry({ llmid: "7RTOJD6K8A7RXCMG4GnQ9", mode: "t2v" })).toMatchObject({ mode: "t2v" });
  });

  it("matches model names in any case and answers with the catalog's spelling", () => {
    expect(resolveVideoEntry({ model: "VIDUQ2-TURBO" }, "i2v").model).toBe("viduq2-turbo");
  });

  it("falls back to the model's own mode when the inferred one does not apply", () => {
    expect(resolveVideoEntry({ model: "happyhorse-1.0-i2v" }, "t2v")).toMatchObject({ mode: "i2v" });
  });

  it("refuses what it cannot resolve, naming the field", async () => {
    expect((await refusal(() => resolveVideoEntry({}))).param).toBe("model");
    const unknown = await refusal(() => resolveVideoEntry({ model: "sora-2" }));
    expect([unknown.status, unknown.param, unknown.detailCode]).toEqual([404, "model", "model_not_found"]);
    const badLlmid = await refusal(() => resolveVideoEntry({ llmid: "nope" }));
    expect([badLlmid.status, badLlmid.param]).toEqual([404, "llmid"]);
    const disagree = await refusal(() => resolveVideoEntry({ model: "wan2.6-t2v", llmid: "x4HksKp9mXR1Yv60mw6Py" }));
    expect([disagree.status, disagree.param]).toEqual([400, "llmid"]);
    const disabled = await refusal(() => resolveVideoEntry({ model: "eedance2.0", llmid: "YjjGgxO_Xma8PWsMjJvps" }));
    expect([disabled.param, disabled.detailCode]).toEqual(["model", "model_not_enabled"]);
    const mode = await refusal(() => resolveVideoEntry({ model: "happyhorse-1.0-r2v", mode: "t2v" }));
    expect([mode.param, mode.message]).toEqual(["mode", expect.stringContaining("r2v")]);
  });
});

describe("inferVideoMode", () => {
  it("reads reference media as r2v, a frame as i2v, else t2v", () => {
    expect(inferVideoMode({ frames: true, references: true })).toBe("r2v");
    expect(inferVideoMode({ frames: true, references: false })).toBe("i2v");
    expect(inferVideoMode({ frames: false, references: false })).toBe("t2v");
  });
});
