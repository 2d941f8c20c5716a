import { invalidParam } from "../errors/api-error";
import { DEFAULT_TASK_WEBHOOK_EVENTS, isSubscribableEventType, SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType } from "../webhooks/events";
import { assertWebhookUrl } from "../webhooks/url-safety";
import type { TaskWebhook } from "./task-object";

/**
 * A webhook given with a task (`webhook` + `webhook_events` on a submission, or the body
 * of POST /v1/tasks/{id}/webhooks): URL checked for safety now, events defaulting to the
 * terminal ones. The URL stored is the normalised one the check returns.
 */
export function taskWebhookFrom(
  url: string,
  events: readonly string[] | undefined,
  allowPrivate: boolean,
  params: { url: string; events: string },
): TaskWebhook {
  const checked = assertWebhookUrl(url, { allowPrivate }, params.url);
  const list: SubscribableEventType[] = [];
  for (const [i, e] of (events ?? DEFAULT_TASK_WEBHOOK_EVENTS).entries()) {
    if (!isSubscribableEventType(e)) {
      throw invalidParam(`${params.events}[${i}]`, `Unknown event "${e}". Allowed: ${SUBSCRIBABLE_EVENT_TYPES.join(", ")}.`);
    }
    if (!list.includes(e)) list.push(e);
  }
  if (list.length === 0) throw invalidParam(params.events, `At least one event is needed. Allowed: ${SUBSCRIBABLE_EVENT_TYPES.join(", ")}.`);
  return { url: checked.href, events: list };
}
