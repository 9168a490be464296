import { sql } from "drizzle-orm";
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// Times are stored as epoch milliseconds (UTC) so that ordering and range filters are plain integer comparisons.
const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" })
    .notNull()
    .default(sql`(cast(unixepoch('subsec') * 1000 as integer))`);

/** Reference data: the rows are inserted by a migration, never by a seed, because the code depends on them. */
export const roles = sqliteTable("roles", {
  name: text("name").primaryKey(),
  label: text("label").notNull(),
  description: text("description").notNull(),
});

export const staffUsers = sqliteTable("staff_users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
  role: text("role")
    .notNull()
    .references(() => roles.name),
  passwordHash: text("password_hash").notNull(),
  disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
  lastLoginAt: integer("last_login_at", { mode: "timestamp_ms" }),
  passwordChangedAt: integer("password_changed_at", { mode: "timestamp_ms" }).notNull(),
  // Set for a one-time password (the create-admin command): every page sends its holder to change it first.
  mustChangePassword: integer("must_change_password", { mode: "boolean" }).notNull().default(false),
  // Set for an account that signs in through the identity provider: the issuer and the ID token's `sub`. Such an
  // account may have no password at all (password_hash ''), which no password ever matches.
  ssoIssuer: text("sso_issuer"),
  ssoSubject: text("sso_subject"),
  createdAt: createdAt(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
}, (t) => [uniqueIndex("staff_users_sso").on(t.ssoIssuer, t.ssoSubject)]);

/** How a session was opened: what the staff member proved when they signed in. */
export const SESSION_METHODS = ["password", "password+totp", "password+recovery_code", "password+passkey", "passkey", "sso"] as const;
export type SessionMethod = (typeof SESSION_METHODS)[number];

/** The cookie carries a random session id; only its SHA-256 is stored, so a copy of the database opens no session. */
export const staffSessions = sqliteTable(
  "staff_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    staffUserId: integer("staff_user_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    clientAddress: text("client_address").notNull(),
    userAgent: text("user_agent").notNull(),
    method: text("method", { enum: SESSION_METHODS }).notNull().default("password"),
    // The last proof of identity (the sign-in, or a later step-up): sensitive actions need it to be recent.
    verifiedAt: integer("verified_at", { mode: "timestamp_ms" }),
    // SHA-256 of the browser's device cookie: which device the session was opened on.
    deviceHash: text("device_hash"),
  },
  (t) => [index("staff_sessions_user").on(t.staffUserId)],
);

/** Browsers a staff member has signed in from (by the long-lived device cookie's hash): a sign-in from a new one is audited. */
export const staffDevices = sqliteTable(
  "staff_devices",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    staffUserId: integer("staff_user_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    deviceHash: text("device_hash").notNull(),
    firstSeenAt: integer("first_seen_at", { mode: "timestamp_ms" }).notNull(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
    userAgent: text("user_agent").notNull(),
    clientAddress: text("client_address").notNull(),
  },
  (t) => [uniqueIndex("staff_devices_user_device").on(t.staffUserId, t.deviceHash)],
);

/** An authenticator app's shared secret (encrypted like vendor tokens); confirmed once a first code matched. */
export const staffTotp = sqliteTable("staff_totp", {
  staffUserId: integer("staff_user_id")
    .primaryKey()
    .references(() => staffUsers.id, { onDelete: "cascade" }),
  secretEnc: text("secret_enc").notNull(),
  confirmedAt: integer("confirmed_at", { mode: "timestamp_ms" }),
  // The time step of the last code accepted: a code of that step or an earlier one is never accepted again.
  lastUsedStep: integer("last_used_step"),
  createdAt: createdAt(),
});

/** One-time recovery codes, stored hashed; used_at is set when one is spent. */
export const staffRecoveryCodes = sqliteTable(
  "staff_recovery_codes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    staffUserId: integer("staff_user_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [index("staff_recovery_codes_user").on(t.staffUserId)],
);

/** WebAuthn credentials (passkeys): the credential id, its public key (COSE, base64url) and signature counter. */
export const staffPasskeys = sqliteTable(
  "staff_passkeys",
  {
    id: text("id").primaryKey(),
    staffUserId: integer("staff_user_id")
      .notNull()
      .references(() => staffUsers.id, { onDelete: "cascade" }),
    publicKey: text("public_key").notNull(),
    counter: integer("counter").notNull().default(0),
    transports: text("transports", { mode: "json" }).$type<string[]>(),
    deviceType: text("device_type"),
    backedUp: integer("backed_up", { mode: "boolean" }).notNull().default(false),
    name: text("name").notNull(),
    createdAt: createdAt(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("staff_passkeys_user").on(t.staffUserId)],
);

/**
 * Short-lived, single-use state of a sign-in step that spans requests: an OpenID Connect authorization (state, nonce,
 * PKCE verifier), a WebAuthn challenge, a second-factor challenge after the password, an action waiting for a
 * step-up. The browser holds a random id in a cookie; only its SHA-256 is stored.
 */
export const authFlows = sqliteTable(
  "auth_flows",
  {
    idHash: text("id_hash").primaryKey(),
    purpose: text("purpose").notNull(),
    staffUserId: integer("staff_user_id").references(() => staffUsers.id, { onDelete: "cascade" }),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("auth_flows_expires").on(t.expiresAt)],
);

/** The reason a staff member gave for opening a customer, once per customer per session. */
export const customerAccess = sqliteTable(
  "customer_access",
  {
    sessionIdHash: text("session_id_hash")
      .notNull()
      .references(() => staffSessions.idHash, { onDelete: "cascade" }),
    customerHash: text("customer_hash").notNull(),
    reason: text("reason").notNull(),
    ticket: text("ticket"),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionIdHash, t.customerHash] })],
);

/**
 * The console's sign-in policy, one row (id 1): the roles that must use a second factor, whether everyone must sign
 * in through SSO, and the one password account kept for when the identity provider is down (break-glass).
 */
export const authSettings = sqliteTable("auth_settings", {
  id: integer("id").primaryKey(),
  mfaRequiredRoles: text("mfa_required_roles", { mode: "json" }).$type<string[]>().notNull(),
  ssoRequired: integer("sso_required", { mode: "boolean" }).notNull().default(false),
  breakGlassStaffId: integer("break_glass_staff_id").references(() => staffUsers.id, { onDelete: "set null" }),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  updatedBy: integer("updated_by").references(() => staffUsers.id, { onDelete: "set null" }),
});

export const loginFailures = sqliteTable(
  "login_failures",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    email: text("email").notNull(),
    clientAddress: text("client_address").notNull(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("login_failures_email_at").on(t.email, t.at), index("login_failures_address_at").on(t.clientAddress, t.at)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    staffUserId: integer("staff_user_id").references(() => staffUsers.id, { onDelete: "set null" }),
    // Kept beside the id: the log must still say who it was after the account is renamed or its role changes.
    staffEmail: text("staff_email"),
    role: text("role"),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    customerHash: text("customer_hash"),
    clientAddress: text("client_address"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [
    index("audit_log_at").on(t.at),
    index("audit_log_staff").on(t.staffUserId, t.id),
    index("audit_log_action").on(t.action, t.id),
    index("audit_log_customer").on(t.customerHash, t.id),
  ],
);

export type StaffUser = typeof staffUsers.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;

/** Every customer hash the console has seen, from any source. Never a raw id. */
export const customers = sqliteTable("customers", {
  hash: text("hash").primaryKey(),
  firstSeenAt: integer("first_seen_at", { mode: "timestamp_ms" }).notNull(),
  lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
});

/** Every answer Cardlytics gave to GET /v2/data/accountLink, kept as history. */
export const accountLinkChecks = sqliteTable(
  "account_link_checks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    customerHash: text("customer_hash").notNull(),
    checkedAt: integer("checked_at", { mode: "timestamp_ms" }).notNull(),
    outcome: text("outcome", { enum: ["linked", "none", "failed"] }).notNull(),
    httpStatus: integer("http_status"),
    failureReason: text("failure_reason"),
    message: text("message"),
    requestId: text("request_id").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    attempts: integer("attempts").notNull(),
    mockData: integer("mock_data", { mode: "boolean" }).notNull(),
    accounts: text("accounts", { mode: "json" }).$type<unknown[]>(),
    staffUserId: integer("staff_user_id").references(() => staffUsers.id, { onDelete: "set null" }),
  },
  (t) => [index("account_link_checks_customer").on(t.customerHash, t.checkedAt), index("account_link_checks_request").on(t.requestId)],
);

/** Each customer's linked accounts as of the latest successful check: what the expiring-links list reads. */
export const cardlyticsAccounts = sqliteTable(
  "cardlytics_accounts",
  {
    customerHash: text("customer_hash").notNull(),
    accountId: text("account_id").notNull(),
    status: text("status").notNull(),
    last4: text("last4"),
    cardType: text("card_type"),
    name: text("name"),
    fiName: text("fi_name"),
    linkedDate: text("linked_date"),
    expirationDate: integer("expiration_date"),
    checkId: integer("check_id")
      .notNull()
      .references(() => accountLinkChecks.id),
  },
  (t) => [primaryKey({ columns: [t.customerHash, t.accountId] }), index("cardlytics_accounts_expiration").on(t.status, t.expirationDate)],
);

/** A batch of account-link re-checks run in the background; each check it makes lands in account_link_checks. */

/** Plaid items created or registered for a customer. The access token is stored encrypted (AES-256-GCM). */
export const plaidItems = sqliteTable(
  "plaid_items",
  {
    itemId: text("item_id").primaryKey(),
    customerHash: text("customer_hash").notNull(),
    institutionId: text("institution_id"),
    institutionName: text("institution_name"),
    // Null for an item the publisher registered without its access token: its state then comes from its webhooks.
    accessTokenEnc: text("access_token_enc"),
    products: text("products", { mode: "json" }).$type<string[]>().notNull(),
    // "console": minted and exchanged here; "publisher": created by the publisher's app and registered through the API.
    source: text("source", { enum: ["console", "publisher"] }).notNull().default("console"),
    apiKeyId: integer("api_key_id").references(() => apiKeys.id),
    webhookUrl: text("webhook_url"),
    status: text("status", { enum: ["active", "login-required", "pending-disconnect", "permission-revoked", "removed"] }).notNull(),
    errorCode: text("error_code"),
    createdBy: integer("created_by").references(() => staffUsers.id, { onDelete: "set null" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    removedAt: integer("removed_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("plaid_items_customer").on(t.customerHash)],
);

export const plaidAccounts = sqliteTable(
  "plaid_accounts",
  {
    accountId: text("account_id").primaryKey(),
    itemId: text("item_id")
      .notNull()
      .references(() => plaidItems.itemId, { onDelete: "cascade" }),
    name: text("name").notNull(),
    officialName: text("official_name"),
    mask: text("mask"),
    type: text("type").notNull(),
    subtype: text("subtype"),
    balances: text("balances", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("plaid_accounts_item").on(t.itemId)],
);

export const processorTokens = sqliteTable(
  "processor_tokens",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    itemId: text("item_id")
      .notNull()
      .references(() => plaidItems.itemId),
    accountId: text("account_id").notNull(),
    processor: text("processor").notNull(),
    // Null when the publisher registered the token by its hint only.
    tokenEnc: text("token_enc"),
    // Enough to tell tokens apart on screen; the whole token is shown once, at creation.
    tokenHint: text("token_hint").notNull(),
    createdBy: integer("created_by").references(() => staffUsers.id, { onDelete: "set null" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    sentToCardlyticsAt: integer("sent_to_cardlytics_at", { mode: "timestamp_ms" }),
    cardlyticsRequestId: text("cardlytics_request_id"),
    // What Cardlytics answered when the token was handed to it (by this console or, as reported, by the publisher).
    cardlyticsResult: text("cardlytics_result", { enum: ["connected", "refused", "failed"] }),
    cardlyticsMessage: text("cardlytics_message"),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    source: text("source", { enum: ["console", "publisher"] }).notNull().default("console"),
  },
  (t) => [index("processor_tokens_item").on(t.itemId)],
);

/** One Plaid webhook event, however many times it was delivered. Deduplicated by the SHA-256 of its raw body. */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    dedupeKey: text("dedupe_key").notNull().unique(),
    webhookType: text("webhook_type"),
    webhookCode: text("webhook_code"),
    itemId: text("item_id"),
    userId: text("user_id"),
    customerHash: text("customer_hash"),
    environment: text("environment"),
    firstReceivedAt: integer("first_received_at", { mode: "timestamp_ms" }).notNull(),
    lastReceivedAt: integer("last_received_at", { mode: "timestamp_ms" }).notNull(),
    deliveryCount: integer("delivery_count").notNull(),
    handlingStatus: text("handling_status", { enum: ["handled", "ignored", "failed"] }).notNull(),
    handlingResult: text("handling_result"),
    handledAt: integer("handled_at", { mode: "timestamp_ms" }),
    handleAttempts: integer("handle_attempts").notNull(),
  },
  // Only failed events are ever looked up by status (to re-run them), and they are few: a partial index keeps the
  // receiver's writes of handled and ignored events off it. Events are found by item through their deliveries.
  (t) => [index("webhook_events_failed").on(t.id).where(sql`${t.handlingStatus} = 'failed'`)],
);

/** Every POST to the webhook receiver, verified or not, with its exact bytes. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    receivedAt: integer("received_at", { mode: "timestamp_ms" }).notNull(),
    eventId: integer("event_id").references(() => webhookEvents.id),
    verdict: text("verdict", { enum: ["verified", "rejected"] }).notNull(),
    reason: text("reason"),
    answeredStatus: integer("answered_status").notNull(),
    body: blob("body", { mode: "buffer" }).notNull(),
    bodySha256: text("body_sha256").notNull(),
    headers: text("headers", { mode: "json" }).$type<Record<string, string>>().notNull(),
    kid: text("kid"),
    iat: integer("iat"),
    // Read from the body even when it is not trusted, so rejected deliveries can be found too.
    webhookType: text("webhook_type"),
    webhookCode: text("webhook_code"),
    itemId: text("item_id"),
    userId: text("user_id"),
    customerHash: text("customer_hash"),
    clientAddress: text("client_address"),
    // LINK webhooks name a Link session only: kept so the session's deliveries can be found and attributed.
    linkSessionId: text("link_session_id"),
  },
  // The item, user and customer indexes leave out deliveries without one (most have no user, many no known customer),
  // so those cost the receiver nothing; `= ?` and `in (...)` imply the column is not null, so lookups still use them.
  (t) => [
    index("webhook_deliveries_event").on(t.eventId),
    index("webhook_deliveries_received").on(t.receivedAt),
    index("webhook_deliveries_type").on(t.webhookType, t.id),
    index("webhook_deliveries_type_code").on(t.webhookType, t.webhookCode, t.id),
    index("webhook_deliveries_item").on(t.itemId, t.id).where(sql`${t.itemId} is not null`),
    index("webhook_deliveries_user").on(t.userId, t.id).where(sql`${t.userId} is not null`),
    index("webhook_deliveries_customer").on(t.customerHash, t.id).where(sql`${t.customerHash} is not null`),
    index("webhook_deliveries_link_session").on(t.linkSessionId, t.id).where(sql`${t.linkSessionId} is not null`),
  ],
);

/** Ops re-running the handler of every failed event a history filter selects, in the background; counts only. */

/** The Plaid Check user of a customer. The older API's user_token is a credential and is stored encrypted. */
export const craUsers = sqliteTable("cra_users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  customerHash: text("customer_hash").notNull().unique(),
  generation: text("generation", { enum: ["legacy", "new"] }).notNull(),
  // A publisher on the older API may register a user by its user_token alone; webhooks then attribute once the
  // user_id is registered too.
  userId: text("user_id").unique(),
  userTokenEnc: text("user_token_enc"),
  clientUserId: text("client_user_id").notNull(),
  createdBy: integer("created_by").references(() => staffUsers.id, { onDelete: "set null" }),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  source: text("source", { enum: ["console", "publisher"] }).notNull().default("console"),
  removedAt: integer("removed_at", { mode: "timestamp_ms" }),
});

/** Each consumer-report request and its lifecycle: queued → pending → ready or failed. Expiry is derived. */
export const craReports = sqliteTable(
  "cra_reports",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    customerHash: text("customer_hash").notNull(),
    craUserId: integer("cra_user_id")
      .notNull()
      .references(() => craUsers.id),
    status: text("status", { enum: ["queued", "pending", "ready", "failed"] }).notNull(),
    // console: requested here; plaid: Plaid built it on its own after a Link session; publisher: the publisher's
    // backend requested it and registered the request.
    origin: text("origin", { enum: ["console", "plaid", "publisher"] }).notNull(),
    reason: text("reason"),
    purpose: text("purpose"),
    daysRequested: integer("days_requested"),
    products: text("products", { mode: "json" }).$type<string[]>().notNull(),
    requestedBy: integer("requested_by").references(() => staffUsers.id, { onDelete: "set null" }),
    requestedAt: integer("requested_at", { mode: "timestamp_ms" }).notNull(),
    sentAt: integer("sent_at", { mode: "timestamp_ms" }),
    plaidRequestId: text("plaid_request_id"),
    completedAt: integer("completed_at", { mode: "timestamp_ms" }),
    successfulProducts: text("successful_products", { mode: "json" }).$type<string[]>(),
    failedProducts: text("failed_products", { mode: "json" }).$type<string[]>(),
    webhookEventId: integer("webhook_event_id").references(() => webhookEvents.id),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    // Plaid answered 429: the request went back to the queue, which holds (in order) until this time.
    retryAt: integer("retry_at", { mode: "timestamp_ms" }),
    // What settled the request: Plaid's webhook, or a probe of base_report/get when no webhook came.
    settledBy: text("settled_by", { enum: ["webhook", "probe"] }),
    probedAt: integer("probed_at", { mode: "timestamp_ms" }),
    probeCode: text("probe_code"),
    probeRequestId: text("probe_request_id"),
  },
  (t) => [
    index("cra_reports_status").on(t.status, t.id),
    index("cra_reports_customer").on(t.customerHash, t.id),
    index("cra_reports_requester").on(t.requestedBy, t.id),
    index("cra_reports_requested_at").on(t.requestedAt),
    index("cra_reports_webhook_event").on(t.webhookEventId).where(sql`${t.webhookEventId} is not null`),
    index("cra_reports_plaid_request").on(t.plaidRequestId).where(sql`${t.plaidRequestId} is not null`),
  ],
);

/** A regeneration for a list of customer hashes, worked through in the background a bounded number at a time. */
export const craBulkRuns = sqliteTable("cra_bulk_runs", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  createdBy: integer("created_by").references(() => staffUsers.id, { onDelete: "set null" }),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  reason: text("reason").notNull(),
  purpose: text("purpose").notNull(),
  daysRequested: integer("days_requested").notNull(),
  products: text("products", { mode: "json" }).$type<string[]>().notNull(),
  total: integer("total").notNull(),
  status: text("status", { enum: ["running", "finished", "cancelled"] }).notNull(),
  finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
  cancelledBy: integer("cancelled_by").references(() => staffUsers.id, { onDelete: "set null" }),
});

/**
 * One line of a bulk run and what became of it. A row leaves "waiting" in the same transaction that queues its
 * report, and the report link is unique, so a restart can neither skip a row nor queue one twice.
 */
export const craBulkRows = sqliteTable(
  "cra_bulk_rows",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: integer("run_id")
      .notNull()
      .references(() => craBulkRuns.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    input: text("input").notNull(),
    customerHash: text("customer_hash"),
    outcome: text("outcome", { enum: ["waiting", "queued", "cooldown", "no_user", "invalid", "duplicate", "cancelled"] }).notNull(),
    message: text("message"),
    reportId: integer("report_id")
      .unique()
      .references(() => craReports.id),
    processedAt: integer("processed_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("cra_bulk_rows_position").on(t.runId, t.position), index("cra_bulk_rows_outcome").on(t.runId, t.outcome, t.position)],
);

/** Bearer keys for the publisher's backend to post funnel events. Only the SHA-256 of the secret is kept. */
export const apiKeys = sqliteTable("api_keys", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull(),
  // The key's first characters, shown so staff can tell keys apart; never enough to use it.
  prefix: text("prefix").notNull().unique(),
  secretSha256: text("secret_sha256").notNull().unique(),
  createdBy: integer("created_by").references(() => staffUsers.id, { onDelete: "set null" }),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  revokedBy: integer("revoked_by").references(() => staffUsers.id, { onDelete: "set null" }),
  lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  eventsAccepted: integer("events_accepted").notNull().default(0),
  // What the key may post: funnel events, customer data (registrations), or both.
  scopes: text("scopes", { mode: "json" }).$type<ApiKeyScope[]>().notNull().default(sql`'["events"]'`),
  entriesAccepted: integer("entries_accepted").notNull().default(0),
});

export const API_KEY_SCOPES = ["events", "customer_data"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * Every funnel event, whatever its source, once (idempotent by event id). Events from Plaid that name only a Link
 * session or an Item wait here with no customer hash until the publisher's backend ties that id to a customer.
 */
export const funnelEvents = sqliteTable(
  "funnel_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: text("event_id").notNull().unique(),
    name: text("name").notNull(),
    occurredAt: integer("occurred_at", { mode: "timestamp_ms" }).notNull(),
    receivedAt: integer("received_at", { mode: "timestamp_ms" }).notNull(),
    source: text("source", { enum: ["api", "webhook", "console", "cardlytics"] }).notNull(),
    customerHash: text("customer_hash"),
    linkSessionId: text("link_session_id"),
    itemId: text("item_id"),
    institutionId: text("institution_id"),
    institutionName: text("institution_name"),
    errorCode: text("error_code"),
    attributes: text("attributes", { mode: "json" }).$type<Record<string, string | number | boolean>>().notNull(),
    apiKeyId: integer("api_key_id").references(() => apiKeys.id),
  },
  (t) => [
    index("funnel_events_name_time").on(t.name, t.occurredAt),
    index("funnel_events_customer").on(t.customerHash, t.occurredAt),
    index("funnel_events_session").on(t.linkSessionId),
    index("funnel_events_item").on(t.itemId),
  ],
);

/**
 * The identity graph: which customer an id belongs to, whoever told us (the publisher's backend, its funnel events,
 * this console's own actions, Cardlytics' answers). An id belongs to one customer only: the first claim holds and a
 * later claim for another customer is refused and kept in customer_id_conflicts.
 */
export const CUSTOMER_ID_KINDS = ["item", "link_session", "check_user", "cardlytics_account", "processor_token", "plaid_request"] as const;
export type CustomerIdKind = (typeof CUSTOMER_ID_KINDS)[number];
export const customerIds = sqliteTable(
  "customer_ids",
  {
    kind: text("kind", { enum: CUSTOMER_ID_KINDS }).notNull(),
    // The id itself; for a processor token, the SHA-256 of the token, never the token.
    value: text("value").notNull(),
    customerHash: text("customer_hash").notNull(),
    source: text("source", { enum: ["publisher", "events", "console", "cardlytics"] }).notNull(),
    apiKeyId: integer("api_key_id").references(() => apiKeys.id),
    firstSeenAt: integer("first_seen_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.value] }), index("customer_ids_customer").on(t.customerHash, t.kind)],
);

/** A claim refused because the id already belongs to another customer: never silently moved, always on record. */
export const customerIdConflicts = sqliteTable(
  "customer_id_conflicts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    kind: text("kind", { enum: CUSTOMER_ID_KINDS }).notNull(),
    value: text("value").notNull(),
    ownerHash: text("owner_hash").notNull(),
    claimedHash: text("claimed_hash").notNull(),
    source: text("source", { enum: ["publisher", "events", "console", "cardlytics"] }).notNull(),
    apiKeyId: integer("api_key_id").references(() => apiKeys.id),
  },
  (t) => [index("customer_id_conflicts_owner").on(t.ownerHash, t.id), index("customer_id_conflicts_claimed").on(t.claimedHash, t.id)],
);

/** A Link session the publisher registered (its link token kept encrypted, to read it back with /link/token/get). */
export const linkSessions = sqliteTable(
  "link_sessions",
  {
    linkSessionId: text("link_session_id").primaryKey(),
    customerHash: text("customer_hash").notNull(),
    linkTokenEnc: text("link_token_enc"),
    itemId: text("item_id"),
    registeredAt: integer("registered_at", { mode: "timestamp_ms" }).notNull(),
    apiKeyId: integer("api_key_id").references(() => apiKeys.id),
  },
  (t) => [index("link_sessions_customer").on(t.customerHash)],
);

/**
 * The rollup the funnel page reads: per customer, the first time each step was reached and the first value seen
 * of each attribute. Kept in the same transaction as the events, so it never disagrees with them.
 */
export const funnelCustomers = sqliteTable(
  "funnel_customers",
  {
    customerHash: text("customer_hash").primaryKey(),
    linkStartedAt: integer("link_started_at"),
    institutionSelectedAt: integer("institution_selected_at"),
    credentialsSubmittedAt: integer("credentials_submitted_at"),
    itemAddedAt: integer("item_added_at"),
    processorTokenCreatedAt: integer("processor_token_created_at"),
    accountLinkedAt: integer("account_linked_at"),
    reportReadyAt: integer("report_ready_at"),
    institutionId: text("institution_id"),
    institutionName: text("institution_name"),
    attributes: text("attributes", { mode: "json" }).$type<Record<string, string | number | boolean>>().notNull(),
  },
  // Covers the funnel's cohort scan: a date range reads one contiguous stretch of this index and nothing else.
  (t) => [
    index("funnel_customers_cohort").on(
      t.linkStartedAt,
      t.institutionSelectedAt,
      t.credentialsSubmittedAt,
      t.itemAddedAt,
      t.processorTokenCreatedAt,
      t.accountLinkedAt,
      t.reportReadyAt,
      t.institutionName,
      t.institutionId,
      t.customerHash,
    ),
  ],
);

/** Link errors and exits per UTC day and error code ('' for none), kept with the events for the exit-reason table. */
export const funnelExitDays = sqliteTable(
  "funnel_exit_days",
  {
    day: integer("day").notNull(),
    errorCode: text("error_code").notNull(),
    errors: integer("errors").notNull(),
    exits: integer("exits").notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.errorCode] })],
);

/** Attribute names seen on funnel events, offered as breakdowns. */
export const funnelAttributeKeys = sqliteTable("funnel_attribute_keys", {
  key: text("key").primaryKey(),
  firstSeenAt: integer("first_seen_at", { mode: "timestamp_ms" }).notNull(),
});

export const JOB_STATUSES = ["queued", "running", "finished", "failed", "interrupted", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * Background work, one row per job: Cardlytics re-checks, webhook re-runs, and one row per recurring kind (the Plaid
 * Check dispatch, retention and session pruning), which each run overwrites with its latest outcome. Progress and
 * the result are what the pages read; a job found running at start-up is resumed when its kind can carry on from
 * its progress, otherwise marked interrupted (app/jobs/runner.server.ts).
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind").notNull(),
    recurring: integer("recurring", { mode: "boolean" }).notNull().default(false),
    status: text("status", { enum: JOB_STATUSES }).notNull(),
    params: text("params", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    progressDone: integer("progress_done").notNull().default(0),
    progressTotal: integer("progress_total"),
    // What the job came to (counts, what was sent or pruned); while it runs, the counts so far.
    result: text("result", { mode: "json" }).$type<Record<string, unknown>>(),
    error: text("error"),
    attempts: integer("attempts").notNull().default(0),
    createdBy: integer("created_by").references(() => staffUsers.id, { onDelete: "set null" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("jobs_status_kind").on(t.status, t.kind, t.id), index("jobs_kind").on(t.kind, t.id), uniqueIndex("jobs_recurring_kind").on(t.kind).where(sql`${t.recurring} = 1`)],
);
