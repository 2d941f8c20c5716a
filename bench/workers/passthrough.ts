/**
 * The bare pass-through worker: `fetch(upstream)` and return the response as it comes.
 * No parsing, no auth, no recording — the floor for any relay on this runtime, so the
 * relay's own cost is what it adds on top of this.
 *
 *   UPSTREAM_BASE_URL  e.g. http://127.0.0.1:8788 (the request's path and query are kept)
 */
interface Env {
  UPSTREAM_BASE_URL: string;
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    return fetch(`${env.UPSTREAM_BASE_URL}${url.pathname}${url.search}`, request);
  },
} satisfies ExportedHandler<Env>;
