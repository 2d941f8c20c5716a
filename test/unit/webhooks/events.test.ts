import { describe, expect, it } from "vitest";
import {
  DEFAULT_TASK_WEBHOOK_EVENTS,
  isSubscribableEventType,
  isWebhookEventType,
  SUBSCRIBABLE_EVENT_TYPES,
  taskEventType,
  WEBHOOK_EVENT_TYPES,
} from "../../../src/webhooks/events";

describe("webhook events", () => {
  it("lists the contract's event types", () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual([
      "task.running",
      "task.succeeded",
      "task.failed",
      "task.expired",
      "webhook.test",
    ]);
    expect(SUBSCRIBABLE_EVENT_TYPES).not.toContain("webhook.test");
  });

  it("defaults to the terminal events", () => {
    expect([...DEFAULT_TASK_WEBHOOK_EVENTS].sort()).toEqual(["task.expired", "task.failed", "task.succeeded"]);
  });

  it("maps task statuses to events; queued emits none", () => {
    expect(taskEventType("queued")).toBeNull();
    expect(taskEventType("running")).toBe("task.running");
    expect(taskEventType("succeeded")).toBe("task.succeeded");
    expect(taskEventType("failed")).toBe("task.failed");
    expect(taskEventType("expired")).toBe("task.expired");
  });

  it("recognises event type strings", () => {
    expect(isWebhookEventType("webhook.test")).toBe(true);
    expect(isWebhookEventType("task.queued")).toBe(false);
    expect(isSubscribableEventType("task.failed")).toBe(true);
    expect(isSubscribableEventType("webhook.test")).toBe(false);
  });
});
