import { z } from "zod";
import { ApiError } from "../errors/api-error";
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from "../webhooks/retry-schedule";

/**
 * The relay's configuration (docs/API.md), parsed and checked in one place. Wrangler
 * delivers every var as a string; here they become typed values with defaults, and a
 * missing or unusable setting fails loudly with a message naming it, instead of as a
 * crash deep in a handler.
 */
const intFromString = (name: string, fallback: number, min: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) {
        ctx.addIssue({ code: "custom", message: `${name} must be an integer ≥ ${min}, got "${value}"` });
        return z.NEVER;
      }
      return n;
    });

const retrySchedule = (name: string) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      const text = value === undefined || value.trim() === "" ? DEFAULT_RETRY_SCHEDULE : value;
      try {
        return parseRetrySchedule(text);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `${name}: ${err instanceof Error ? err.message : String(err)}` });
        return z.NEVER;
      }
    });

const ConfigSchema = z
  .object({
    UPSTREAM_BASE_URL: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const text = value && value.trim() !== "" ? value.trim() : "https://opencomputing.ai";
        try {
          const url = new URL(text);
          if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("scheme");
          return text.replace(/\/+$/, "");
        } catch {
          ctx.addIssue({ code: "custom", message: `UPSTREAM_BASE_URL must be an http(s) URL, got "${text}"` });
          return z.NEVER;
        }
      }),
    KEY_ENCRYPTION_SECRET: z
      .string({ message: "KEY_ENCRYPTION_SECRET is not set (wrangler secret put KEY_ENCRYPTION_SECRET; .dev.vars locally)" })
      .min(32, "KEY_ENCRYPTION_SECRET must be at least 32 characters"),
    CHAT_MODELS: z
      .string()
      .optional()
      .transform((value) =>
        (value && value.trim() !== "" ? value : "qwen3-max")
          .split(",")
          .map((m) => m.trim())
          .filter((m) => m !== ""),
      ),
    SSE_KEEPALIVE_MS: intFromString("SSE_KEEPALIVE_MS", 15_000, 1),
    POLL_MIN_INTERVAL_MS: intFromString("POLL_MIN_INTERVAL_MS", 2_000, 1),
    POLL_MAX_INTERVAL_MS: intFromString("POLL_MAX_INTERVAL_MS", 30_000, 1),
    TASK_DEADLINE_S: intFromString("TASK_DEADLINE_S", 172_800, 1),
    UPSTREAM_TIMEOUT_MS: intFromString("UPSTREAM_TIMEOUT_MS", 10_000, 1),
    WEBHOOK_TIMEOUT_MS: intFromString("WEBHOOK_TIMEOUT_MS", 15_000, 1),
    WEBHOOK_RETRY_SCHEDULE: retrySchedule("WEBHOOK_RETRY_SCHEDULE"),
    WEBHOOK_ALLOW_PRIVATE: z
      .string()
      .optional()
      .transform((value) => value?.trim().toLowerCase() === "true"),
  })
  .refine((c) => c.POLL_MIN_INTERVAL_MS <= c.POLL_MAX_INTERVAL_MS, {
    message: "POLL_MIN_INTERVAL_MS must not exceed POLL_MAX_INTERVAL_MS",
  });

export interface RelayConfig {
  upstreamBaseUrl: string;
  keyEncryptionSecret: string;
  chatModels: string[];
  sseKeepAliveMs: number;
  pollMinIntervalMs: number;
  pollMaxIntervalMs: number;
  taskDeadlineMs: number;
  /** Per task-status poll; a poll that takes longer counts as "try again later". */
  upstreamTimeoutMs: number;
  webhookTimeoutMs: number;
  webhookRetryScheduleMs: number[];
  webhookAllowPrivate: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

// Parsing is pure but runs on every request; the bindings object is stable per isolate,
// so the parsed result is kept beside it.
const cache = new WeakMap<object, RelayConfig>();

export function loadConfig(env: RelayBindings): RelayConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => i.message).join("; ");
    throw new ConfigError(`Relay misconfigured: ${problems}`);
  }
  const c = parsed.data;
  const config: RelayConfig = {
    upstreamBaseUrl: c.UPSTREAM_BASE_URL,
    keyEncryptionSecret: c.KEY_ENCRYPTION_SECRET,
    chatModels: c.CHAT_MODELS,
    sseKeepAliveMs: c.SSE_KEEPALIVE_MS,
    pollMinIntervalMs: c.POLL_MIN_INTERVAL_MS,
    pollMaxIntervalMs: c.POLL_MAX_INTERVAL_MS,
    taskDeadlineMs: c.TASK_DEADLINE_S * 1000,
    upstreamTimeoutMs: c.UPSTREAM_TIMEOUT_MS,
    webhookTimeoutMs: c.WEBHOOK_TIMEOUT_MS,
    webhookRetryScheduleMs: c.WEBHOOK_RETRY_SCHEDULE,
    webhookAllowPrivate: c.WEBHOOK_ALLOW_PRIVATE,
  };
  cache.set(env, config);
  return config;
}

/** For request handlers: a misconfiguration becomes a clear 500 naming the setting. */
export function configOrError(env: RelayBindings): RelayConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ApiError("internal", err.message, { detailCode: "relay_misconfigured" });
    throw err;
  }
}
