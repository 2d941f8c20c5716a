/**
 * `npm run bench`: the benchmark parts one after another (never at the same time: each
 * measures latency or CPU on a 2-core machine, and would disturb the others), each part's
 * raw result in bench/results/<part>.json, all of them in bench/results/summary.json, and
 * BENCHMARKS.md rewritten from the summary.
 *
 *   npm run bench [-- --only polling,chat,live] [--quick] [--scale N] [--strict]
 *
 * --only runs those parts and keeps the other sections as they were (from summary.json, or
 * re-rendered from bench/results/<part>.json). --quick: smaller runs. --scale N multiplies
 * the default sizes. The exit code is 1 when a part crashed (and, with --strict, when a
 * target was missed); a part that crashes does not stop the others.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { chatOverheadMarkdown, runChatOverhead, type ChatOverheadResult } from "./chat-overhead";
import { liveLoadMarkdown, repoRoot, runLiveLoad } from "./live-load";
import { runPollingEconomy, toMarkdown as pollingEconomyMarkdown, type PollingEconomyResult } from "./polling-economy";

interface Target {
  name: string;
  met: boolean;
  detail?: string;
}

interface PartSpec {
  id: "polling" | "chat" | "live";
  title: string;
  file: string;
  resultFile: string;
  what: string;
  run(opts: RunOpts): Promise<unknown>;
  markdown(result: unknown): string;
}

interface RunOpts {
  quick: boolean;
  scale: number;
}

interface PartEntry {
  id: string;
  title: string;
  status: "pass" | "fail" | "error";
  message: string | null;
  command: string;
  ranAt: string;
  elapsedMs: number;
  targets: Target[];
  resultFile: string | null;
  markdown: string;
  environment: Environment;
}

interface Environment {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  workerd: string;
  wrangler: string;
  miniflare: string;
}

interface Summary {
  generatedAt: string;
  command: string;
  environment: Environment;
  parts: Record<string, PartEntry>;
}

const PARTS: PartSpec[] = [
  {
    id: "polling",
    title: "Polling economy",
    file: "polling-economy.ts",
    resultFile: "polling-economy.json",
    what: "upstream polls per task and detection latency of the relay's poll schedule vs fixed intervals, in virtual time (pure functions, no server)",
    async run(o) {
      // Its own default size unless asked otherwise (--quick: 2,000 tasks; --scale: × its default of 10,000).
      const tasks = o.quick ? Math.round(2000 * o.scale) : o.scale !== 1 ? Math.round(10_000 * o.scale) : undefined;
      return runPollingEconomy(tasks === undefined ? {} : { tasks: Math.max(100, tasks) });
    },
    markdown: (r) => pollingEconomyMarkdown(r as PollingEconomyResult),
  },
  {
    id: "chat",
    title: "Chat overhead",
    file: "chat-overhead.ts",
    resultFile: "chat-overhead.json",
    what: "what the relay adds to chat calls (time to first byte, inter-chunk timing, throughput) over calling the upstream simulator directly",
    run: (o) => runChatOverhead({ quick: o.quick, scale: o.scale }),
    markdown: (r) => chatOverheadMarkdown(r as ChatOverheadResult),
  },
  {
    id: "live",
    title: "Live load",
    file: "live-load.ts",
    resultFile: "live-load.json",
    what: "1,000 video tasks in flight at once on the real local server (wrangler dev: relay + simulator), each with a signed webhook",
    run: (o) => runLiveLoad({ tasks: Math.max(10, Math.round((o.quick ? 200 : 1000) * o.scale)) }),
    markdown: (r) => liveLoadMarkdown(r as Parameters<typeof liveLoadMarkdown>[0]),
  },
];

// ── Arguments ──────────────────────────────────────────────────────────────────────────

const argv = process.argv.slice(2);
const argValue = (name: string): string | undefined => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const a = argv[i] as string;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[i + 1];
};
const quick = argv.includes("--quick");
const strict = argv.includes("--strict");
const scale = Number(argValue("--scale") ?? "1");
if (!Number.isFinite(scale) || scale <= 0) {
  console.error("--scale must be a positive number");
  process.exit(2);
}
const onlyArg = argValue("--only");
const aliases: Record<string, PartSpec["id"]> = {
  polling: "polling",
  "polling-economy": "polling",
  chat: "chat",
  "chat-overhead": "chat",
  live: "live",
  "live-load": "live",
};
const selected = new Set<PartSpec["id"]>();
if (onlyArg) {
  for (const name of onlyArg.split(",").map((s) => s.trim()).filter(Boolean)) {
    const id = aliases[name];
    if (!id) {
      console.error(`--only: unknown part "${name}" (polling, chat, live)`);
      process.exit(2);
    }
    selected.add(id);
  }
} else {
  for (const p of PARTS) selected.add(p.id);
}
const command = ["npm run bench", ...(argv.length ? ["--", ...argv] : [])].join(" ");

// ── Paths, environment ─────────────────────────────────────────────────────────────────

const ROOT = repoRoot();
const BENCH = join(ROOT, "bench");
const RESULTS = join(BENCH, "results");
const SUMMARY = join(RESULTS, "summary.json");
const DOC = join(ROOT, "BENCHMARKS.md");

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function environment(): Environment {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line) cpu = line.split(":").slice(1).join(":").trim();
  } catch {
    // keep os.cpus()
  }
  let workerd = pkgVersion("workerd");
  try {
    const bin = join(ROOT, "node_modules", ".bin", "workerd");
    workerd = `${execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim()} (npm ${workerd})`;
  } catch {
    // keep the package version
  }
  return {
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    workerd,
    wrangler: pkgVersion("wrangler"),
    miniflare: pkgVersion("miniflare"),
  };
}

// ── Loading parts ──────────────────────────────────────────────────────────────────────

function targetsOf(result: unknown): Target[] {
  const t = (result as { targets?: unknown } | null)?.targets;
  const verdicts = (result as { verdicts?: unknown } | null)?.verdicts;
  if (!Array.isArray(t) && Array.isArray(verdicts)) {
    // chat-overhead's shape: verdict groups, each with rows {target, mode, concurrency, pass, value}.
    const out: Target[] = [];
    for (const g of verdicts as { name?: unknown; target?: unknown; rows?: unknown }[]) {
      // Verdicts on diagnostic variants (e.g. the relay with D1 recording off) are not targets.
      if (g.target !== undefined && g.target !== "relay") continue;
      for (const row of Array.isArray(g?.rows) ? (g.rows as Record<string, unknown>[]) : []) {
        out.push({
          name: `${String(g.name ?? "")} — ${String(row.mode ?? "")}, concurrency ${String(row.concurrency ?? "")}`,
          met: row.pass === true,
          detail: String(row.value ?? ""),
        });
      }
    }
    return out;
  }
  if (!Array.isArray(t)) return [];
  return t
    .filter((x): x is { name: unknown; met: unknown; detail?: unknown } => typeof x === "object" && x !== null && "met" in x)
    .map((x) => ({ name: String(x.name), met: x.met === true, ...(x.detail !== undefined ? { detail: String(x.detail) } : {}) }));
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function readSummary(): Summary | null {
  try {
    return JSON.parse(readFileSync(SUMMARY, "utf8")) as Summary;
  } catch {
    return null;
  }
}

// ── Run ────────────────────────────────────────────────────────────────────────────────

const env = environment();
const previous = readSummary();
const parts: Record<string, PartEntry> = { ...(previous?.parts ?? {}) };
mkdirSync(RESULTS, { recursive: true });
let crashed = false;

for (const spec of PARTS) {
  if (!selected.has(spec.id)) continue;
  const started = Date.now();
  const ranAt = new Date(started).toISOString();
  console.error(`\n== ${spec.title} (bench/${spec.file}) ==`);
  try {
    const result = await spec.run({ quick, scale });
    writeAtomic(join(RESULTS, spec.resultFile), `${JSON.stringify(result, null, 2)}\n`);
    const targets = targetsOf(result);
    const md = spec.markdown(result);
    const status = targets.every((t) => t.met) ? "pass" : "fail";
    parts[spec.id] = entry(spec, status, null, ranAt, Date.now() - started, targets, spec.resultFile, md);
    console.error(`${spec.title}: ${status.toUpperCase()} (${targets.filter((t) => t.met).length}/${targets.length} targets met, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } catch (err) {
    crashed = true;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`${spec.title} crashed: ${message}`);
    parts[spec.id] = entry(spec, "error", message.split("\n")[0] ?? message, ranAt, Date.now() - started, [], null, `Crashed:\n\n\`\`\`\n${message.slice(0, 2000)}\n\`\`\``);
  }
}

// Parts never run through this runner but with a result file: render it with the part's own renderer.
for (const spec of PARTS) {
  if (parts[spec.id]) continue;
  const file = join(RESULTS, spec.resultFile);
  if (!existsSync(file)) continue;
  try {
    const result = JSON.parse(readFileSync(file, "utf8")) as unknown;
    const targets = targetsOf(result);
    parts[spec.id] = {
      ...entry(spec, targets.every((t) => t.met) ? "pass" : "fail", "rendered from an earlier bench/results file", "unknown", 0, targets, spec.resultFile, spec.markdown(result)),
      command: `node scripts/run-ts.mjs bench/${spec.file}`,
    };
  } catch {
    // unreadable: leave the section out
  }
}

function entry(spec: PartSpec, status: PartEntry["status"], message: string | null, ranAt: string, elapsedMs: number, targets: Target[], resultFile: string | null, markdown: string): PartEntry {
  return { id: spec.id, title: spec.title, status, message, command, ranAt, elapsedMs, targets, resultFile: resultFile ? `bench/results/${resultFile}` : null, markdown, environment: env };
}

const summary: Summary = { generatedAt: new Date().toISOString(), command, environment: env, parts };
writeAtomic(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
writeAtomic(DOC, renderDoc(summary));

const ran = PARTS.filter((p) => selected.has(p.id)).map((p) => parts[p.id]).filter((p): p is PartEntry => !!p);
console.error(
  `\n${ran.map((p) => `${p.title}: ${p.status.toUpperCase()}${p.message ? ` (${p.message})` : ""}`).join("\n")}`,
);
console.error(`wrote BENCHMARKS.md, bench/results/summary.json`);
const missed = ran.some((p) => p.status === "fail");
process.exit(crashed || (strict && missed) ? 1 : 0);

// ── BENCHMARKS.md ──────────────────────────────────────────────────────────────────────

function envLine(e: Environment): string {
  return `${e.cpu}, ${e.cores} cores, ${e.memoryGiB} GiB; Node ${e.node}, ${e.workerd}, wrangler ${e.wrangler}, miniflare ${e.miniflare}`;
}

function renderDoc(s: Summary): string {
  const e = s.environment;
  const L: string[] = [];
  L.push("# Benchmarks", "");
  L.push("Generated by `bench/index.ts`; do not edit by hand. Raw results: `bench/results/*.json`.", "");
  L.push(`- Machine: ${e.cpu}, ${e.cores} cores, ${e.memoryGiB} GiB memory`);
  L.push(`- Versions: Node ${e.node}, ${e.workerd}, wrangler ${e.wrangler}, miniflare ${e.miniflare}`);
  L.push(`- Last run: ${s.generatedAt} (\`${s.command}\`)`);
  L.push("- Reproduce everything: `npm run bench` (one part: `npm run bench -- --only live`; smaller: `--quick`; bigger: `--scale 2`)");
  L.push("");
  L.push("| part | result | targets met | ran at | time | command |", "|---|---|---:|---|---:|---|");
  for (const spec of PARTS) {
    const p = s.parts[spec.id];
    if (!p) {
      L.push(`| ${spec.title} | not run | — | — | — | — |`);
      continue;
    }
    const met = p.targets.filter((t) => t.met).length;
    L.push(`| [${p.title}](#${anchor(p.title)}) | **${p.status.toUpperCase()}** | ${p.targets.length ? `${met}/${p.targets.length}` : "—"} | ${p.ranAt} | ${p.elapsedMs ? `${(p.elapsedMs / 1000).toFixed(0)} s` : "—"} | \`${p.command}\` |`);
  }
  L.push("");
  for (const spec of PARTS) {
    const p = s.parts[spec.id];
    if (!p) continue;
    L.push(`## ${p.title}`, "");
    L.push(`What it measures: ${spec.what}. Source: \`bench/${spec.file}\`${p.resultFile ? `; raw result: \`${p.resultFile}\`` : ""}.`, "");
    const missed = p.targets.filter((t) => !t.met);
    const verdict =
      p.status === "pass"
        ? `**PASS** — all ${p.targets.length} targets met`
        : p.status === "fail"
          ? `**FAIL** — ${p.targets.length - missed.length}/${p.targets.length} targets met; missed: ${missed.length <= 4 ? missed.map((t) => t.name).join("; ") : "see below"}`
          : `**${p.status.toUpperCase()}** — ${p.message ?? ""}`;
    L.push(`Result: ${verdict}.`, "");
    if (p.targets.length) {
      // Long target lists (one per concurrency level…) are in the part's own report: list the missed ones.
      const shown = p.targets.length > 10 ? missed : p.targets;
      if (shown.length) {
        L.push(p.targets.length > 10 ? "Missed targets (all of them are in the report below):" : "Targets:", "");
        L.push("| target | met | detail |", "|---|---|---|");
        for (const t of shown) L.push(`| ${t.name.replace(/\|/g, "/")} | ${t.met ? "yes" : "**no**"} | ${(t.detail ?? "").replace(/\|/g, "/")} |`);
        L.push("");
      }
    }
    L.push(`Ran ${p.ranAt} with \`${p.command}\`${p.environment && envLine(p.environment) !== envLine(e) ? ` on ${envLine(p.environment)}` : ""}.`, "");
    L.push(demote(p.markdown), "");
  }
  return `${L.join("\n").trimEnd()}\n`;
}

/** Parts render their own headings; keep them below this document's section level. */
function demote(md: string): string {
  return md.replace(/^(#{1,2}) /gm, "### ");
}

function anchor(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-");
}
