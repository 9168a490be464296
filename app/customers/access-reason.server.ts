import { redirect } from "@remix-run/node";
import { and, eq } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { customerAccess } from "../../db/schema";
import type { AppContext } from "../context";
import { recordAudit, type Actor } from "../staff/audit.server";
import type { CurrentStaff } from "../staff/sessions.server";
import { accessReasonPath, type AccessReasonInput } from "./access-reason-form";

/** Why a staff member opened a customer in this session: kept once per customer per session, and in the audit log. */
export type AccessReason = { reason: string; ticket: string | null };

/** The reason given for this customer in this session, or null when none was. */
export function accessReasonOf(db: Queryable, sessionIdHash: string, customerHash: string): AccessReason | null {
  const row = db
    .select({ reason: customerAccess.reason, ticket: customerAccess.ticket })
    .from(customerAccess)
    .where(and(eq(customerAccess.sessionIdHash, sessionIdHash), eq(customerAccess.customerHash, customerHash)))
    .get();
  return row ?? null;
}

/** The audit details that carry a reason: on the entry of the reason itself and on each view it covers. */
export function accessReasonDetails(access: AccessReason | null): Record<string, string> {
  if (!access) return {};
  return access.ticket ? { accessReason: access.reason, ticket: access.ticket } : { accessReason: access.reason };
}

/**
 * Keeps the reason for this customer for the rest of the session (a second one replaces the first) and audits it.
 * The session's end removes it (the rows cascade), so a new session asks again.
 */
export function recordAccessReason(
  db: Db,
  input: { staff: Pick<CurrentStaff, "sessionIdHash"> & NonNullable<Actor>; customerHash: string; given: AccessReasonInput; clientAddress: string; now: Date },
): AccessReason {
  const access: AccessReason = { reason: input.given.reason, ticket: input.given.ticket };
  db.transaction((tx) => {
    tx.insert(customerAccess)
      .values({ sessionIdHash: input.staff.sessionIdHash, customerHash: input.customerHash, reason: access.reason, ticket: access.ticket, at: input.now })
      .onConflictDoUpdate({ target: [customerAccess.sessionIdHash, customerAccess.customerHash], set: { reason: access.reason, ticket: access.ticket, at: input.now } })
      .run();
    recordAudit(tx, {
      actor: { id: input.staff.id, email: input.staff.email, role: input.staff.role },
      action: "customer.access_reason",
      customerHash: input.customerHash,
      clientAddress: input.clientAddress,
      details: accessReasonDetails(access),
      at: input.now,
    });
  });
  return access;
}

export const REASON_REQUIRED_MESSAGE = "Give a reason for opening this customer first: open the customer's page and the console asks for it.";

/**
 * The reason this session gave for opening the customer. With REQUIRE_ACCESS_REASON on and none given yet, a page
 * (a GET) is sent to the prompt, which comes back here; anything else (a form post, a fetch of data) is a 403.
 * With it off, whatever reason was given anyway, or null.
 */
export function requireAccessReason(
  request: Request,
  context: Pick<AppContext, "db" | "config">,
  staff: Pick<CurrentStaff, "sessionIdHash">,
  customerHash: string,
  options: { page: boolean } = { page: true },
): AccessReason | null {
  const access = accessReasonOf(context.db, staff.sessionIdHash, customerHash);
  if (access || !context.config.requireAccessReason) return access;
  if (options.page && request.method.toUpperCase() === "GET") {
    const url = new URL(request.url);
    throw redirect(accessReasonPath(customerHash, url.pathname + url.search));
  }
  throw new Response(REASON_REQUIRED_MESSAGE, { status: 403, statusText: "Reason for access required" });
}
