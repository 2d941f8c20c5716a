import { env } from "cloudflare:test";

/** The simulator's webhook receivers, as tests use them. */
export interface ReceivedDelivery {
  webhookId: string | null;
  webhookTimestamp: string | null;
  signatures: string[];
  verified: boolean | null;
  matchedSecrets: number[];
  body: string;
  json?: unknown;
  headers: Record<string, string>;
  status: number | null;
}

export function receiverUrl(name: string): string {
  return `http://hooks.sim/hooks/${encodeURIComponent(name)}`;
}

export interface ReceiverResponse {
  status: number;
  retryAfter?: number | string;
  delayMs?: number;
  body?: unknown;
}

export async function configureReceiver(name: string, config: { secrets?: string[]; responses?: ReceiverResponse[] }): Promise<void> {
  const res = await env.SIM.fetch(`http://upstream.sim/__sim/hooks/${encodeURIComponent(name)}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(config),
  });
  if (!res.ok) throw new Error(`receiver config failed: ${res.status} ${await res.text()}`);
}

export async function received(name: string): Promise<ReceivedDelivery[]> {
  const res = await env.SIM.fetch(`http://upstream.sim/hooks/${encodeURIComponent(name)}`);
  const body = (await res.json()) as { deliveries: ReceivedDelivery[] };
  return body.deliveries;
}
