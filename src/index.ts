import { chatRoutes } from "./chat/routes";
import { notFound, onError } from "./http/errors";
import { requestId, requireCaller, withConfig } from "./http/middleware";
import { createRouter } from "./http/router";
import { modelRoutes } from "./models/routes";
import { SERVICE_VERSION, opsRoutes } from "./ops/routes";
import { taskRoutes } from "./tasks/routes";
import { usageRoutes } from "./usage/routes";
import { videoRoutes } from "./videos/routes";
import { webhookRoutes } from "./webhooks/routes";

/**
 * The relay, assembled. Nothing else happens here: each capability lives in its own
 * folder and is mounted below; the task tracker Durable Object is exported for the runtime.
 */
const app = createRouter();

app.use("*", requestId);
app.onError(onError);
app.notFound(notFound);

app.route("/", opsRoutes);

app.use("/v1/*", withConfig, requireCaller);
app.use("/llmage/*", withConfig, requireCaller);

app.route("/", chatRoutes);
app.route("/", modelRoutes);
app.route("/", usageRoutes);
app.route("/", taskRoutes);
app.route("/", videoRoutes);
app.route("/", webhookRoutes);

app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
  description: "Your own Yuanjing API key; the relay forwards it upstream.",
});

app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "Yuanjing edge relay",
    version: SERVICE_VERSION,
    description:
      "OpenAI-compatible chat, validated video submissions and signed completion webhooks in front of the Yuanjing API.",
  },
});

export { TaskTracker } from "./tasks/task-tracker";
export default app;
