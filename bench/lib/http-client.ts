/**
 * A lean HTTP/1.1 client for load generation on Node's built-in `node:http` with a
 * keep-alive agent: cheaper per request than `fetch` (so the load generator steals less
 * CPU from the system under test) and it exposes each body chunk as it is read, with its
 * arrival time, for streaming measurements.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";

export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: "lifo" });
}

export interface HttpCall {
  agent: http.Agent;
  url: URL;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Keep the body text in the result (default true). */
  keepBody?: boolean;
  /** Called for every body chunk as it arrives; `at` is performance.now(). */
  onChunk?: (chunk: Buffer, at: number) => void;
  timeoutMs?: number;
}

export interface HttpOutcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  bytes: number;
  /** performance.now() values. */
  startedAt: number;
  headersAt: number;
  firstChunkAt: number | null;
  endedAt: number;
}

export function httpCall(call: HttpCall): Promise<HttpOutcome> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const body = call.body === undefined ? undefined : Buffer.isBuffer(call.body) ? call.body : Buffer.from(call.body);
    const headers: Record<string, string | number> = { ...call.headers };
    if (body) headers["content-length"] = body.length;
    const req = http.request(
      {
        agent: call.agent,
        host: call.url.hostname,
        port: call.url.port,
        path: `${call.url.pathname}${call.url.search}`,
        method: call.method ?? (body ? "POST" : "GET"),
        headers,
      },
      (res) => {
        const headersAt = performance.now();
        const keep = call.keepBody !== false;
        const parts: Buffer[] = [];
        let bytes = 0;
        let firstChunkAt: number | null = null;
        res.on("data", (chunk: Buffer) => {
          const at = performance.now();
          firstChunkAt ??= at;
          bytes += chunk.length;
          if (keep) parts.push(chunk);
          call.onChunk?.(chunk, at);
        });
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: keep ? Buffer.concat(parts).toString("utf8") : "",
            bytes,
            startedAt,
            headersAt,
            firstChunkAt,
            endedAt: performance.now(),
          });
        });
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("response aborted")));
      },
    );
    req.on("error", reject);
    if (call.timeoutMs) {
      req.setTimeout(call.timeoutMs, () => req.destroy(new Error(`timed out after ${call.timeoutMs} ms`)));
    }
    req.end(body);
  });
}
