import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/errors/api-error";
import { toApiError } from "../../../src/http/errors";

describe("the one error model", () => {
  it("shows an unexpected exception as a generic 500 server_error, without its internals", () => {
    const error = toApiError(new TypeError("cannot read properties of undefined (reading 'secret')"));
    expect(error.status).toBe(500);
    expect(error.toBody().error).toMatchObject({ type: "server_error", param: null, code: "internal" });
    expect(error.message).not.toContain("secret");
  });

  it("maps Hono's malformed-JSON exception to a 400 invalid_request_error", () => {
    const error = toApiError(new HTTPException(400, { message: "Malformed JSON in request body" }));
    expect(error.status).toBe(400);
    expect(error.toBody().error.type).toBe("invalid_request_error");
  });

  it.each([
    ["invalid_request", 400, "invalid_request_error"],
    ["unauthorized", 401, "authentication_error"],
    ["not_found", 404, "invalid_request_error"],
    ["conflict", 409, "invalid_request_error"],
    ["payload_too_large", 413, "invalid_request_error"],
    ["unsupported_media_type", 415, "invalid_request_error"],
    ["unprocessable", 422, "invalid_request_error"],
    ["insufficient_quota", 429, "insufficient_quota"],
    ["rate_limited", 429, "rate_limit_error"],
    ["internal", 500, "server_error"],
    ["upstream_error", 502, "upstream_error"],
    ["upstream_timeout", 504, "upstream_error"],
  ] as const)("%s → HTTP %i, type %s", (code, status, type) => {
    const error = new ApiError(code, "m", { param: "p" });
    expect(error.status).toBe(status);
    expect(error.toBody()).toEqual({ error: { message: "m", type, param: "p", code } });
  });
});
