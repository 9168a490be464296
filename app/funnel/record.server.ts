import type Database from "better-sqlite3";
import { sqliteOf, type Queryable } from "../../db/open";
import { STEP_COLUMN, type FunnelEventName } from "./steps";

const DAY_MS = 86_400_000;

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

type StoredEvent = { name: string; occurredAt: number; institutionId: string | null; institutionName: string | null; attributes: string; customerHash: string };

// Recording sits on the ingest and webhook paths: its statements are prepared once per connection.
const prepared = new WeakMap<object, ReturnType<typeof prepare>>();
function prepare(c: Database.Database) {
  const rollup = (column: string | null) =>
    c.prepare(`insert into funnel_customers (customer_hash, ${column ? `${column}, ` : ""}institution_id, institution_name, attributes)
      values (@customerHash, ${column ? "@occurredAt, " : ""}@institutionId, @institutionName, @attributes)
      on conflict (customer_hash) do update set
        ${column ? `${column} = min(coalesce(${column}, excluded.${column}), excluded.${column}),` : ""}
        institution_id = coalesce(institution_id, excluded.institution_id),
        institution_name = coalesce(institution_name, excluded.institution_name),
        attributes = case when excluded.attributes = '{}' then attributes else json_patch(excluded.attributes, attributes) end`);
  return {
    rollup: Object.fromEntries(Object.entries(STEP_COLUMN).map(([name, column]) => [name, rollup(column)])) as Record<string, Database.Statement>,
    rollupOther: rollup(null),
    insertEvent: c.prepare(
      `insert into funnel_events (event_id, name, occurred_at, received_at, source, customer_hash, link_session_id, item_id, institution_id, institution_name, error_code, attributes, api_key_id)
       values (@eventId, @name, @occurredAt, @receivedAt, @source, @customerHash, @linkSessionId, @itemId, @institutionId, @institutionName, @errorCode, @attributes, @apiKeyId)
       on conflict (event_id) do nothing`,
    ),
    exitDay: c.prepare(
      "insert into funnel_exit_days (day, error_code, errors, exits) values (?, ?, ?, ?) on conflict (day, error_code) do update set errors = errors + excluded.errors, exits = exits + excluded.exits",
    ),
    attributeKey: c.prepare("insert into funnel_attribute_keys (key, first_seen_at) values (?, ?) on conflict do nothing"),
    identity: c.prepare("select customer_hash from funnel_identities where kind = ? and value = ?").pluck(),
    itemOwner: c.prepare("select customer_hash from plaid_items where item_id = ?").pluck(),
    tie: c.prepare("insert into funnel_identities (kind, value, customer_hash, first_seen_at) values (?, ?, ?, ?) on conflict do nothing"),
    claimBySession: c.prepare(
      "update funnel_events set customer_hash = ? where customer_hash is null and link_session_id = ? returning name, occurred_at as occurredAt, institution_id as institutionId, institution_name as institutionName, attributes",
    ),
    claimByItem: c.prepare(
      "update funnel_events set customer_hash = ? where customer_hash is null and item_id = ? returning name, occurred_at as occurredAt, institution_id as institutionId, institution_name as institutionName, attributes",
    ),
  };
}
function statementsFor(db: Queryable) {
  const client = sqliteOf(db);
  let s = prepared.get(client);
  if (!s) prepared.set(client, (s = prepare(client)));
  return s;
}
type Statements = ReturnType<typeof prepare>;

/** Folds one event into its customer's rollup row: the earliest time per step, the first value per attribute. */
function applyToRollup(s: Statements, e: StoredEvent) {
  (s.rollup[e.name] ?? s.rollupOther).run(e);
}

/** The customer a Plaid id belongs to, if the publisher (or this console, for items it minted) has said so. */
function customerOf(s: Statements, e: FunnelEventInput): string | null {
  const bySession = e.linkSessionId ? (s.identity.get("link_session", e.linkSessionId) as string | undefined) : undefined;
  if (bySession) return bySession;
  if (!e.itemId) return null;
  return ((s.identity.get("item", e.itemId) ?? s.itemOwner.get(e.itemId)) as string | undefined) ?? null;
}

/** Records that a Link session or Item is the customer's, and gives that customer the events that were waiting. */
function tie(s: Statements, kind: "link_session" | "item", value: string, customerHash: string, at: number) {
  if (!s.tie.run(kind, value, customerHash, at).changes) return;
  const waiting = (kind === "link_session" ? s.claimBySession : s.claimByItem).all(customerHash, value) as Omit<StoredEvent, "customerHash">[];
  for (const e of waiting) applyToRollup(s, { ...e, customerHash });
}

/**
 * Records funnel events from any source, idempotently by event id, keeping the per-customer rollup in step.
 * Call inside a transaction when the events must land together with other changes.
 */
export function recordFunnelEvents(db: Queryable, events: FunnelEventInput[], receivedAt: Date): RecordOutcome[] {
  const s = statementsFor(db);
  const received = receivedAt.getTime();
  return events.map((e) => {
    const customerHash = e.customerHash ?? customerOf(s, e);
    const row = {
      eventId: e.eventId,
      name: e.name,
      occurredAt: e.occurredAt,
      receivedAt: received,
      source: e.source,
      customerHash,
      linkSessionId: e.linkSessionId ?? null,
      itemId: e.itemId ?? null,
      institutionId: e.institutionId ?? null,
      institutionName: e.institutionName ?? null,
      errorCode: e.errorCode ?? null,
      attributes: JSON.stringify(e.attributes ?? {}),
      apiKeyId: e.apiKeyId ?? null,
    };
    if (!s.insertEvent.run(row).changes) return "duplicate";
    for (const key of Object.keys(e.attributes ?? {})) s.attributeKey.run(key, received);
    if (e.name === "link_error" || e.name === "link_exit") s.exitDay.run(Math.floor(e.occurredAt / DAY_MS), e.errorCode ?? "", e.name === "link_error" ? 1 : 0, e.name === "link_exit" ? 1 : 0);
    if (customerHash) {
      applyToRollup(s, { ...row, customerHash });
      if (e.customerHash && e.linkSessionId) tie(s, "link_session", e.linkSessionId, customerHash, received);
      if (e.customerHash && e.itemId) tie(s, "item", e.itemId, customerHash, received);
    }
    return "accepted";
  });
}
