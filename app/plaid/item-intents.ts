import type { Permission } from "../staff/permissions";

/** What each of the Plaid item page's actions needs: its own permission, and nothing else. */
export const ITEM_INTENT_PERMISSIONS = {
  "processor-token": "create:processor-token",
  send: "create:processor-token",
  "reset-login": "mint:sandbox-token",
  "fire-webhook": "mint:sandbox-token",
  "webhook-url": "manage:plaid-item",
  remove: "manage:plaid-item",
} as const satisfies Record<string, Permission>;
