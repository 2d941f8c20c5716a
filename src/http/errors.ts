import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { ApiError } from "../errors/api-error";
import type { AppEnv } from "./app-env";

/**
 * Every failure leaves the service through here, as the contract's OpenAI-shaped error.
 * Unexpected exceptions are logged with the request id (never the key) and shown as a
 * generic 500 so internals don't leak.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    // Hono raises these for malformed JSON bodies and the like.
    const message = /malformed json/i.test(err.message)
      ? "Malformed JSON in request body."
      : err.message || "Invalid request.";
    const code = err.status === 404 ? "not_found" : err.status === 413 ? "payload_too_large" : "invalid_request";
    return new ApiError(code, message, { status: err.status >= 400 && err.status < 500 ? err.status : 400 });
  }
  return new ApiError("internal", "The relay hit an unexpected error. It has been logged; retrying may help.", {
    cause: err,
  });
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const apiError = toApiError(err);
  if (apiError.status >= 500 && apiError.code === "internal") {
    console.error(
      JSON.stringify({
        level: "error",
        request_id: c.get("requestId"),
        route: `${c.req.method} ${c.req.routePath}`,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      }),
    );
  }
  const res = apiError.toResponse();
  const id = c.get("requestId");
  if (id) res.headers.set("x-request-id", id);
  return res;
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  new ApiError("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`, {
    detailCode: "unknown_route",
  }).toResponse();

/** Turns a zod failure into a 400 naming the first offending field. */
export function zodToApiError(error: ZodError, prefix?: string): ApiError {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  const param = prefix && path ? `${prefix}.${path}` : path || prefix || null;
  const message = issue ? (path ? `Invalid ${path}: ${issue.message}` : issue.message) : "Invalid request.";
  return new ApiError("invalid_request", message, { param });
}

/** The defaultHook of every OpenAPIHono router: validation failures become contract errors. */
export function validationHook(result: { success: true } | { success: false; error: ZodError }): void {
  if (!result.success) throw zodToApiError(result.error);
}
