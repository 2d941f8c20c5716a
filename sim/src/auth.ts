/**
 * Key conventions: the key itself says how the upstream should treat it, so a test picks
 * an auth outcome just by choosing a key (no setup call, nothing shared between tests).
 */
import { upstreamJson } from "./http";

export function authFailure(key: string): Response | null {
  const lower = key.toLowerCase();
  if (!key || lower.includes("invalid")) return upstreamJson({ error: "Invalid API Key" }, 401);
  // The page documents 401; the upstream's code answers 403 when it cannot find the user.
  if (lower.includes("forbidden")) return upstreamJson({ error: "Forbidden" }, 403);
  if (lower.includes("nobalance")) return upstreamJson({ error: "Insufficient balance" }, 429);
  return null;
}
