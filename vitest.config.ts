import { existsSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { build } from "esbuild";
import { defineConfig } from "vitest/config";

/**
 * Tests in workerd: unit tests of pure modules and integration tests against the real
 * relay worker (SELF), real local D1 and Durable Objects. The upstream is the project's
 * own simulator (sim/), run as an auxiliary worker; every outbound fetch of the relay
 * (upstream calls and webhook deliveries alike) is routed to it, so nothing leaves the
 * machine and the simulator sees exactly what the relay sends.
 */
const SIM_ENTRY = "sim/src/index.ts";
const SIM_BUNDLE = ".wrangler/test/sim.js";

async function bundleSimulator(): Promise<boolean> {
  if (!existsSync(SIM_ENTRY)) return false;
  // Auxiliary workers are not transformed by Vite, so the simulator is bundled first.
  await build({
    entryPoints: [SIM_ENTRY],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: SIM_BUNDLE,
    logLevel: "warning",
  });
  return true;
}

export default defineConfig({
  plugins: [
    cloudflareTest(async () => {
      const hasSim = await bundleSimulator();
      const migrations = await readD1Migrations("migrations");
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            KEY_ENCRYPTION_SECRET: "test-secret-test-secret-test-secret-0123456789",
            UPSTREAM_BASE_URL: "http://upstream.sim",
            WEBHOOK_ALLOW_PRIVATE: "true",
            SSE_KEEPALIVE_MS: "1000",
            UPSTREAM_TIMEOUT_MS: "1500",
            WEBHOOK_TIMEOUT_MS: "1500",
          },
          ...(hasSim
            ? {
                outboundService: "upstream-sim",
                serviceBindings: { SIM: "upstream-sim" },
                workers: [
                  {
                    name: "upstream-sim",
                    modules: true,
                    scriptPath: SIM_BUNDLE,
                    compatibilityDate: "2026-04-20",
                    compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
                  },
                ],
              }
            : {}),
        },
      };
    }),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    setupFiles: ["test/support/apply-migrations.ts"],
    testTimeout: 30_000,
  },
});
