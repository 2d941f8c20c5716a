import { createRoute, z } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import { createRouter } from "../http/router";

export const SERVICE_VERSION = "0.1.0";

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness (no auth)",
  responses: {
    200: {
      description: "The relay is up.",
      content: {
        "application/json": {
          schema: z.object({ status: z.literal("ok"), version: z.string(), time: z.string() }).openapi("Health"),
        },
      },
    },
  },
});

export const opsRoutes = createRouter();

opsRoutes.openapi(health, (c) => c.json({ status: "ok" as const, version: SERVICE_VERSION, time: new Date().toISOString() }, 200));

// The page loads Swagger UI's assets from a CDN; /openapi.json itself is served offline.
opsRoutes.get("/docs", swaggerUI({ url: "/openapi.json", title: "Yuanjing edge relay API" }));
