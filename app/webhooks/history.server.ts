import { and, desc, eq, gte, inArray, lt, lte, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { contains } from "../lib/like";
import { parseQuery } from "../lib/query";
import type { Db } from "../../db/open";
import { craReports, webhookDeliveries, webhookEvents } from "../../db/schema";

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2026-11-22")
  .refine((v) => {
    const ms = Date.parse(`${v}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(v);
  }, "No such date");
const token = z.string().trim().max(100).regex(/^[\w.:-]+$/, "Letters, digits, dots, dashes and underscores only");

const filterSchema = z.object({
  type: token.optional(),
  code: token.optional(),
  verdict: z.enum(["verified", "rejected"]).optional(),
  status: z.enum(["handled", "ignored", "failed"]).optional(),
  item: token.optional(),
  user: token.optional(),
  customer: z.string().trim().toLowerCase().regex(/^[0-9a-f]{64}$/, "A customer hash is 64 hex characters").optional(),
  from: day.optional(),
  to: day.optional(),
  q: z.string().max(200, "Search text is at most 200 characters").optional(),
  before: z.coerce.number().int().positive().optional(),
});

export type WebhookFilter = z.infer<typeof filterSchema>;
const KEYS = ["type", "code", "verdict", "status", "item", "user", "customer", "from", "to", "q", "before"] as const;

/** The history filter from a query string: bad values are reported and dropped, never fatal. */
export function parseWebhookFilter(params: URLSearchParams): { filter: WebhookFilter; values: Record<string, string>; errors: Record<string, string> } {
  const { data: filter, values, errors } = parseQuery(filterSchema, params, KEYS);
  return { filter, values, errors };
}

// Written as literals so that SQLite can use the partial index on failed events.
const HANDLING_STATUS_IS = {
  handled: sql`${webhookEvents.handlingStatus} = 'handled'`,
  ignored: sql`${webhookEvents.handlingStatus} = 'ignored'`,
  failed: sql`${webhookEvents.handlingStatus} = 'failed'`,
};

const DAY_MS = 86_400_000;

type Conditions = {
  c: SQL[];
  /** The delivery ids the date range covers, when one is given; `empty` when no delivery falls in it. */
  lowestId: number | null;
  highestId: number | null;
  empty: boolean;
};

/**
 * A date range is turned into a range of delivery ids, each end found with one seek in the received_at index (the
 * receiver stamps deliveries so that received_at does not decrease as the id grows). The page is then an id range of
 * whichever index the other filters pick, however many deliveries the dates cover.
 */
function conditions(db: Db, f: WebhookFilter): Conditions {
  const c: SQL[] = [];
  if (f.type) c.push(eq(webhookDeliveries.webhookType, f.type));
  if (f.code) c.push(eq(webhookDeliveries.webhookCode, f.code));
  if (f.verdict) c.push(eq(webhookDeliveries.verdict, f.verdict));
  if (f.status) c.push(HANDLING_STATUS_IS[f.status]);
  if (f.item) c.push(eq(webhookDeliveries.itemId, f.item));
  if (f.user) c.push(eq(webhookDeliveries.userId, f.user));
  if (f.customer) c.push(eq(webhookDeliveries.customerHash, f.customer));
  let lowestId: number | null = null;
  let highestId: number | null = null;
  let empty = false;
  if (f.from) {
    const from = new Date(`${f.from}T00:00:00Z`);
    lowestId = db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(gte(webhookDeliveries.receivedAt, from)).orderBy(webhookDeliveries.receivedAt, webhookDeliveries.id).limit(1).get()?.id ?? null;
    if (lowestId === null) empty = true;
    else c.push(gte(webhookDeliveries.id, lowestId));
  }
  if (f.to) {
    const end = new Date(Date.parse(`${f.to}T00:00:00Z`) + DAY_MS);
    highestId = db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(lt(webhookDeliveries.receivedAt, end)).orderBy(desc(webhookDeliveries.receivedAt), desc(webhookDeliveries.id)).limit(1).get()?.id ?? null;
    if (highestId === null) empty = true;
    else c.push(lte(webhookDeliveries.id, highestId));
  }
  if (f.q) c.push(contains(sql`cast(${webhookDeliveries.body} as text)`, f.q));
  return { c, lowestId, highestId, empty };
}

const columns = {
  id: webhookDeliveries.id,
  receivedAt: webhookDeliveries.receivedAt,
  verdict: webhookDeliveries.verdict,
  reason: webhookDeliveries.reason,
  answeredStatus: webhookDeliveries.answeredStatus,
  webhookType: webhookDeliveries.webhookType,
  webhookCode: webhookDeliveries.webhookCode,
  itemId: webhookDeliveries.itemId,
  userId: webhookDeliveries.userId,
  customerHash: webhookDeliveries.customerHash,
  eventId: webhookDeliveries.eventId,
  handlingStatus: webhookEvents.handlingStatus,
  deliveryCount: webhookEvents.deliveryCount,
};

/**
 * Text search reads bodies, which no index holds: a page of a text search reads at most this many deliveries, newest
 * first, and says how far back it got. The next page carries on from there.
 */
export const TEXT_SEARCH_WINDOW = 200_000;

export type DeliveryPage = {
  rows: ReturnType<typeof selectPage>;
  nextBefore: number | null;
  /** A text search that stopped at the edge of its window: the oldest delivery it read, and when that arrived. */
  searchedBackTo: { id: number; receivedAt: Date } | null;
};

// Two steps: the ids of the page, read from whichever index the filters pick without touching the rows, then the
// columns of just those rows.
function selectPage(db: Db, c: SQL[], limit: number) {
  const ids = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .leftJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(c.length ? and(...c) : undefined)
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit)
    .all()
    .map((r) => r.id);
  if (!ids.length) return [];
  return db.select(columns).from(webhookDeliveries).leftJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId)).where(inArray(webhookDeliveries.id, ids)).orderBy(desc(webhookDeliveries.id)).all();
}

/** Newest first, keyset-paged on the delivery id: each page is an index range, however deep. */
export function listDeliveries(db: Db, f: WebhookFilter, { limit = 50, textSearchWindow = TEXT_SEARCH_WINDOW } = {}): DeliveryPage {
  const { c, lowestId, highestId, empty } = conditions(db, f);
  if (empty) return { rows: [], nextBefore: null, searchedBackTo: null };
  if (f.before) c.push(lt(webhookDeliveries.id, f.before));
  // An item, user or customer narrows the search to its own few deliveries through their index: no window then.
  let floor: number | null = null;
  if (f.q && !f.item && !f.user && !f.customer) {
    // Separate queries: SQLite answers a lone min() or max() of the rowid from the b-tree's edge, but not both at once.
    const oldest = Math.max(lowestId ?? 0, db.select({ id: sql<number | null>`min(${webhookDeliveries.id})` }).from(webhookDeliveries).get()?.id ?? 0);
    const newest = Math.min(highestId ?? Infinity, db.select({ id: sql<number | null>`max(${webhookDeliveries.id})` }).from(webhookDeliveries).get()?.id ?? 0);
    const top = Math.min(f.before ?? Infinity, newest + 1);
    if (top - textSearchWindow > oldest) {
      floor = top - textSearchWindow;
      c.push(gte(webhookDeliveries.id, floor));
    }
  }
  const rows = selectPage(db, c, limit + 1);
  if (rows.length > limit) return { rows: rows.slice(0, limit), nextBefore: rows[limit - 1]!.id, searchedBackTo: null };
  if (floor === null) return { rows, nextBefore: null, searchedBackTo: null };
  const edge = db.select({ id: webhookDeliveries.id, receivedAt: webhookDeliveries.receivedAt }).from(webhookDeliveries).where(gte(webhookDeliveries.id, floor)).orderBy(webhookDeliveries.id).limit(1).get();
  return { rows, nextBefore: floor, searchedBackTo: edge ?? null };
}

export function* iterateDeliveries(db: Db, f: WebhookFilter) {
  let before = f.before;
  for (;;) {
    const { rows, nextBefore } = listDeliveries(db, { ...f, before }, { limit: 1000 });
    yield* rows;
    if (!nextBefore) return;
    before = nextBefore;
  }
}

/** Events whose handler failed, among those the filter selects: what "re-run every failed" works on. */
export function failedEventIds(db: Db, f: WebhookFilter, limit = 1000): number[] {
  // Starts from the (few) failed events, through their partial index, rather than from every delivery.
  const failed = db.select({ id: webhookEvents.id }).from(webhookEvents).where(HANDLING_STATUS_IS.failed);
  const { c: filters, empty } = conditions(db, { ...f, status: undefined, verdict: "verified" });
  if (empty) return [];
  const c = [...filters, inArray(webhookDeliveries.eventId, failed)];
  return db
    .selectDistinct({ eventId: webhookDeliveries.eventId })
    .from(webhookDeliveries)
    .where(and(...c))
    .limit(limit)
    .all()
    .map((r) => r.eventId!);
}

export function getDelivery(db: Db, id: number) {
  return db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();
}

export function getEventWithDeliveries(db: Db, eventId: number) {
  const event = db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)).get();
  const deliveries = db
    .select({ id: webhookDeliveries.id, receivedAt: webhookDeliveries.receivedAt, verdict: webhookDeliveries.verdict, kid: webhookDeliveries.kid, iat: webhookDeliveries.iat, answeredStatus: webhookDeliveries.answeredStatus })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.eventId, eventId))
    .orderBy(webhookDeliveries.id)
    .all();
  return { event, deliveries };
}

/** The consumer-report requests an event settled (a CHECK_REPORT webhook settles at most one). */
export function reportsSettledBy(db: Db, eventId: number) {
  return db.select({ id: craReports.id, status: craReports.status }).from(craReports).where(eq(craReports.webhookEventId, eventId)).orderBy(craReports.id).all();
}

export function webhooksOfCustomer(db: Db, customerHash: string, limit = 100) {
  return db.select(columns).from(webhookDeliveries).leftJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId)).where(eq(webhookDeliveries.customerHash, customerHash)).orderBy(desc(webhookDeliveries.id)).limit(limit).all();
}

export function webhooksOfItems(db: Db, itemIds: string[], limit = 100) {
  if (!itemIds.length) return [];
  return db.select(columns).from(webhookDeliveries).leftJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId)).where(inArray(webhookDeliveries.itemId, itemIds)).orderBy(desc(webhookDeliveries.id)).limit(limit).all();
}
