/**
 * The Yuanjing upstream simulator: a worker of its own that answers the upstream's API
 * (chat, video submission, task status, result files) plus webhook receivers and a
 * control API. It routes by path only, never by host, because in tests it receives every
 * outbound fetch of the relay whatever host the relay aimed at (upstream.sim, hooks.sim…).
 * All state is module memory: one isolate serves all requests (see README.md).
 */
import { handleChat } from "./chat";
import { handleControl } from "./control";
import { handleHookDelivery, handleHookList, handleHookRead } from "./hooks";
import { bearerKey, controlJson, upstreamJson } from "./http";
import { handleIdfile } from "./media";
import { getScope, record } from "./state";
import { handleTasks } from "./tasks";
import { handleVideo } from "./video";

function methodNotAllowed(): Response {
  return upstreamJson({ error: "Method Not Allowed" }, 405);
}

async function dispatch(request: Request, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
  const method = request.method;

  if (path === "/llmage/v1/chat/completions") return method === "POST" ? handleChat(request, url, ctx) : methodNotAllowed();
  if (path === "/llmage/video") return method === "POST" ? handleVideo(request, url) : methodNotAllowed();
  if (path === "/llmage/tasks") {
    return method === "GET" || method === "POST" ? handleTasks(request, url) : methodNotAllowed();
  }
  if (path === "/idfile") {
    if (method !== "GET" && method !== "HEAD") return methodNotAllowed();
    const scope = getScope(bearerKey(request));
    const rec = record(scope, "idfile", request, url);
    const response = handleIdfile(url);
    rec.status = response.status;
    rec.finishedAt = Date.now();
    return response;
  }
  if (path === "/hooks" && method === "GET") return handleHookList();
  if (path.startsWith("/hooks/")) {
    const name = decodeURIComponent(path.slice("/hooks/".length));
    if (!name) return handleHookList();
    if (method === "GET") return handleHookRead(name);
    return handleHookDelivery(request, url, name);
  }
  if (path === "/__sim" || path.startsWith("/__sim/")) return handleControl(request, url);
  if (path === "/" && method === "GET") {
    return controlJson({ simulator: "yuanjing-upstream-sim", docs: "sim/README.md", control: "/__sim" });
  }
  return upstreamJson({ error: "Not Found" }, 404);
}

export default {
  async fetch(request: Request, _env: unknown, ctx: ExecutionContext): Promise<Response> {
    try {
      return await dispatch(request, ctx);
    } catch (err) {
      // A simulator bug should read as one, not as an upstream fault the relay retries on.
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return new Response(JSON.stringify({ error: "simulator error", detail: message }), {
        status: 500,
        headers: { "content-type": "application/json", "x-sim-error": "1" },
      });
    }
  },
};
