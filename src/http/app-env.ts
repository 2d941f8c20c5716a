import type { RelayConfig } from "../config/env";

/** The caller, as the auth middleware established it. The raw key never leaves memory. */
export interface Caller {
  /** The caller's own Yuanjing API key, forwarded upstream; never logged or stored in clear. */
  key: string;
  /** SHA-256 hex of the key: the owner of every stored object (docs/API.md). */
  tenant: string;
}

export interface AppEnv {
  Bindings: RelayBindings;
  Variables: {
    requestId: string;
    config: RelayConfig;
    caller: Caller;
  };
}
