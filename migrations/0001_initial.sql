-- The relay's queryable index and log. The Durable Object of each task is the source of
-- truth for that task; these tables are what lists, usage reports and delivery logs read.
-- Every row belongs to one tenant (SHA-256 hex of the caller's upstream key).

-- One row per chat call (both chat routes).
CREATE TABLE chat_calls (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,               -- 'openai' | 'native'
  model TEXT NOT NULL,
  stream INTEGER NOT NULL,           -- 0 | 1
  status TEXT NOT NULL,              -- 'succeeded' | 'failed' | 'cancelled'
  http_status INTEGER,
  error TEXT,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  llmusageid TEXT,
  ttfb_ms INTEGER,
  total_ms INTEGER,
  created_at TEXT NOT NULL           -- ISO-8601 UTC
);
CREATE INDEX chat_calls_tenant_time ON chat_calls (tenant, created_at);

-- One row per video task; written by the task's Durable Object on every change.
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  upstream_taskid TEXT,
  source TEXT NOT NULL,              -- 'v1' | 'native' | 'watch'
  model TEXT,
  llmid TEXT,
  mode TEXT,
  status TEXT NOT NULL,              -- queued | running | succeeded | failed | expired
  upstream_status TEXT,
  video_url TEXT,
  cover_url TEXT,
  usage_json TEXT,
  credits REAL,
  error_json TEXT,
  metadata_json TEXT NOT NULL DEFAULT '{}',
  webhooks_json TEXT NOT NULL DEFAULT '[]',
  timing_json TEXT,                  -- observed status-change windows, for the poll schedule
  polls INTEGER NOT NULL DEFAULT 0,   -- upstream status polls made for this task
  d1_writes INTEGER NOT NULL DEFAULT 0, -- D1 statements the task's object has run (cost accounting)
  version INTEGER NOT NULL DEFAULT 0, -- the DO's change counter: stale writes never win
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  completed_at TEXT
);
CREATE INDEX tasks_tenant_time ON tasks (tenant, created_at DESC, id DESC);
CREATE INDEX tasks_tenant_upstream ON tasks (tenant, upstream_taskid);
-- What the poll schedule learns from: a model's recently succeeded tasks. Partial, so the
-- other status changes of a task do not write to it.
CREATE INDEX tasks_model_completed ON tasks (llmid, completed_at) WHERE status = 'succeeded';

-- Idempotency-Key records for the submission routes (24 h per tenant).
CREATE TABLE idempotency_keys (
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  route TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  state TEXT NOT NULL,               -- 'pending' | 'done'
  status_code INTEGER,
  response_json TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  PRIMARY KEY (tenant, key)
);

-- The tenant's default signing secret (webhooks given on a task), sealed.
CREATE TABLE tenant_secrets (
  tenant TEXT PRIMARY KEY,
  secret_sealed TEXT NOT NULL,
  previous_secret_sealed TEXT,
  previous_expires_at TEXT,
  created_at TEXT NOT NULL,
  rotated_at TEXT
);

-- Account-level webhook endpoints.
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  url TEXT NOT NULL,
  description TEXT,
  events_json TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  secret_sealed TEXT NOT NULL,
  previous_secret_sealed TEXT,
  previous_expires_at TEXT,
  disabled_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, created_at DESC);

-- One row per (event, destination); attempts below.
CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  task_id TEXT,
  endpoint_id TEXT,                  -- null for a webhook given on the task
  url TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT NOT NULL,              -- pending | succeeded | failed | gone
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  last_status_code INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX deliveries_task ON deliveries (tenant, task_id, created_at DESC);
CREATE INDEX deliveries_endpoint ON deliveries (tenant, endpoint_id, created_at DESC);

CREATE TABLE delivery_attempts (
  id TEXT PRIMARY KEY,
  delivery_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  trigger TEXT NOT NULL,             -- 'schedule' | 'redeliver' | 'test'
  attempted_at TEXT NOT NULL,
  status_code INTEGER,
  duration_ms INTEGER NOT NULL,
  error TEXT,
  response_snippet TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempted_at);
