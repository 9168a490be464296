import { and, desc, eq, max } from "drizzle-orm";
import type { Db } from "../../db/open";
import { auditLog } from "../../db/schema";
import { recordAudit, type Actor } from "../staff/audit.server";
import { hashCustomerId } from "./customer-hash.server";
import { parseLookup, type LookupMode } from "./customer-id";
import { customersById, ID_KIND_LABEL } from "./identity.server";

export type LookupResult = { ok: true; hash: string; by: string } | { ok: false; message: string };

const VENDOR_ID_SHAPES = [
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, // link_session_id, Cardlytics requestId
  /^usr_[A-Za-z0-9]+$/, // Plaid Check user_id
  /^[A-Za-z0-9]{37}$/, // Plaid item_id, account_id
  /^[A-Za-z0-9]{15}$/, // Plaid request_id
];
const TOKEN_SHAPE = /^(access|public|link|processor|user)-(sandbox|development|production)-/;

/**
 * The customer a Plaid or Cardlytics id belongs to: an item_id, link_session_id, Check user_id or Cardlytics
 * accountId from the identity graph, or a request id the console has seen on a Cardlytics check, a processor token
 * handed to Cardlytics, or a consumer report.
 */
export function customerByVendorId(db: Db, value: string): { hash: string; by: string } | null {
  const graph = customersById(db, value)[0];
  if (graph) return { hash: graph.customerHash, by: ID_KIND_LABEL[graph.kind] };
  const c = db.$client;
  const check = c.prepare("select customer_hash from account_link_checks where request_id = ? limit 1").pluck().get(value) as string | undefined;
  if (check) return { hash: check, by: "Cardlytics requestId" };
  const token = c.prepare("select i.customer_hash from processor_tokens t join plaid_items i on i.item_id = t.item_id where t.cardlytics_request_id = ? limit 1").pluck().get(value) as string | undefined;
  if (token) return { hash: token, by: "Cardlytics requestId" };
  const report = c.prepare("select customer_hash from cra_reports where plaid_request_id = ? limit 1").pluck().get(value) as string | undefined;
  if (report) return { hash: report, by: "Plaid request_id" };
  return null;
}

/**
 * Resolves what an agent typed to a customer hash. A raw id is hashed here and goes no further: only the hash and
 * the fact that a raw id was typed reach the audit log.
 */
export function lookUpCustomer(
  db: Db,
  input: { query: string; mode: LookupMode | "vendor"; hmacKey: string; actor: NonNullable<Actor>; clientAddress: string; now: Date },
): LookupResult {
  const typed = input.query.trim();
  if (TOKEN_SHAPE.test(typed)) return { ok: false, message: "That is a Plaid token, which is a credential: never paste tokens. Search by the item_id, link_session_id or user_id instead." };
  const found = input.mode === "auto" || input.mode === "vendor" ? (typed.length <= 128 ? customerByVendorId(db, typed) : null) : null;
  let hash: string;
  let by: string;
  if (found) ({ hash, by } = found);
  else {
    if (input.mode === "vendor") return { ok: false, message: "No customer has that id on record: no item_id, link_session_id, Check user_id, Cardlytics accountId or request id matches it." };
    const parsed = parseLookup(input.query, input.mode);
    if (!parsed.ok) return parsed;
    if (parsed.kind === "raw" && input.mode === "auto" && VENDOR_ID_SHAPES.some((shape) => shape.test(parsed.rawId))) {
      return { ok: false, message: "Nothing on record matches that Plaid or Cardlytics id. If it is an internal customer id, look it up again as an internal id." };
    }
    hash = parsed.kind === "hash" ? parsed.hash : hashCustomerId(parsed.rawId, input.hmacKey);
    by = parsed.kind === "hash" ? "hashed id" : "internal id";
  }
  // Only what matched is kept: the kind of id, never what was typed.
  recordAudit(db, { actor: input.actor, action: "customer.lookup", customerHash: hash, clientAddress: input.clientAddress, details: { by }, at: input.now });
  return { ok: true, hash, by };
}

/** The customers this staff member looked up most recently, newest first, each once. */
export function recentLookups(db: Db, staffUserId: number, limit = 10) {
  return db
    .select({ customerHash: auditLog.customerHash, at: max(auditLog.at) })
    .from(auditLog)
    .where(and(eq(auditLog.staffUserId, staffUserId), eq(auditLog.action, "customer.lookup")))
    .groupBy(auditLog.customerHash)
    .orderBy(desc(max(auditLog.at)))
    .limit(limit)
    .all()
    .flatMap((r) => (r.customerHash && r.at ? [{ customerHash: r.customerHash, at: new Date(r.at) }] : []));
}
