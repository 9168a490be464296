import type { Db } from "../db/open";
import type { PlaidApi } from "plaid";
import type { CardlyticsClient } from "./cardlytics/client.server";
import type { Config } from "./config/env.server";
import type { PlaidKeyCache } from "./webhooks/verify.server";

/** What the server hands every loader and action: routes never open their own handles or read the environment. */
export type AppContext = {
  db: Db;
  config: Config;
  cardlytics: CardlyticsClient;
  plaid: PlaidApi;
  webhookKeys: PlaidKeyCache;
  clientAddress: string;
  now: () => Date;
  /** This response's Content-Security-Policy nonce (server/security.ts); absent outside the HTTP server. */
  cspNonce?: string;
};

declare module "@remix-run/node" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AppLoadContext extends AppContext {}
}
