import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { sqliteOf, type Queryable } from "../../db/open";
import type { CustomerIdKind } from "../../db/schema";
import { claimWaitingFunnelEvents } from "../funnel/rollup.server";

// The identity graph: the one place that answers "which customer does this id belong to". The webhook receiver, the
// funnel, the registration API, the search box and the customer page all ask here. An id belongs to one customer:
// the first claim holds; a claim for another customer is refused and kept on record, never silently moved.

export type { CustomerIdKind } from "../../db/schema";
export { ID_KIND_LABEL } from "./identity-labels";
export type IdSource = "publisher" | "events" | "console" | "cardlytics";
export type Claim = { kind: CustomerIdKind; value: string; customerHash: string; source: IdSource; apiKeyId?: number | null; at: Date };
export type ClaimOutcome = { status: "claimed"; attributed: number } | { status: "unchanged" } | { status: "conflict"; ownerHash: string };

/** Processor tokens are credentials: the graph keeps their SHA-256, which identifies a token without being one. */
export const tokenFingerprint = (token: string) => createHash("sha256").update(token).digest("hex");

const prepared = new WeakMap<object, ReturnType<typeof prepare>>();
function prepare(c: Database.Database) {
  // Attribution after the fact: what arrived before the mapping (webhook deliveries and their events) becomes the
  // customer's. Each update reads one partial index by id, never the history.
  const deliveries = (column: "item_id" | "user_id" | "link_session_id") => ({
    deliveries: c.prepare(`update webhook_deliveries set customer_hash = ? where ${column} = ? and customer_hash is null`),
    events: c.prepare(
      `update webhook_events set customer_hash = ? where customer_hash is null and id in (select event_id from webhook_deliveries where ${column} = ? and event_id is not null)`,
    ),
  });
  return {
    insert: c.prepare("insert into customer_ids (kind, value, customer_hash, source, api_key_id, first_seen_at) values (?, ?, ?, ?, ?, ?) on conflict do nothing"),
    owner: c.prepare("select customer_hash from customer_ids where kind = ? and value = ?").pluck(),
    conflict: c.prepare("insert into customer_id_conflicts (at, kind, value, owner_hash, claimed_hash, source, api_key_id) values (?, ?, ?, ?, ?, ?, ?)"),
    byValue: c.prepare("select kind, customer_hash as customerHash from customer_ids where value = ? and kind != 'processor_token'"),
    attribute: { item: deliveries("item_id"), check_user: deliveries("user_id"), link_session: deliveries("link_session_id") } as Partial<Record<CustomerIdKind, ReturnType<typeof deliveries>>>,
  };
}
function statementsFor(db: Queryable) {
  const client = sqliteOf(db);
  let s = prepared.get(client);
  if (!s) prepared.set(client, (s = prepare(client)));
  return s;
}

/** The customer an id belongs to, or null when nobody has claimed it. */
export function ownerOf(db: Queryable, kind: CustomerIdKind, value: string): string | null {
  return (statementsFor(db).owner.get(kind, value) as string | undefined) ?? null;
}

/**
 * Claims an id for a customer. A new claim attributes what was waiting for it (webhook deliveries and events, funnel
 * events) in the caller's transaction; the same claim again changes nothing; a claim for another customer is refused
 * and recorded. Call inside a transaction so that the claim and what it attributes land together.
 */
export function claimId(db: Queryable, claim: Claim): ClaimOutcome {
  const s = statementsFor(db);
  const at = claim.at.getTime();
  if (s.insert.run(claim.kind, claim.value, claim.customerHash, claim.source, claim.apiKeyId ?? null, at).changes) {
    return { status: "claimed", attributed: attribute(db, claim.kind, claim.value, claim.customerHash) };
  }
  const owner = s.owner.get(claim.kind, claim.value) as string;
  if (owner === claim.customerHash) return { status: "unchanged" };
  recordConflict(db, claim, owner);
  return { status: "conflict", ownerHash: owner };
}

/** Keeps a refused claim on record. A caller that undoes the claim's savepoint records it again outside it. */
export function recordConflict(db: Queryable, claim: Claim, ownerHash: string): void {
  statementsFor(db).conflict.run(claim.at.getTime(), claim.kind, claim.value, ownerHash, claim.customerHash, claim.source, claim.apiKeyId ?? null);
}

/** Gives the customer what arrived for this id before it was claimed; returns how many deliveries changed hands. */
function attribute(db: Queryable, kind: CustomerIdKind, value: string, customerHash: string): number {
  const s = statementsFor(db);
  const statements = s.attribute[kind];
  let changed = 0;
  if (statements) {
    changed = statements.deliveries.run(customerHash, value).changes;
    if (changed) statements.events.run(customerHash, value);
  }
  if (kind === "item" || kind === "link_session") claimWaitingFunnelEvents(db, kind, value, customerHash);
  return changed;
}

/** Every customer an exact id belongs to, in any kind (an item_id and a user_id never look alike, but may). */
export function customersById(db: Queryable, value: string): { kind: CustomerIdKind; customerHash: string }[] {
  return statementsFor(db).byValue.all(value) as { kind: CustomerIdKind; customerHash: string }[];
}

export function idsOfCustomer(db: Queryable, customerHash: string): { kind: CustomerIdKind; value: string; source: IdSource; firstSeenAt: number }[] {
  return sqliteOf(db)
    .prepare("select kind, value, source, first_seen_at as firstSeenAt from customer_ids where customer_hash = ? order by first_seen_at")
    .all(customerHash) as { kind: CustomerIdKind; value: string; source: IdSource; firstSeenAt: number }[];
}

export function conflictsOfCustomer(db: Queryable, customerHash: string, limit = 20) {
  return sqliteOf(db)
    .prepare(
      "select id, at, kind, value, owner_hash as ownerHash, claimed_hash as claimedHash, source from customer_id_conflicts where owner_hash = ? or claimed_hash = ? order by id desc limit ?",
    )
    .all(customerHash, customerHash, limit) as { id: number; at: number; kind: CustomerIdKind; value: string; ownerHash: string; claimedHash: string; source: IdSource }[];
}
