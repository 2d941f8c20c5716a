import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import app from "../../src/index";
import { callJson } from "./helpers";

/**
 * Webhook API test helpers: a fresh receiver of the simulator per test, its control API,
 * and a way to run the relay under production URL rules (WEBHOOK_ALLOW_PRIVATE=false).
 */
export function uniqueHook(label = "hook"): string {
  return `${label}-${crypto.randomUUID()}`;
}

// The simulator's receivers, under the names these tests use.
export {
  configureReceiver as configureHook,
  received as receivedHooks,
  receiverUrl as hookUrl,
  type ReceivedDelivery as ReceivedHook,
  type ReceiverResponse as HookResponseSpec,
} from "./receiver";

export interface EndpointObject {
  id: string;
  object: "webhook_endpoint";
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
  secret?: string;
  previous_secret_expires_at?: string;
}

export interface AttemptObject {
  attempt: number;
  trigger: string;
  attempted_at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_snippet: string | null;
}

export interface DeliveryObject {
  id: string;
  object: "delivery";
  event_id: string;
  event_type: string;
  task_id: string | null;
  webhook_id: string | null;
  url: string;
  status: string;
  attempts_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  attempts: AttemptObject[];
}

export interface ListOf<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export async function createEndpoint(key: string, body: Record<string, unknown>): Promise<EndpointObject & { secret: string }> {
  const { status, body: out } = await callJson<EndpointObject & { secret: string }>("/v1/webhooks", { key, json: body });
  if (status !== 201) throw new Error(`POST /v1/webhooks answered ${status}: ${JSON.stringify(out)}`);
  return out;
}

/**
 * Calls the relay in-process with some bindings overridden (e.g. production URL rules).
 * The config is parsed per bindings object, so a new object gets a fresh parse.
 */
export async function callWithBindings(
  overrides: Record<string, string>,
  path: string,
  options: { key: string; method?: string; json?: unknown },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { authorization: `Bearer ${options.key}` };
  if (options.json !== undefined) headers["content-type"] = "application/json";
  const res = await app.request(
    `http://relay.test${path}`,
    {
      method: options.method ?? (options.json !== undefined ? "POST" : "GET"),
      headers,
      ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
    },
    { ...env, ...overrides },
    ctx,
  );
  const body = (await res.json()) as Record<string, unknown>;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body };
}
