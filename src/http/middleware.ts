import type { MiddlewareHandler } from "hono";
import { configOrError } from "../config/env";
import { ApiError } from "../errors/api-error";
import { sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import type { AppEnv } from "./app-env";

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/** Echoes the caller's x-request-id (when sane) or mints one; set on every response. */
export const requestId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const given = c.req.header("x-request-id");
  const id = given && REQUEST_ID_PATTERN.test(given) ? given : newId("req");
  c.set("requestId", id);
  await next();
  c.res.headers.set("x-request-id", id);
};

/** Parses the configuration once per isolate; a missing secret is a clear 500 on every route. */
export const withConfig: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("config", configOrError(c.env));
  await next();
};

/**
 * `Authorization: Bearer <key>`: the key is the caller's own upstream key. Only its shape
 * is checked here; whether the upstream accepts it is the upstream's call.
 */
export const requireCaller: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  if (!header) {
    throw new ApiError("unauthorized", "Missing Authorization header: send `Authorization: Bearer <your Yuanjing API key>`.", {
      detailCode: "missing_api_key",
    });
  }
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match?.[1]) {
    throw new ApiError("unauthorized", "Malformed Authorization header: expected `Bearer <your Yuanjing API key>`.", {
      detailCode: "invalid_authorization_header",
    });
  }
  const key = match[1];
  c.set("caller", { key, tenant: await sha256Hex(key) });
  await next();
};
