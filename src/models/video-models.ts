/** Video models for GET /v1/models, one per model name, folded from the catalog's rows. */
export interface VideoModelSummary {
  id: string;
  provider: string;
  llmids: string[];
  modes: Array<"t2v" | "i2v" | "r2v">;
}

export function listVideoModels(): VideoModelSummary[] {
  return [];
}
