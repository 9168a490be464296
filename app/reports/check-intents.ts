import type { Permission } from "../staff/permissions";

/** What each of a customer's Plaid Check page actions needs: its own permission, and nothing else. */
export const CHECK_INTENT_PERMISSIONS = {
  user: "manage:cra-user",
  regenerate: "regenerate:report",
  probe: "regenerate:report",
} as const satisfies Record<string, Permission>;
