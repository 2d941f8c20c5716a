import { createRoute, z } from "@hono/zod-openapi";
import { invalidParam } from "../errors/api-error";
import { bearerSecurity, errorResponses } from "../http/openapi";
import { createRouter } from "../http/router";
import { chatUsage, videoUsage } from "./storage";

const DAY_MS = 86_400_000;

const UsageQuerySchema = z.object({
  from: z.string().optional().openapi({ description: "Start (ISO date or time, inclusive). Default: 30 days ago.", example: "2026-11-01" }),
  to: z.string().optional().openapi({ description: "End (ISO date or time, exclusive; a bare date includes that day). Default: now.", example: "2026-11-30" }),
});

const Totals = z.object({ calls: z.number(), failed: z.number(), prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() });
const VideoTotals = z.object({ tasks: z.number(), succeeded: z.number(), failed: z.number(), credits: z.number(), seconds: z.number() });

const UsageReportSchema = z
  .object({
    object: z.literal("usage"),
    from: z.string(),
    to: z.string(),
    chat: z.object({
      totals: Totals,
      by_model: z.array(Totals.extend({ model: z.string() })),
      by_day: z.array(Totals.extend({ day: z.string() })),
    }),
    video: z.object({
      totals: VideoTotals,
      by_model: z.array(VideoTotals.extend({ model: z.string() })),
      by_day: z.array(VideoTotals.extend({ day: z.string() })),
    }),
  })
  .openapi("UsageReport");

const usageRoute = createRoute({
  method: "get",
  path: "/v1/usage",
  tags: ["Usage"],
  summary: "The caller's chat and video usage, totals by model and by day",
  security: bearerSecurity,
  request: { query: UsageQuerySchema },
  responses: {
    200: { description: "Usage report", content: { "application/json": { schema: UsageReportSchema } } },
    ...errorResponses(400, 401),
  },
});

function parseBound(value: string | undefined, param: string, fallback: number, endOfDay: boolean): Date {
  if (value === undefined || value === "") return new Date(fallback);
  const bareDate = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = new Date(bareDate ? `${value}T00:00:00.000Z` : value);
  if (Number.isNaN(date.getTime())) throw invalidParam(param, `${param} must be an ISO-8601 date or time, e.g. 2026-11-01.`);
  return bareDate && endOfDay ? new Date(date.getTime() + DAY_MS) : date;
}

/** Sums rows into totals, optionally grouped by one of their keys. */
function sumBy<R extends object>(
  rows: R[],
  fields: readonly (keyof R & string)[],
  key?: keyof R & string,
): Array<Record<string, number | string>> {
  const groups = new Map<string, Record<string, number | string>>();
  for (const row of rows) {
    const groupKey = key ? String(row[key]) : "";
    let acc = groups.get(groupKey);
    if (!acc) {
      acc = key ? { [key]: groupKey } : {};
      for (const f of fields) acc[f] = 0;
      groups.set(groupKey, acc);
    }
    for (const f of fields) acc[f] = Number(acc[f]) + Number(row[f] ?? 0);
  }
  if (!key && groups.size === 0) {
    const empty: Record<string, number> = {};
    for (const f of fields) empty[f] = 0;
    return [empty];
  }
  return [...groups.values()];
}

export const usageRoutes = createRouter();

usageRoutes.openapi(usageRoute, async (c) => {
  const q = c.req.valid("query");
  const now = Date.now();
  const from = parseBound(q.from, "from", now - 30 * DAY_MS, false);
  const to = parseBound(q.to, "to", now, true);
  if (from.getTime() >= to.getTime()) throw invalidParam("from", "from must be before to.");
  const tenant = c.get("caller").tenant;
  const [chatRows, videoRows] = await Promise.all([
    chatUsage(c.env.DB, tenant, from.toISOString(), to.toISOString()),
    videoUsage(c.env.DB, tenant, from.toISOString(), to.toISOString()),
  ]);
  const chatFields = ["calls", "failed", "prompt_tokens", "completion_tokens", "total_tokens"] as const;
  const videoFields = ["tasks", "succeeded", "failed", "credits", "seconds"] as const;
  const report = {
    object: "usage" as const,
    from: from.toISOString(),
    to: to.toISOString(),
    chat: {
      totals: sumBy(chatRows, chatFields)[0],
      by_model: sumBy(chatRows, chatFields, "model"),
      by_day: sumBy(chatRows, chatFields, "day"),
    },
    video: {
      totals: sumBy(videoRows, videoFields)[0],
      by_model: sumBy(videoRows, videoFields, "model"),
      by_day: sumBy(videoRows, videoFields, "day"),
    },
  };
  return c.json(UsageReportSchema.parse(report), 200);
});
