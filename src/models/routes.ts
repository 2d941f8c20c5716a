import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "../http/openapi";
import { createRouter } from "../http/router";
import { listVideoModels } from "./video-models";

const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.number().int(),
    owned_by: z.string(),
    kind: z.enum(["chat", "video"]),
    llmid: z.string().nullable(),
    llmids: z.array(z.string()).optional(),
    modes: z.array(z.enum(["t2v", "i2v", "r2v"])),
    provider: z.string().nullable(),
  })
  .openapi("Model");

const modelsRoute = createRoute({
  method: "get",
  path: "/v1/models",
  tags: ["Models"],
  summary: "Chat models (CHAT_MODELS) and every video model of the catalog",
  security: bearerSecurity,
  responses: {
    200: {
      description: "OpenAI list of models",
      content: { "application/json": { schema: z.object({ object: z.literal("list"), data: z.array(ModelSchema) }).openapi("ModelList") } },
    },
    ...errorResponses(401),
  },
});

// A fixed `created` keeps the list stable between calls; the upstream publishes no dates.
const CREATED = 1_767_225_600; // 2026-01-01

export const modelRoutes = createRouter();

modelRoutes.openapi(modelsRoute, (c) => {
  const chat = c.get("config").chatModels.map((id) => ({
    id,
    object: "model" as const,
    created: CREATED,
    owned_by: "yuanjing",
    kind: "chat" as const,
    llmid: null,
    modes: [] as Array<"t2v" | "i2v" | "r2v">,
    provider: null,
  }));
  const video = listVideoModels().map((m) => ({
    id: m.id,
    object: "model" as const,
    created: CREATED,
    owned_by: m.provider,
    kind: "video" as const,
    llmid: m.llmids[0] ?? null,
    llmids: m.llmids,
    modes: m.modes,
    provider: m.provider,
  }));
  return c.json({ object: "list" as const, data: [...chat, ...video] }, 200);
});
