import type Database from "better-sqlite3";
import { sqliteOf, type Queryable } from "../../db/open";
import { STEP_COLUMN } from "./steps";

/** An event as the per-customer rollup needs it. */
export type RollupEvent = { name: string; occurredAt: number; institutionId: string | null; institutionName: string | null; attributes: string; customerHash: string };

// The rollup is kept on the ingest and webhook paths: its statements are prepared once per connection.
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
  const claim = (column: "link_session_id" | "item_id") =>
    c.prepare(
      `update funnel_events set customer_hash = ? where customer_hash is null and ${column} = ? returning name, occurred_at as occurredAt, institution_id as institutionId, institution_name as institutionName, attributes`,
    );
  return {
    rollup: Object.fromEntries(Object.entries(STEP_COLUMN).map(([name, column]) => [name, rollup(column)])) as Record<string, Database.Statement>,
    rollupOther: rollup(null),
    claimBySession: claim("link_session_id"),
    claimByItem: claim("item_id"),
  };
}
function statementsFor(db: Queryable) {
  const client = sqliteOf(db);
  let s = prepared.get(client);
  if (!s) prepared.set(client, (s = prepare(client)));
  return s;
}

/** Folds one event into its customer's rollup row: the earliest time per step, the first value per attribute. */
export function applyToRollup(db: Queryable, e: RollupEvent): void {
  const s = statementsFor(db);
  (s.rollup[e.name] ?? s.rollupOther).run(e);
}

/** Gives a customer the funnel events that waited with no customer for this Link session or Item. */
export function claimWaitingFunnelEvents(db: Queryable, kind: "link_session" | "item", value: string, customerHash: string): number {
  const s = statementsFor(db);
  const waiting = (kind === "link_session" ? s.claimBySession : s.claimByItem).all(customerHash, value) as Omit<RollupEvent, "customerHash">[];
  for (const e of waiting) applyToRollup(db, { ...e, customerHash });
  return waiting.length;
}
