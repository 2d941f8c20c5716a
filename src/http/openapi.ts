import { z } from "@hono/zod-openapi";

/** Shared OpenAPI pieces: the error body every route may answer with. */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.enum([
        "invalid_request_error",
        "authentication_error",
        "insufficient_quota",
        "rate_limit_error",
        "upstream_error",
        "server_error",
      ]),
      param: z.string().nullable(),
      code: z.string(),
    }),
  })
  .openapi("Error");

const errorContent = { "application/json": { schema: ErrorBodySchema } };

const descriptions: Record<number, string> = {
  400: "Invalid request (the `param` names the field).",
  401: "Missing or malformed key, or the upstream refused it.",
  404: "Not found (or owned by another key).",
  409: "Conflict (e.g. an Idempotency-Key reused with another body).",
  413: "Upload too large.",
  415: "Unsupported media type.",
  429: "Upstream rate limit or insufficient balance.",
  502: "The upstream failed.",
  504: "The upstream timed out.",
};

export function errorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: typeof errorContent }> = {};
  for (const status of statuses) out[status] = { description: descriptions[status] ?? "Error", content: errorContent };
  return out;
}

export const bearerSecurity = [{ bearerAuth: [] }];

export const ListMetaShape = {
  object: z.literal("list"),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
};
