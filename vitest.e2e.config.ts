import { defineConfig } from "vitest/config";

/**
 * End-to-end tests in Node: the real local server (relay + simulator under `wrangler dev`,
 * started the way `npm start` starts them) driven by real clients — the official `openai`
 * SDK, and webhook receivers verified with `standardwebhooks` and `svix`.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One server for every file; files run one after another so timings stay honest.
    fileParallelism: false,
  },
});
