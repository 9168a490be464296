import { and, eq, isNull, sql } from "drizzle-orm";
import type { Queryable } from "../../db/open";
import { funnelAttributeKeys, funnelEvents, funnelIdentities, plaidItems } from "../../db/schema";
import { STEP_COLUMN, type FunnelEventName } from "./steps";

export type FunnelAttributes = Record<string, string | number | boolean>;

export type FunnelEventInput = {
  /** Unique per event; the same id recorded twice is one event. */
  eventId: string;
  name: FunnelEventName;
  occurredAt: number;
  source: "api" | "webhook" | "console" | "cardlytics";
  customerHash?: string | null;
  linkSessionId?: string | null;
  itemId?: string | null;
  institutionId?: string | null;
  institutionName?: string | null;
  errorCode?: string | null;
  attributes?: FunnelAttributes;
  apiKeyId?: number | null;
};

export type RecordOutcome = "accepted" | "duplicate";

type StoredEvent = Pick<typeof funnelEvents.$inferSelect, "name" | "occurredAt" | "institutionId" | "institutionName" | "attributes"> & { customerHash: string };

/** Folds one event into its customer's rollup row: the earliest time per step, the first value per attribute. */
function applyToRollup(db: Queryable, e: StoredEvent) {
  const column = STEP_COLUMN[e.name];
  const attributes = JSON.stringify(e.attributes ?? {});
  const at = e.occurredAt.getTime();
  if (column) {
    const col = sql.raw(column);
    db.run(sql`insert into funnel_customers (customer_hash, ${col}, institution_id, institution_name, attributes)
      values (${e.customerHash}, ${at}, ${e.institutionId}, ${e.institutionName}, ${attributes})
      on conflict (customer_hash) do update set
        ${col} = min(coalesce(${col}, excluded.${col}), excluded.${col}),
        institution_id = coalesce(institution_id, excluded.institution_id),
        institution_name = coalesce(institution_name, excluded.institution_name),
        attributes = json_patch(excluded.attributes, attributes)`);
  } else {
    db.run(sql`insert into funnel_customers (customer_hash, institution_id, institution_name, attributes)
      values (${e.customerHash}, ${e.institutionId}, ${e.institutionName}, ${attributes})
      on conflict (customer_hash) do update set
        institution_id = coalesce(institution_id, excluded.institution_id),
        institution_name = coalesce(institution_name, excluded.institution_name),
        attributes = json_patch(excluded.attributes, attributes)`);
  }
}

/** The customer a Plaid id belongs to, if the publisher (or this console, for items it minted) has said so. */
function customerOf(db: Queryable, e: FunnelEventInput): string | null {
  if (e.linkSessionId) {
    const tie = db.select({ customerHash: funnelIdentities.customerHash }).from(funnelIdentities).where(and(eq(funnelIdentities.kind, "link_session"), eq(funnelIdentities.value, e.linkSessionId))).get();
    if (tie) return tie.customerHash;
  }
  if (e.itemId) {
    const tie = db.select({ customerHash: funnelIdentities.customerHash }).from(funnelIdentities).where(and(eq(funnelIdentities.kind, "item"), eq(funnelIdentities.value, e.itemId))).get();
    if (tie) return tie.customerHash;
    const item = db.select({ customerHash: plaidItems.customerHash }).from(plaidItems).where(eq(plaidItems.itemId, e.itemId)).get();
    if (item) return item.customerHash;
  }
  return null;
}

/** Records that a Link session or Item is the customer's, and gives that customer the events that were waiting. */
function tie(db: Queryable, kind: "link_session" | "item", value: string, customerHash: string, at: Date) {
  const inserted = db.insert(funnelIdentities).values({ kind, value, customerHash, firstSeenAt: at }).onConflictDoNothing().returning({ value: funnelIdentities.value }).get();
  if (!inserted) return;
  const match = kind === "link_session" ? eq(funnelEvents.linkSessionId, value) : eq(funnelEvents.itemId, value);
  const waiting = db.update(funnelEvents).set({ customerHash }).where(and(isNull(funnelEvents.customerHash), match)).returning().all();
  for (const e of waiting) applyToRollup(db, { ...e, customerHash });
}

/**
 * Records funnel events from any source, idempotently by event id, keeping the per-customer rollup in step.
 * Call inside a transaction when the events must land together with other changes.
 */
export function recordFunnelEvents(db: Queryable, events: FunnelEventInput[], receivedAt: Date): RecordOutcome[] {
  return events.map((e) => {
    const customerHash = e.customerHash ?? customerOf(db, e);
    const row = db
      .insert(funnelEvents)
      .values({
        eventId: e.eventId,
        name: e.name,
        occurredAt: new Date(e.occurredAt),
        receivedAt,
        source: e.source,
        customerHash,
        linkSessionId: e.linkSessionId ?? null,
        itemId: e.itemId ?? null,
        institutionId: e.institutionId ?? null,
        institutionName: e.institutionName ?? null,
        errorCode: e.errorCode ?? null,
        attributes: e.attributes ?? {},
        apiKeyId: e.apiKeyId ?? null,
      })
      .onConflictDoNothing({ target: funnelEvents.eventId })
      .returning()
      .get();
    if (!row) return "duplicate";
    for (const key of Object.keys(e.attributes ?? {})) db.insert(funnelAttributeKeys).values({ key, firstSeenAt: receivedAt }).onConflictDoNothing().run();
    if (customerHash) {
      applyToRollup(db, { ...row, customerHash });
      if (e.customerHash && e.linkSessionId) tie(db, "link_session", e.linkSessionId, customerHash, receivedAt);
      if (e.customerHash && e.itemId) tie(db, "item", e.itemId, customerHash, receivedAt);
    }
    return "accepted";
  });
}
