import type { SimClock } from "../shared/clock";
import type { PlaidState } from "./state";
import type { KeyRing, WebhookSender } from "./webhooks";

export type PlaidSimSettings = {
  /** Simulated time from /cra/check_report/create (or a Plaid Check Link session) to the report being ready or failed. */
  reportDelayMs: number;
  /** Simulated time Plaid takes to make a product the report was not generated with, once a client asks for it. */
  lateProductDelayMs: number;
  /** /cra/check_report/* calls allowed per minute, as in Plaid's documented limit. */
  craRateLimitPerMinute: number;
};

/**
 * What Plaid configures per client (team) rather than per request. The defaults follow the guides a new integration
 * is written from; each switch turns on the other behaviour the vendor documents.
 */
export type PlaidClientSettings = {
  /**
   * Which User API generation the client is on. Plaid decides it by when the client first used /user/create;
   * `Plaid-New-User-API-Enabled` (and `with_upgraded_user`) override it per request.
   * legacy: user_token + 29-character user_id, a repeated client_user_id is an error, CHECK_REPORT_READY/FAILED.
   * new: user_id `usr_…` only, idempotent per client_user_id, USER_CHECK_REPORT_READY/FAILED.
   */
  userApi: "legacy" | "new";
  /** The older rule of the spec's field text: Check products on a link token need consumer_report_permissible_purpose. */
  linkRequiresPermissiblePurpose: boolean;
  /** The Cardlytics integration is enabled under Dashboard > Integrations; without it processor tokens for it are refused. */
  cardlyticsIntegration: boolean;
};

export type PlaidClient = { clientId: string; secret: string; settings: PlaidClientSettings };

export const DEFAULT_CLIENT_SETTINGS: PlaidClientSettings = { userApi: "legacy", linkRequiresPermissiblePurpose: false, cardlyticsIntegration: true };

/** The API versions the simulator answers; Plaid-Version absent means the team's default (2020-09-14). */
export const API_VERSIONS = ["2020-09-14"];

export type SimContext = {
  state: PlaidState;
  clock: SimClock;
  keys: KeyRing;
  webhooks: WebhookSender;
  settings: PlaidSimSettings;
  /** The client the current request authenticated as. */
  client: PlaidClient;
};
