// Runs a TypeScript entry point on Node 20, which cannot run TS itself: esbuild bundles
// it (dependencies stay external, resolved from node_modules as usual) and the bundle is
// imported with the remaining arguments passed through.
//   node scripts/run-ts.mjs bench/polling-economy.ts [args...]
import { build } from "esbuild";
import { mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [entryArg, ...args] = process.argv.slice(2);
if (!entryArg) {
  console.error("usage: node scripts/run-ts.mjs <entry.ts> [args...]");
  process.exit(2);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const entry = resolve(entryArg);
const outDir = join(root, "node_modules", ".cache", "run-ts");
mkdirSync(outDir, { recursive: true });
// One file per run, so two runs of the same entry cannot overwrite each other's bundle.
const outfile = join(outDir, `${basename(entry).replace(/\.[cm]?tsx?$/, "")}-${process.pid}.mjs`);

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
});
process.setSourceMapsEnabled(true);
// Also on process.exit() from the entry, which skips any finally here.
process.on("exit", () => rmSync(outfile, { force: true }));
// The entry sees itself as argv[1], as if Node had run it directly.
process.argv = [process.argv[0] ?? "node", entry, ...args];
await import(pathToFileURL(outfile).href);
