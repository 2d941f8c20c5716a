// Bindings of the relay worker, as wrangler.toml and .dev.vars declare them. Values are
// strings as wrangler delivers them; src/config/env.ts parses and checks them once.
declare global {
  interface RelayBindings {
    DB: D1Database;
    TASKS: DurableObjectNamespace<import("./src/tasks/task-tracker").TaskTracker>;
    UPSTREAM_BASE_URL?: string;
    KEY_ENCRYPTION_SECRET?: string;
    CHAT_MODELS?: string;
    SSE_KEEPALIVE_MS?: string;
    POLL_MIN_INTERVAL_MS?: string;
    POLL_MAX_INTERVAL_MS?: string;
    TASK_DEADLINE_S?: string;
    UPSTREAM_TIMEOUT_MS?: string;
    WEBHOOK_TIMEOUT_MS?: string;
    WEBHOOK_RETRY_SCHEDULE?: string;
    WEBHOOK_ALLOW_PRIVATE?: string;
  }
}

export {};
