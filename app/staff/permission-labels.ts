import type { Permission } from "./permissions";

export const PERMISSION_LABELS: Record<Permission, string> = {
  "view:console": "Use the console",
  "view:customer": "Look customers up and read their links, items, reports and webhooks",
  "recheck:account-links": "Re-check Cardlytics account links in bulk",
  "mint:sandbox-token": "Mint Plaid sandbox public tokens",
  "create:processor-token": "Create Cardlytics processor tokens and send them to Cardlytics",
  "manage:plaid-item": "Change a Plaid item's webhook URL or remove the item",
  "manage:cra-user": "Create Plaid Check users",
  "regenerate:report": "Regenerate consumer reports",
  "rehandle:webhook": "Re-run webhook handlers",
  "view:funnel": "Read funnel metrics",
  "manage:api-keys": "Create and revoke event API keys",
  "manage:staff": "Manage staff accounts",
  "view:audit": "Read the audit log",
  "manage:backups": "See the database backups and take one",
  "manage:security": "Set the sign-in policy: second factors by role, required SSO, the break-glass account",
  "view:jobs": "See background jobs and their results",
};
