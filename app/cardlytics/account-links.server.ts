import { and, asc, desc, eq, lte, sql } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { accountLinkChecks, cardlyticsAccounts, customers } from "../../db/schema";
import { recordConsoleStep } from "../funnel/sources.server";
import { claimId } from "../customers/identity.server";
import type { AccountLinkResult, CardlyticsAccount, CardlyticsClient } from "./client.server";

export type AccountLinkDeps = { db: Db; cardlytics: Pick<CardlyticsClient, "accountLink">; now: () => Date };

export type StoredCheck = typeof accountLinkChecks.$inferSelect;

export function touchCustomer(db: Queryable, hash: string, at: Date): void {
  db.insert(customers)
    .values({ hash, firstSeenAt: at, lastSeenAt: at })
    .onConflictDoUpdate({ target: customers.hash, set: { lastSeenAt: sql`max(${customers.lastSeenAt}, ${at.getTime()})` } })
    .run();
}

/**
 * Asks Cardlytics for the customer's linked accounts and records the answer, whatever it is. A failed call is
 * recorded too and leaves the last known accounts in place; canned mock data never replaces real accounts.
 */
export async function checkAccountLink(
  deps: AccountLinkDeps,
  input: { customerHash: string; mockData: boolean; staffUserId: number | null },
): Promise<{ check: StoredCheck; result: AccountLinkResult }> {
  const result = await deps.cardlytics.accountLink(input.customerHash, { mockData: input.mockData });
  const at = deps.now();
  const check = deps.db.transaction((tx) => {
    touchCustomer(tx, input.customerHash, at);
    const row = tx
      .insert(accountLinkChecks)
      .values({
        customerHash: input.customerHash,
        checkedAt: at,
        outcome: result.outcome,
        httpStatus: result.httpStatus,
        failureReason: result.outcome === "failed" ? result.reason : null,
        message: result.outcome === "failed" ? result.message.slice(0, 500) : null,
        requestId: result.requestId,
        latencyMs: result.latencyMs,
        attempts: result.attempts,
        mockData: input.mockData,
        accounts: result.outcome === "linked" ? result.accounts : null,
        staffUserId: input.staffUserId,
      })
      .returning()
      .get();
    if (result.outcome !== "failed" && !input.mockData) {
      tx.delete(cardlyticsAccounts).where(eq(cardlyticsAccounts.customerHash, input.customerHash)).run();
      for (const account of result.outcome === "linked" ? result.accounts : []) {
        tx.insert(cardlyticsAccounts)
          .values({ customerHash: input.customerHash, ...account, checkId: row.id })
          .onConflictDoNothing()
          .run();
        claimId(tx, { kind: "cardlytics_account", value: account.accountId, customerHash: input.customerHash, source: "cardlytics", at });
      }
      // The first check that finds an OPEN account is when the customer reached the funnel's last step.
      if (result.outcome === "linked" && result.accounts.some((a) => a.status === "OPEN")) {
        recordConsoleStep(tx, { key: input.customerHash, name: "account_linked", customerHash: input.customerHash, at });
      }
    }
    return row;
  });
  return { check, result };
}

export function checkHistory(db: Db, customerHash: string, limit = 50): StoredCheck[] {
  return db
    .select()
    .from(accountLinkChecks)
    .where(eq(accountLinkChecks.customerHash, customerHash))
    .orderBy(desc(accountLinkChecks.checkedAt), desc(accountLinkChecks.id))
    .limit(limit)
    .all();
}

export function knownAccounts(db: Db, customerHash: string): CardlyticsAccount[] {
  return db
    .select({
      accountId: cardlyticsAccounts.accountId,
      status: cardlyticsAccounts.status,
      last4: cardlyticsAccounts.last4,
      cardType: cardlyticsAccounts.cardType,
      name: cardlyticsAccounts.name,
      fiName: cardlyticsAccounts.fiName,
      linkedDate: cardlyticsAccounts.linkedDate,
      expirationDate: cardlyticsAccounts.expirationDate,
    })
    .from(cardlyticsAccounts)
    .where(eq(cardlyticsAccounts.customerHash, customerHash))
    .orderBy(asc(cardlyticsAccounts.accountId))
    .all();
}

export type ExpiringSort = "expiration" | "customer" | "institution";

/** OPEN accounts whose expirationDate falls before `until` (expired ones included), from the latest checks. */
export function expiringAccounts(db: Db, input: { until: Date; sort: ExpiringSort; limit: number; offset?: number }) {
  const order = {
    expiration: [asc(cardlyticsAccounts.expirationDate), asc(cardlyticsAccounts.customerHash)],
    customer: [asc(cardlyticsAccounts.customerHash), asc(cardlyticsAccounts.expirationDate)],
    institution: [asc(cardlyticsAccounts.fiName), asc(cardlyticsAccounts.expirationDate)],
  }[input.sort];
  return db
    .select({
      customerHash: cardlyticsAccounts.customerHash,
      accountId: cardlyticsAccounts.accountId,
      fiName: cardlyticsAccounts.fiName,
      last4: cardlyticsAccounts.last4,
      cardType: cardlyticsAccounts.cardType,
      expirationDate: cardlyticsAccounts.expirationDate,
      checkedAt: accountLinkChecks.checkedAt,
    })
    .from(cardlyticsAccounts)
    .innerJoin(accountLinkChecks, eq(accountLinkChecks.id, cardlyticsAccounts.checkId))
    .where(and(eq(cardlyticsAccounts.status, "OPEN"), lte(cardlyticsAccounts.expirationDate, input.until.getTime())))
    .orderBy(...order)
    .limit(input.limit)
    .offset(input.offset ?? 0)
    .all();
}
