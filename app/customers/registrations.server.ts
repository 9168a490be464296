import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Db, Queryable } from "../../db/open";
import { craReports, craUsers, linkSessions, plaidItems, processorTokens } from "../../db/schema";
import { touchCustomer } from "../cardlytics/account-links.server";
import type { Config } from "../config/env.server";
import { encryptToken, storedTokenIs, tokenBinding, tokenHint, type TokenBinding } from "../lib/token-crypto.server";
import { rehandleIgnoredEventsOf } from "../webhooks/receive.server";
import { claimId, ownerOf, recordConflict, tokenFingerprint, type Claim, type CustomerIdKind } from "./identity.server";
import { pluralWord } from "../lib/plural";

// What the publisher's backend tells Linkdesk it created for a customer: Plaid items, Link sessions, Plaid Check
// users and report requests, processor tokens and what Cardlytics answered to them. Every entry is checked and
// applied on its own; the same entry twice changes nothing; an id that already belongs to another customer is refused
// and recorded in the identity graph's conflicts, never moved.

export const MAX_BATCH_ENTRIES = 500;
export const MAX_BATCH_BYTES = 1024 * 1024;

export type RegistrationDeps = { db: Db; config: Pick<Config, "tokenEncryptionKey">; now: () => Date };
export type FieldError = { field: string; message: string };
export type EntryResult = { index: number; type: string | null; id: string | null; status: "accepted" | "unchanged" | "refused"; errors?: FieldError[] };
export type RegistrationOutcome = {
  status: number;
  body: { accepted: number; unchanged: number; refused: number; results: EntryResult[] } | { error: string; message: string };
};

/** Field names that would carry a raw customer identity: refused by name, wherever they appear. */
const RAW_ID_FIELDS = ["customer_id", "raw_customer_id", "internal_id", "user_email", "email", "phone", "ssn", "name", "address", "date_of_birth"];

// eslint-disable-next-line no-control-regex
const id = (max: number) => z.string({ error: "is required" }).min(1, "must not be empty").max(max, `must be at most ${max} characters`).regex(/^[^\s\u0000-\u001f\u007f]+$/, "must not contain spaces or control characters");
const optionalText = (max: number) => z.string().min(1, "must not be empty").max(max, `must be at most ${max} characters`).nullish();
const hash = z
  .string({ error: "is required: the customer's 64-hex hash (never the raw customer id)" })
  .regex(/^[0-9a-fA-F]{64}$/, "must be the customer's 64-hex hash (never the raw customer id)")
  .transform((v) => v.toLowerCase());
const time = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === "number" ? v : /(Z|[+-]\d\d:?\d\d)$/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms) || ms < Date.UTC(2015, 0, 1)) {
    ctx.addIssue({ code: "custom", message: "must be an ISO 8601 time with a zone, or epoch milliseconds" });
    return z.NEVER;
  }
  return ms;
});

const strict = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== "unrecognized_keys") return "each entry must be a JSON object";
      const raw = issue.keys.filter((k) => RAW_ID_FIELDS.includes(k));
      if (raw.length) return `${raw.join(", ")}: a raw customer identity is never accepted; send customer_hash (the 64-hex HMAC) only`;
      return `unknown ${pluralWord(issue.keys.length, "field")}: ${issue.keys.join(", ")}`;
    },
  });
const common = { customer_hash: hash, action: z.enum(["upsert", "remove"], { error: "must be upsert or remove" }).default("upsert") };

const entrySchema = z.discriminatedUnion(
  "type",
  [
    strict({ ...common, type: z.literal("plaid_item"), item_id: id(128), institution_id: optionalText(64), institution_name: optionalText(200), access_token: id(256).nullish(), products: z.array(id(64)).max(20).nullish() }),
    strict({ ...common, type: z.literal("link_session"), link_session_id: id(128), link_token: id(256).nullish(), item_id: id(128).nullish() }),
    strict({ ...common, type: z.literal("check_user"), user_id: id(128).nullish(), user_token: id(256).nullish(), client_user_id: id(128).nullish() }).refine(
      (e) => e.user_id || e.user_token,
      { message: "send user_id (the newer user API), user_token (the older one), or both", path: ["user_id"] },
    ),
    strict({
      ...common,
      type: z.literal("processor_token"),
      item_id: id(128),
      account_id: id(128),
      processor: id(64).default("cardlytics"),
      processor_token: id(256).nullish(),
      token_hint: optionalText(40),
      cardlytics: z
        .strictObject({ result: z.enum(["connected", "refused", "failed"], { error: "must be connected, refused or failed" }), request_id: optionalText(128), message: optionalText(500), account_id: id(128).nullish(), at: time.nullish() })
        .nullish(),
    }).refine((e) => e.processor_token || e.token_hint, { message: "send the processor_token (stored encrypted) or at least its token_hint", path: ["processor_token"] }),
    strict({
      ...common,
      type: z.literal("check_report"),
      request_id: id(128),
      requested_at: time.nullish(),
      products: z.array(id(64)).max(10).nullish(),
      days_requested: z.number().int().min(1).max(731).nullish(),
      purpose: optionalText(100),
    }),
  ],
  { error: () => "type must be one of: plaid_item, link_session, check_user, processor_token, check_report" },
);
type Entry = z.output<typeof entrySchema>;

class Refused extends Error {
  constructor(
    readonly errors: FieldError[],
    readonly conflict?: { claim: Claim; ownerHash: string },
  ) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join("; "));
  }
}
const refuse = (field: string, message: string): never => {
  throw new Refused([{ field, message }]);
};

type Ctx = RegistrationDeps & { tx: Queryable; at: Date; apiKeyId: number | null };

/** Claims an id for the entry's customer; another customer's id refuses the entry. */
function claim(ctx: Ctx, kind: CustomerIdKind, value: string, customerHash: string, field: string): boolean {
  const attempt: Claim = { kind, value, customerHash, source: "publisher", apiKeyId: ctx.apiKeyId, at: ctx.at };
  const outcome = claimId(ctx.tx, attempt);
  if (outcome.status === "conflict") {
    throw new Refused([{ field, message: "already belongs to another customer; an id is never moved between customers (the attempt is recorded)" }], { claim: attempt, ownerHash: outcome.ownerHash });
  }
  return outcome.status === "claimed";
}

// A stored value that does not read for its row counts as different, so registering the token again repairs it.
const sameToken = (ctx: Ctx, stored: string | null, given: string | null | undefined, binding: TokenBinding) => !given || storedTokenIs(ctx.config.tokenEncryptionKey, stored, binding, given);
const encrypt = (ctx: Ctx, value: string | null | undefined, binding: TokenBinding) => (value ? encryptToken(ctx.config.tokenEncryptionKey, value, binding) : null);

function applyItem(ctx: Ctx, e: Extract<Entry, { type: "plaid_item" }>): boolean {
  const existing = ctx.tx.select().from(plaidItems).where(eq(plaidItems.itemId, e.item_id)).get();
  if (e.action === "remove") {
    if (!existing || existing.customerHash !== e.customer_hash) refuse("item_id", "is not registered for this customer");
    if (existing!.status === "removed") return false;
    ctx.tx.update(plaidItems).set({ status: "removed", removedAt: ctx.at, updatedAt: ctx.at }).where(eq(plaidItems.itemId, e.item_id)).run();
    ctx.tx.update(processorTokens).set({ revokedAt: ctx.at }).where(and(eq(processorTokens.itemId, e.item_id), isNull(processorTokens.revokedAt))).run();
    return true;
  }
  let changed = claim(ctx, "item", e.item_id, e.customer_hash, "item_id");
  if (!existing) {
    ctx.tx
      .insert(plaidItems)
      .values({
        itemId: e.item_id,
        customerHash: e.customer_hash,
        institutionId: e.institution_id ?? null,
        institutionName: e.institution_name ?? null,
        accessTokenEnc: encrypt(ctx, e.access_token, tokenBinding.accessToken(e.item_id)),
        products: e.products ?? [],
        source: "publisher",
        apiKeyId: ctx.apiKeyId,
        status: "active",
        createdAt: ctx.at,
        updatedAt: ctx.at,
      })
      .run();
    changed = true;
  } else {
    const update: Partial<typeof plaidItems.$inferInsert> = {};
    if (e.institution_id && e.institution_id !== existing.institutionId) update.institutionId = e.institution_id;
    if (e.institution_name && e.institution_name !== existing.institutionName) update.institutionName = e.institution_name;
    if (e.products && JSON.stringify(e.products) !== JSON.stringify(existing.products)) update.products = e.products;
    if (!sameToken(ctx, existing.accessTokenEnc, e.access_token, tokenBinding.accessToken(e.item_id))) update.accessTokenEnc = encrypt(ctx, e.access_token, tokenBinding.accessToken(e.item_id));
    if (Object.keys(update).length) {
      ctx.tx.update(plaidItems).set({ ...update, updatedAt: ctx.at }).where(eq(plaidItems.itemId, e.item_id)).run();
      changed = true;
    }
  }
  // Webhooks that came before the item was known now apply to it, in the order they arrived.
  if (changed) rehandleIgnoredEventsOf(ctx.db, { itemId: e.item_id }, ctx.at);
  return changed;
}

function applyLinkSession(ctx: Ctx, e: Extract<Entry, { type: "link_session" }>): boolean {
  const existing = ctx.tx.select().from(linkSessions).where(eq(linkSessions.linkSessionId, e.link_session_id)).get();
  if (e.action === "remove") {
    if (!existing || existing.customerHash !== e.customer_hash) refuse("link_session_id", "is not registered for this customer");
    ctx.tx.delete(linkSessions).where(eq(linkSessions.linkSessionId, e.link_session_id)).run();
    return true;
  }
  let changed = claim(ctx, "link_session", e.link_session_id, e.customer_hash, "link_session_id");
  if (e.item_id) changed = claim(ctx, "item", e.item_id, e.customer_hash, "item_id") || changed;
  if (!existing) {
    ctx.tx.insert(linkSessions).values({ linkSessionId: e.link_session_id, customerHash: e.customer_hash, linkTokenEnc: encrypt(ctx, e.link_token, tokenBinding.linkToken(e.link_session_id)), itemId: e.item_id ?? null, registeredAt: ctx.at, apiKeyId: ctx.apiKeyId }).run();
    return true;
  }
  const update: Partial<typeof linkSessions.$inferInsert> = {};
  if (!sameToken(ctx, existing.linkTokenEnc, e.link_token, tokenBinding.linkToken(e.link_session_id))) update.linkTokenEnc = encrypt(ctx, e.link_token, tokenBinding.linkToken(e.link_session_id));
  if (e.item_id && e.item_id !== existing.itemId) update.itemId = e.item_id;
  if (Object.keys(update).length) ctx.tx.update(linkSessions).set(update).where(eq(linkSessions.linkSessionId, e.link_session_id)).run();
  return changed || Object.keys(update).length > 0;
}

function applyCheckUser(ctx: Ctx, e: Extract<Entry, { type: "check_user" }>): boolean {
  const existing = ctx.tx.select().from(craUsers).where(eq(craUsers.customerHash, e.customer_hash)).get();
  if (e.action === "remove") {
    if (!existing || (e.user_id && existing.userId !== e.user_id)) refuse("user_id", "is not this customer's registered Plaid Check user");
    if (existing!.removedAt) return false;
    ctx.tx.update(craUsers).set({ removedAt: ctx.at }).where(eq(craUsers.id, existing!.id)).run();
    return true;
  }
  if (existing?.userId && e.user_id && existing.userId !== e.user_id) refuse("user_id", `this customer already has Plaid Check user ${existing.userId}; a customer has one Check user`);
  let changed = e.user_id ? claim(ctx, "check_user", e.user_id, e.customer_hash, "user_id") : false;
  if (!existing) {
    ctx.tx
      .insert(craUsers)
      .values({
        customerHash: e.customer_hash,
        generation: e.user_token ? "legacy" : "new",
        userId: e.user_id ?? null,
        userTokenEnc: encrypt(ctx, e.user_token, tokenBinding.userToken(e.customer_hash)),
        clientUserId: e.client_user_id ?? e.customer_hash,
        source: "publisher",
        createdAt: ctx.at,
      })
      .run();
    changed = true;
  } else {
    const update: Partial<typeof craUsers.$inferInsert> = {};
    if (e.user_id && !existing.userId) update.userId = e.user_id;
    if (!sameToken(ctx, existing.userTokenEnc, e.user_token, tokenBinding.userToken(e.customer_hash))) Object.assign(update, { userTokenEnc: encrypt(ctx, e.user_token, tokenBinding.userToken(e.customer_hash)), generation: "legacy" });
    if (existing.removedAt) update.removedAt = null;
    if (Object.keys(update).length) {
      ctx.tx.update(craUsers).set(update).where(eq(craUsers.id, existing.id)).run();
      changed = true;
    }
  }
  touchCustomer(ctx.tx, e.customer_hash, ctx.at);
  // CHECK_REPORT webhooks that arrived before the user was known now settle or record its reports.
  if (changed && e.user_id) rehandleIgnoredEventsOf(ctx.db, { userId: e.user_id }, ctx.at);
  return changed;
}

function applyProcessorToken(ctx: Ctx, e: Extract<Entry, { type: "processor_token" }>): boolean {
  if (ownerOf(ctx.tx, "item", e.item_id) !== e.customer_hash || !ctx.tx.select({ id: plaidItems.itemId }).from(plaidItems).where(eq(plaidItems.itemId, e.item_id)).get()) {
    refuse("item_id", "is not a registered item of this customer; register the plaid_item first (earlier in the same batch will do)");
  }
  const hint = e.processor_token ? tokenHint(e.processor_token) : e.token_hint!;
  const existing = ctx.tx
    .select()
    .from(processorTokens)
    .where(and(eq(processorTokens.itemId, e.item_id), eq(processorTokens.accountId, e.account_id), eq(processorTokens.processor, e.processor), eq(processorTokens.tokenHint, hint)))
    .get();
  if (e.action === "remove") {
    if (!existing) refuse("processor_token", "no such processor token is registered for this item");
    if (existing!.revokedAt) return false;
    ctx.tx.update(processorTokens).set({ revokedAt: ctx.at }).where(eq(processorTokens.id, existing!.id)).run();
    return true;
  }
  let changed = e.processor_token ? claim(ctx, "processor_token", tokenFingerprint(e.processor_token), e.customer_hash, "processor_token") : false;
  const cardlytics = e.cardlytics
    ? {
        cardlyticsResult: e.cardlytics.result,
        cardlyticsRequestId: e.cardlytics.request_id ?? null,
        cardlyticsMessage: e.cardlytics.message ?? null,
        sentToCardlyticsAt: new Date(e.cardlytics.at ?? ctx.at.getTime()),
      }
    : {};
  if (e.cardlytics?.result === "connected") changed = claim(ctx, "cardlytics_account", e.cardlytics.account_id ?? e.account_id, e.customer_hash, "cardlytics.account_id") || changed;
  if (!existing) {
    const row = ctx.tx
      .insert(processorTokens)
      .values({ itemId: e.item_id, accountId: e.account_id, processor: e.processor, tokenHint: hint, createdAt: ctx.at, source: "publisher", ...cardlytics })
      .returning({ id: processorTokens.id })
      .get();
    // Bound to its row, the token is stored once the row has its id (in the entry's savepoint).
    if (e.processor_token) ctx.tx.update(processorTokens).set({ tokenEnc: encrypt(ctx, e.processor_token, tokenBinding.processorToken(row.id)) }).where(eq(processorTokens.id, row.id)).run();
    return true;
  }
  const update: Partial<typeof processorTokens.$inferInsert> = {};
  if (!sameToken(ctx, existing.tokenEnc, e.processor_token, tokenBinding.processorToken(existing.id))) update.tokenEnc = encrypt(ctx, e.processor_token, tokenBinding.processorToken(existing.id));
  if (e.cardlytics && (existing.cardlyticsResult !== e.cardlytics.result || existing.cardlyticsRequestId !== (e.cardlytics.request_id ?? null))) Object.assign(update, cardlytics);
  if (Object.keys(update).length) ctx.tx.update(processorTokens).set(update).where(eq(processorTokens.id, existing.id)).run();
  return changed || Object.keys(update).length > 0;
}

function applyCheckReport(ctx: Ctx, e: Extract<Entry, { type: "check_report" }>): boolean {
  const user = ctx.tx.select().from(craUsers).where(eq(craUsers.customerHash, e.customer_hash)).get();
  if (!user) refuse("customer_hash", "has no registered Plaid Check user; register the check_user first (earlier in the same batch will do)");
  const existing = ctx.tx.select().from(craReports).where(eq(craReports.plaidRequestId, e.request_id)).get();
  if (e.action === "remove") refuse("action", "a report request cannot be removed: it happened");
  if (existing) {
    if (existing.customerHash !== e.customer_hash) refuse("request_id", "belongs to another customer's report");
    return false;
  }
  claim(ctx, "plaid_request", e.request_id, e.customer_hash, "request_id");
  const requestedAt = new Date(e.requested_at ?? ctx.at.getTime());
  ctx.tx
    .insert(craReports)
    .values({
      customerHash: e.customer_hash,
      craUserId: user!.id,
      status: "pending",
      origin: "publisher",
      purpose: e.purpose ?? null,
      daysRequested: e.days_requested ?? null,
      products: e.products ?? [],
      requestedAt,
      sentAt: requestedAt,
      plaidRequestId: e.request_id,
    })
    .run();
  return true;
}

const APPLY: { [K in Entry["type"]]: (ctx: Ctx, e: Extract<Entry, { type: K }>) => boolean } = {
  plaid_item: applyItem,
  link_session: applyLinkSession,
  check_user: applyCheckUser,
  processor_token: applyProcessorToken,
  check_report: applyCheckReport,
};
function entryId(e: Entry): string | null {
  switch (e.type) {
    case "plaid_item":
      return e.item_id;
    case "link_session":
      return e.link_session_id;
    case "check_user":
      return e.user_id ?? null;
    case "processor_token":
      return `${e.item_id}/${e.account_id}`;
    case "check_report":
      return e.request_id;
  }
}

/** Applies one entry in the caller's transaction, in a savepoint of its own so a refusal leaves nothing behind. */
export function applyEntry(deps: RegistrationDeps, tx: Queryable, raw: unknown, apiKeyId: number | null, at: Date): Omit<EntryResult, "index"> {
  const type = raw && typeof raw === "object" && typeof (raw as { type?: unknown }).type === "string" ? (raw as { type: string }).type : null;
  const parsed = entrySchema.safeParse(raw);
  if (!parsed.success) {
    return { type, id: null, status: "refused", errors: parsed.error.issues.map((i) => ({ field: i.path.join(".") || "(entry)", message: i.message })) };
  }
  const e = parsed.data;
  try {
    const changed = tx.transaction((sp) => (APPLY[e.type] as (ctx: Ctx, e: Entry) => boolean)({ ...deps, tx: sp, at, apiKeyId }, e));
    return { type, id: entryId(e), status: changed ? "accepted" : "unchanged" };
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    // The entry's savepoint is undone, the conflict it ran into is not: it goes on record outside it.
    if (error.conflict) recordConflict(tx, error.conflict.claim, error.conflict.ownerHash);
    return { type, id: entryId(e), status: "refused", errors: error.errors };
  }
}

/** A batch from the publisher's backend: `{"entries": [...]}`, each entry applied and answered on its own. */
export function ingestRegistrations(deps: RegistrationDeps, raw: string, apiKeyId: number): RegistrationOutcome {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { status: 400, body: { error: "invalid_json", message: "The body is not valid JSON." } };
  }
  const entries = body && typeof body === "object" && !Array.isArray(body) ? (body as { entries?: unknown }).entries : undefined;
  if (!Array.isArray(entries)) return { status: 400, body: { error: "invalid_batch", message: 'Send {"entries": [ … ]}.' } };
  if (entries.length === 0) return { status: 400, body: { error: "empty_batch", message: "The batch has no entries." } };
  if (entries.length > MAX_BATCH_ENTRIES) return { status: 413, body: { error: "batch_too_large", message: `A batch holds at most ${MAX_BATCH_ENTRIES} entries; this one has ${entries.length}. Split it.` } };
  const at = deps.now();
  const results = deps.db.transaction((tx) => entries.map((entry, index): EntryResult => ({ index, ...applyEntry(deps, tx, entry, apiKeyId, at) })));
  const tally = (s: EntryResult["status"]) => results.filter((r) => r.status === s).length;
  const accepted = tally("accepted");
  const unchanged = tally("unchanged");
  return { status: accepted + unchanged ? 200 : 422, body: { accepted, unchanged, refused: tally("refused"), results } };
}
