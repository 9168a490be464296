import type { SimClock } from "../shared/clock";
import type { PlaidState } from "./state";
import type { KeyRing, WebhookSender } from "./webhooks";

export type PlaidSimSettings = {
  /** Simulated time from /cra/check_report/create to the report being ready or failed. */
  reportDelayMs: number;
  /** Which /user/create generation answers when the request does not say (Plaid-New-User-API-Enabled). */
  defaultUserApi: "legacy" | "new";
  /** /cra/check_report/* calls allowed per minute, as in Plaid's documented limit. */
  craRateLimitPerMinute: number;
};

export type SimContext = {
  state: PlaidState;
  clock: SimClock;
  keys: KeyRing;
  webhooks: WebhookSender;
  settings: PlaidSimSettings;
};
