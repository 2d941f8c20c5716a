/**
 * The one error type of the service. Everything that can go wrong for a caller is an
 * ApiError with a code; `status` and `type` are derived from the code in one exhaustive
 * switch so the HTTP status and the OpenAI `type` never drift apart (docs/API.md).
 */
export type ErrorCode =
  | "invalid_request" // 400
  | "unauthorized" // 401
  | "not_found" // 404
  | "method_not_allowed" // 405
  | "conflict" // 409
  | "payload_too_large" // 413
  | "unsupported_media_type" // 415
  | "unprocessable" // 422
  | "insufficient_quota" // 429, upstream "Insufficient balance"
  | "rate_limited" // 429
  | "internal" // 500
  | "upstream_error" // 502
  | "upstream_timeout"; // 504

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "insufficient_quota"
  | "rate_limit_error"
  | "upstream_error"
  | "server_error";

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string };
}

export function describeCode(code: ErrorCode): { status: number; type: ErrorType } {
  switch (code) {
    case "invalid_request":
      return { status: 400, type: "invalid_request_error" };
    case "unauthorized":
      return { status: 401, type: "authentication_error" };
    case "not_found":
      return { status: 404, type: "invalid_request_error" };
    case "method_not_allowed":
      return { status: 405, type: "invalid_request_error" };
    case "conflict":
      return { status: 409, type: "invalid_request_error" };
    case "payload_too_large":
      return { status: 413, type: "invalid_request_error" };
    case "unsupported_media_type":
      return { status: 415, type: "invalid_request_error" };
    case "unprocessable":
      return { status: 422, type: "invalid_request_error" };
    case "insufficient_quota":
      return { status: 429, type: "insufficient_quota" };
    case "rate_limited":
      return { status: 429, type: "rate_limit_error" };
    case "internal":
      return { status: 500, type: "server_error" };
    case "upstream_error":
      return { status: 502, type: "upstream_error" };
    case "upstream_timeout":
      return { status: 504, type: "upstream_error" };
  }
}

export interface ApiErrorOptions {
  /** The request field at fault, e.g. `duration` or `first_frame`. */
  param?: string | null;
  /** Overrides the HTTP status (used to keep an upstream's own status, e.g. 403). */
  status?: number;
  /** Overrides the machine-readable `code` string in the body (defaults to the ErrorCode). */
  detailCode?: string;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly status: number;
  readonly type: ErrorType;
  readonly detailCode: string;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    const described = describeCode(code);
    this.code = code;
    this.param = options.param ?? null;
    this.status = options.status ?? described.status;
    this.type = described.type;
    this.detailCode = options.detailCode ?? code;
  }

  toBody(): ErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.detailCode },
    };
  }

  toResponse(headers?: HeadersInit): Response {
    const h = new Headers(headers);
    h.set("content-type", "application/json; charset=utf-8");
    return new Response(JSON.stringify(this.toBody()), { status: this.status, headers: h });
  }
}

/** Shorthand for the most common refusal: a 400 naming the field at fault. */
export function invalidParam(param: string, message: string): ApiError {
  return new ApiError("invalid_request", message, { param });
}
