import { applyD1Migrations, env } from "cloudflare:test";

// Runs before each test file; applyD1Migrations only applies what is not applied yet.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
