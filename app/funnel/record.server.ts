import type Database from "better-sqlite3";
import { sqliteOf, type Queryable } from "../../db/open";
import { claimId, ownerOf } from "../customers/identity.server";
import { applyToRollup } from "./rollup.server";
import type { FunnelEventName } from "./steps";

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

// Recording sits on the ingest and webhook paths: its statements are prepared once per connection.
const prepared = new WeakMap<object, ReturnType<typeof prepare>>();
function prepare(c: Database.Database) {
  return {
    insertEvent: c.prepare(
      `insert into funnel_events (event_id, name, occurred_at, received_at, source, customer_hash, link_session_id, item_id, institution_id, institution_name, error_code, attributes, api_key_id)
       values (@eventId, @name, @occurredAt, @receivedAt, @source, @customerHash, @linkSessionId, @itemId, @institutionId, @institutionName, @errorCode, @attributes, @apiKeyId)
       on conflict (event_id) do nothing`,
    ),
    exitDay: c.prepare(
      "insert into funnel_exit_days (day, error_code, errors, exits) values (?, ?, ?, ?) on conflict (day, error_code) do update set errors = errors + excluded.errors, exits = exits + excluded.exits",
    ),
    attributeKey: c.prepare("insert into funnel_attribute_keys (key, first_seen_at) values (?, ?) on conflict do nothing"),
  };
}
function statementsFor(db: Queryable) {
  const client = sqliteOf(db);
  let s = prepared.get(client);
  if (!s) prepared.set(client, (s = prepare(client)));
  return s;
}

/** The customer a Plaid id belongs to, if the identity graph knows. */
function customerOf(db: Queryable, e: FunnelEventInput): string | null {
  return (e.linkSessionId ? ownerOf(db, "link_session", e.linkSessionId) : null) ?? (e.itemId ? ownerOf(db, "item", e.itemId) : null);
}

export type IdConflict = { field: "link_session_id" | "item_id"; ownerHash: string };

/**
 * Records funnel events from any source, idempotently by event id, keeping the per-customer rollup in step.
 * Call inside a transaction when the events must land together with other changes.
 */
export function recordFunnelEvents(db: Queryable, events: FunnelEventInput[], receivedAt: Date, conflicts: IdConflict[][] = []): RecordOutcome[] {
  const s = statementsFor(db);
  const received = receivedAt.getTime();
  return events.map((e, index) => {
    const customerHash = e.customerHash ?? customerOf(db, e);
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
      applyToRollup(db, { ...row, customerHash });
      // An event that names the customer and a Plaid id tells the identity graph whose that id is.
      const claim = (kind: "link_session" | "item", value: string) => {
        const outcome = claimId(db, { kind, value, customerHash, source: e.source === "api" ? "events" : "console", apiKeyId: e.apiKeyId, at: receivedAt });
        if (outcome.status === "conflict") (conflicts[index] ??= []).push({ field: kind === "item" ? "item_id" : "link_session_id", ownerHash: outcome.ownerHash });
      };
      if (e.customerHash && e.linkSessionId) claim("link_session", e.linkSessionId);
      if (e.customerHash && e.itemId) claim("item", e.itemId);
    }
    return "accepted";
  });
}
