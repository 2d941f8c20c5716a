import { DurableObject } from "cloudflare:workers";

export class TaskTracker extends DurableObject<RelayBindings> {}
