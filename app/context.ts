import type { Db } from "../db/open";
import type { PlaidApi } from "plaid";
import type { CardlyticsClient } from "./cardlytics/client.server";
import type { Config } from "./config/env.server";
import type { PlaidKeyCache } from "./webhooks/verify.server";
import type { Logger } from "./ops/log.server";
import type { Metrics } from "./ops/metrics.server";
import type { JobRunner } from "./jobs/runner.server";

/** What the server hands every loader and action: routes never open their own handles or read the environment. */
export type AppContext = {
  db: Db;
  config: Config;
  cardlytics: CardlyticsClient;
  plaid: PlaidApi;
  webhookKeys: PlaidKeyCache;
  /** The background job runner: re-checks and re-runs are started through it. */
  jobs: JobRunner;
  clientAddress: string;
  now: () => Date;
  /** This response's Content-Security-Policy nonce (server/security.ts); absent outside the HTTP server. */
  cspNonce?: string;
  /** This request's id (server/app.ts): echoed in X-Request-Id, shown on the error page, on every log line. */
  requestId?: string;
  /** The request's logger: every line carries the request id. */
  log?: Logger;
  metrics?: Metrics;
  /** Filled in while the request runs, read when it is logged: who made it. */
  requestMeta?: { staffId?: number };
};

declare module "@remix-run/node" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AppLoadContext extends AppContext {}
}
