import { and, asc, count, desc, eq, gt, gte, isNotNull, isNull, lt, lte, ne, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/open";
import { craBulkRows, craReports, staffUsers } from "../../db/schema";
import { parseQuery } from "../lib/query";
import { REPORT_LIFETIME_MS } from "./check-reports.server";
import { AGES, REPORT_STATES, type ReportState } from "./report-states";

const filterSchema = z.object({
  status: z.enum(REPORT_STATES, { error: `Choose a state: ${REPORT_STATES.join(", ")}` }).optional(),
  age: z.enum(["1h", "24h", "7d", "30d", "older"], { error: "Choose an age from the list" }).optional(),
  requester: z.union([z.literal("plaid"), z.coerce.number().int().positive()], { error: "Choose a requester from the list" }).optional(),
  customer: z.string().trim().toLowerCase().regex(/^[0-9a-f]{64}$/, "A customer hash is 64 hex characters").optional(),
  run: z.coerce.number({ error: "A bulk run is a number" }).int().positive("A bulk run is a positive number").optional(),
  before: z.coerce.number().int().positive().optional(),
});

export type ReportFilter = z.infer<typeof filterSchema>;
export const FILTER_KEYS = ["status", "age", "requester", "customer", "run", "before"] as const;

/** The list's filter from a query string: a bad value is reported beside its field and left out. */
export function parseReportFilter(params: URLSearchParams) {
  const { data, values, errors } = parseQuery(filterSchema, params, FILTER_KEYS);
  return { filter: data, values, errors };
}

type Clock = { now: number; webhookTimeoutMs: number };

// A report's creation, as `reportExpiresAt` reads it: when the request was sent, else when Plaid said it was done.
const createdAt = sql`coalesce(${craReports.sentAt}, ${craReports.completedAt})`;

/** The derived states as index-friendly conditions; they agree with `reportState`. */
function stateCondition(state: ReportState, c: Clock): SQL {
  const stuckBefore = new Date(c.now - c.webhookTimeoutMs);
  const expiredBefore = new Date(c.now - REPORT_LIFETIME_MS);
  switch (state) {
    case "queued":
      return eq(craReports.status, "queued");
    case "failed":
      return eq(craReports.status, "failed");
    case "pending":
      return and(eq(craReports.status, "pending"), or(isNull(craReports.sentAt), gt(craReports.sentAt, stuckBefore)))!;
    case "stuck":
      return and(eq(craReports.status, "pending"), lte(craReports.sentAt, stuckBefore))!;
    case "expired":
      return and(eq(craReports.status, "ready"), or(eq(craReports.probeCode, "CONSUMER_REPORT_EXPIRED"), sql`${createdAt} <= ${expiredBefore.getTime()}`))!;
    case "ready":
      return and(eq(craReports.status, "ready"), or(isNull(craReports.probeCode), ne(craReports.probeCode, "CONSUMER_REPORT_EXPIRED")), sql`(${createdAt} is null or ${createdAt} > ${expiredBefore.getTime()})`)!;
  }
}

function conditions(f: ReportFilter, c: Clock): SQL[] {
  const out: SQL[] = [];
  if (f.status) out.push(stateCondition(f.status, c));
  if (f.age === "older") out.push(lt(craReports.requestedAt, new Date(c.now - AGES["30d"])));
  else if (f.age) out.push(gte(craReports.requestedAt, new Date(c.now - AGES[f.age])));
  if (f.requester === "plaid") out.push(eq(craReports.origin, "plaid"));
  else if (f.requester) out.push(eq(craReports.requestedBy, f.requester));
  if (f.customer) out.push(eq(craReports.customerHash, f.customer));
  if (f.run) out.push(eq(craBulkRows.runId, f.run));
  return out;
}

const columns = {
  id: craReports.id,
  customerHash: craReports.customerHash,
  status: craReports.status,
  origin: craReports.origin,
  reason: craReports.reason,
  purpose: craReports.purpose,
  daysRequested: craReports.daysRequested,
  products: craReports.products,
  requestedAt: craReports.requestedAt,
  sentAt: craReports.sentAt,
  completedAt: craReports.completedAt,
  errorCode: craReports.errorCode,
  failedProducts: craReports.failedProducts,
  plaidRequestId: craReports.plaidRequestId,
  probeCode: craReports.probeCode,
  probedAt: craReports.probedAt,
  retryAt: craReports.retryAt,
  settledBy: craReports.settledBy,
  requesterEmail: staffUsers.email,
  bulkRunId: craBulkRows.runId,
};

/** Newest first, keyset-paged on the request id. */
export function listReports(db: Db, f: ReportFilter, c: Clock, limit = 50) {
  const where = conditions(f, c);
  if (f.before) where.push(lt(craReports.id, f.before));
  const rows = db
    .select(columns)
    .from(craReports)
    .leftJoin(staffUsers, eq(staffUsers.id, craReports.requestedBy))
    .leftJoin(craBulkRows, eq(craBulkRows.reportId, craReports.id))
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(craReports.id))
    .limit(limit + 1)
    .all();
  return { rows: rows.slice(0, limit), nextBefore: rows.length > limit ? rows[limit - 1]!.id : null };
}

export function* iterateReports(db: Db, f: ReportFilter, c: Clock) {
  let before = f.before;
  for (;;) {
    const { rows, nextBefore } = listReports(db, { ...f, before }, c, 1000);
    yield* rows;
    if (!nextBefore) return;
    before = nextBefore;
  }
}

/** How many requests are in each state, over everything: the counts on the state tabs. */
export function countByState(db: Db, c: Clock): Record<ReportState, number> {
  const out = Object.fromEntries(REPORT_STATES.map((s) => [s, 0])) as Record<ReportState, number>;
  for (const state of REPORT_STATES) out[state] = db.select({ n: count() }).from(craReports).where(stateCondition(state, c)).get()?.n ?? 0;
  return out;
}

/** Staff who have requested a report, for the requester filter. */
export function reportRequesters(db: Db) {
  return db
    .selectDistinct({ id: staffUsers.id, email: staffUsers.email })
    .from(craReports)
    .innerJoin(staffUsers, eq(staffUsers.id, craReports.requestedBy))
    .where(isNotNull(craReports.requestedBy))
    .orderBy(asc(staffUsers.email))
    .all();
}
