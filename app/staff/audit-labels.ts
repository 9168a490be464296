// What each audit action means, in the words staff use. The codes stay in the database, the CSV and the filter; the
// pages show these labels (the audit log shows the code beside it). A new action needs its label here: a unit test
// reads the code for every action written and fails on one without a label.

export const AUDIT_ACTION_LABELS: Record<string, string> = {
  "staff.login": "Signed in",
  "staff.login_failed": "Sign-in refused",
  "staff.new_device": "Signed in from a new device",
  "staff.step_up": "Confirmed identity for a sensitive action",
  "staff.step_up_failed": "Identity confirmation refused",
  "staff.logout": "Signed out",
  "staff.create": "Created a staff account",
  "staff.disable": "Disabled a staff account",
  "staff.enable": "Re-enabled a staff account",
  "staff.role_change": "Changed a staff member's role",
  "staff.password_reset": "Reset a staff member's password",
  "staff.password_change": "Changed their own password",
  "staff.session_end": "Ended sessions of their own",
  "staff.sessions_end": "Ended every session of a staff account",
  "staff.admin_restored": "Restored an admin account from the command line",
  "staff.sso_refused": "Single sign-on refused",
  "staff.sso_create": "Staff account created at first single sign-on",
  "staff.sso_link": "Linked a staff account to single sign-on",
  "staff.sso_role_change": "Role set by the identity provider's groups",
  "staff.sso_step_up": "Confirmed identity again through single sign-on",
  "staff.second_factor_failed": "Second factor refused",
  "staff.recovery_code_used": "Used a recovery code",
  "staff.totp_enroll": "Set up an authenticator app",
  "staff.totp_remove": "Removed their authenticator app",
  "staff.recovery_codes_regenerate": "Made new recovery codes",
  "staff.passkey_register": "Registered a passkey",
  "staff.passkey_register_failed": "Registering a passkey failed",
  "staff.passkey_remove": "Removed a passkey",
  "staff.factors_reset": "Reset a staff member's second factors",
  "security.policy_change": "Changed the sign-in policy",
  "backup.create": "Backed up the database",
  "backup.failed": "Backing up the database failed",
  "api_key.create": "Created an event API key",
  "api_key.revoke": "Revoked an event API key",
  "audit.export": "Exported the audit log",
  "customer.lookup": "Looked up a customer",
  "customer.view": "Viewed a customer",
  "customer.access_reason": "Gave a reason for opening a customer",
  "cardlytics.connect": "Sent a processor token to Cardlytics",
  "cardlytics.connect_failed": "Sending a processor token to Cardlytics failed",
  "cardlytics.recheck_batch": "Re-checked the expiring links",
  "cardlytics.expiring_export": "Exported the expiring links",
  "plaid.sandbox_mint": "Minted a sandbox item",
  "plaid.sandbox_mint_failed": "Minting a sandbox item failed",
  "plaid.exchange": "Exchanged a public token for an item",
  "plaid.processor_token_create": "Created a Cardlytics processor token",
  "plaid.sandbox_reset_login": "Reset an item's login (sandbox)",
  "plaid.sandbox_fire_webhook": "Fired a sandbox webhook",
  "plaid.webhook_update": "Changed an item's webhook URL",
  "plaid.item_remove": "Removed a Plaid item",
  "cra.user_create": "Created a Plaid Check user",
  "cra.report_request": "Requested a consumer report",
  "cra.report_view": "Read a consumer report",
  "cra.report_probe": "Probed Plaid for a report",
  "cra.report_export": "Exported the report requests",
  "cra.bulk_start": "Started a bulk regeneration",
  "cra.bulk_cancel": "Cancelled a bulk regeneration",
  "webhook.rehandle": "Re-ran a webhook's handler",
  "webhook.rehandle_failed": "Re-ran the failed webhooks",
  "webhook.rehandle_finished": "Finished re-running the failed webhooks",
  "webhook.export": "Exported the webhook history",
  "funnel.export": "Exported the funnel",
};

/** The label of an action; a code without one (written by an older version) is shown as it is. */
export function auditActionLabel(action: string): string {
  return AUDIT_ACTION_LABELS[action] ?? action;
}

const DETAIL_LABELS: Record<string, string> = {
  by: "Found by",
  mockData: "Mock data",
  requestId: "Request id",
  institutionId: "Institution",
  products: "Products",
  persona: "Test persona",
  checkUser: "For the Check user",
  errorCode: "Error code",
  accounts: "Accounts",
  accountId: "Account id",
  processor: "Processor",
  tokenId: "Token",
  reason: "Reason",
  accessReason: "Reason for access",
  ticket: "Ticket",
  httpStatus: "HTTP status",
  code: "Code",
  webhookUrl: "Webhook URL",
  customers: "Customers",
  events: "Events",
  ranCleanly: "Ran cleanly",
  stillFailing: "Still failing",
  filter: "Filter",
  lines: "Lines",
  hashes: "Customers",
  purpose: "Purpose",
  daysRequested: "Days requested",
  bulkRunId: "Bulk run",
  line: "Line",
  cancelledLines: "Lines cancelled",
  generation: "User API",
  userId: "Check user",
  outcome: "Outcome",
  within: "Within (days)",
  sort: "Sort",
  result: "Result",
  settings: "Settings",
  name: "Name",
  prefix: "Key prefix",
  scopes: "Scopes",
  email: "Email",
  from: "From",
  to: "To",
  sessionsEnded: "Sessions ended",
  currentSessionEnded: "Signed out the session it was done from",
  role: "Role",
  subject: "SSO subject",
  groups: "Groups",
  method: "Method",
  stage: "During",
  left: "Codes left",
  passkey: "Passkey",
  totp: "Authenticator app removed",
  passkeys: "Passkeys removed",
  before: "Before",
  after: "After",
};

function shown(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.map(shown).join(", ") || "—";
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => `${k}: ${shown(v)}`)
      .join("; ") || "—";
  }
  return String(value);
}

// Kept for the record but not for reading: the hashes of the sessions an admin ended (the count is shown).
const NOT_SHOWN = new Set(["endedSessions"]);

/** An entry's details as label/value pairs a person reads, in the order they were recorded. */
export function auditDetailPairs(details: Record<string, unknown> | null | undefined): { key: string; label: string; value: string }[] {
  if (!details) return [];
  return Object.entries(details).filter(([key]) => !NOT_SHOWN.has(key)).map(([key, value]) => ({ key, label: DETAIL_LABELS[key] ?? key, value: shown(value) }));
}
