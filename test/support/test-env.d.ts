import type { D1Migration } from "cloudflare:test";

// What tests see as `env`: the relay's bindings plus the test-only ones vitest.config.ts adds.
declare global {
  namespace Cloudflare {
    interface Env extends RelayBindings {
      TEST_MIGRATIONS: D1Migration[];
      /** The upstream simulator (tests only): its control API and recorded requests. */
      SIM: Fetcher;
    }
  }
}

export {};
