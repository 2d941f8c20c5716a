import { listVideoModels as catalogListing } from "../videos/catalog";

/** Video models for GET /v1/models: one per model name, folded from the catalog's rows. */
export interface VideoModelSummary {
  id: string;
  provider: string;
  llmids: string[];
  modes: Array<"t2v" | "i2v" | "r2v">;
}

export function listVideoModels(): VideoModelSummary[] {
  const byName = new Map<string, VideoModelSummary>();
  for (const row of catalogListing()) {
    if (!row.enabled) continue;
    const summary = byName.get(row.id) ?? { id: row.id, provider: row.provider, llmids: [], modes: [] };
    if (!summary.llmids.includes(row.llmid)) summary.llmids.push(row.llmid);
    for (const mode of row.modes) if (!summary.modes.includes(mode)) summary.modes.push(mode);
    byName.set(row.id, summary);
  }
  return [...byName.values()];
}
