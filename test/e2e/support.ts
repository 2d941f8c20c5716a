import { inject } from "vitest";

export { eventually } from "../support/eventually";

/** Shared bits of the end-to-end tests: where the stack listens and the simulator's control API. */
export const relayUrl = () => inject("relayUrl");
export const simUrl = () => inject("simUrl");

export function uniqueKey(label = "e2e"): string {
  return `sk-${label}-${crypto.randomUUID()}`;
}

export async function sim(path: string, init?: { method?: string; json?: unknown }): Promise<unknown> {
  const res = await fetch(`${simUrl()}${path}`, {
    method: init?.method ?? (init?.json !== undefined ? "POST" : "GET"),
    ...(init?.json !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(init.json) } : {}),
  });
  if (!res.ok) throw new Error(`simulator ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

export interface SimRequest {
  route: string;
  cancelled: boolean;
  sentText?: string;
  sentChunks?: number;
  receivedAt: number;
  finishedAt: number | null;
}

export async function simRequests(key: string, route: string): Promise<SimRequest[]> {
  const body = (await sim(`/__sim/requests?key=${encodeURIComponent(key)}&route=${route}`)) as { requests?: SimRequest[] } | SimRequest[];
  return Array.isArray(body) ? body : (body.requests ?? []);
}


export async function restartRelay(): Promise<void> {
  const res = await fetch(`${inject("controlUrl")}/restart-relay`, { method: "POST" });
  if (!res.ok) throw new Error(`restart failed: ${await res.text()}`);
}
