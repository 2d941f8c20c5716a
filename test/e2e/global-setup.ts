import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
// @ts-expect-error -- a plain .mjs module shared with `npm start`
import { startStack } from "../../scripts/local-stack.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    relayUrl: string;
    simUrl: string;
    /** POST {controlUrl}/restart-relay restarts the relay process on the same state. */
    controlUrl: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Stack {
  relayUrl: string;
  simUrl: string;
  restartRelay(): Promise<void>;
  stop(): Promise<void>;
}

let stack: Stack | undefined;
let stateDir: string | undefined;

export default async function setup(project: TestProject) {
  stateDir = mkdtempSync(join(tmpdir(), "relay-e2e-"));
  const relayPort = await freePort();
  const simPort = await freePort();
  const lines: string[] = [];
  try {
    stack = (await startStack({
      relayPort,
      simPort,
      persistTo: stateDir,
      vars: {
        KEY_ENCRYPTION_SECRET: "e2e-secret-e2e-secret-e2e-secret-0123456789",
        // Short schedules so whole task lifecycles and retries fit in a test.
        POLL_MIN_INTERVAL_MS: "250",
        POLL_MAX_INTERVAL_MS: "1000",
        WEBHOOK_RETRY_SCHEDULE: "1,1,1,1",
        WEBHOOK_TIMEOUT_MS: "3000",
        SSE_KEEPALIVE_MS: "1000",
      },
      // Quiet dev servers: the tests measure timing (no-buffering), not wrangler's logging.
      env: { WRANGLER_LOG: "warn", VSCODE_INSPECTOR_OPTIONS: "{}" },
      log: (line: string) => lines.push(line),
    })) as Stack;
  } catch (err) {
    console.error(lines.slice(-40).join("\n"));
    throw err;
  }
  project.provide("relayUrl", stack.relayUrl);
  project.provide("simUrl", stack.simUrl);
  // Test files run in worker processes; they ask this process to restart the relay.
  const control = createHttpServer((req, res) => {
    if (req.method === "POST" && req.url === "/restart-relay" && stack) {
      stack.restartRelay().then(
        () => res.writeHead(204).end(),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end();
  });
  const controlPort = await new Promise<number>((resolve) => {
    control.listen(0, "127.0.0.1", () => {
      const address = control.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });
  project.provide("controlUrl", `http://127.0.0.1:${controlPort}`);
  return async () => {
    control.close();
    await stack?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
}
