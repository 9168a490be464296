import { and, desc, eq, gte, lt } from "drizzle-orm";
import type { Db } from "../../db/open";
import { loginFailures } from "../../db/schema";

export type ThrottleLimits = { maxPerAccountAddress: number; windowMs: number; maxAccountWide: number; accountWideWindowMs: number; knownAddressMs: number };
export type ThrottleVerdict = { limited: false } | { limited: true; scope: "account-address" | "account"; retryAfterSeconds: number };

/**
 * Failed sign-ins are throttled so that knowing a staff email is not enough to lock that person out:
 *
 * 1. First by (account, client address): a few failures for one account from one address, over a short window,
 *    refuse further attempts for that account from that address only. The same account from anywhere else, and
 *    other accounts from the same address (everyone behind one proxy), are not affected.
 * 2. Then account-wide, softer and slower: many failures for one account from any addresses over a longer window
 *    refuse it from everywhere, except from an address the account signed in from recently. The limit is set above
 *    what one address can reach on its own (checked at start-up), so it takes guesses spread over many addresses.
 *
 * Both windows slide: each failure that ages out frees one attempt. Unknown emails are counted like real ones, so a
 * refusal says nothing about which accounts exist.
 */
export function checkLoginThrottle(db: Db, input: { email: string; clientAddress: string; now: Date; limits: ThrottleLimits }): ThrottleVerdict {
  const { limits, now } = input;
  const pair = waitMs(db, and(eq(loginFailures.email, input.email), eq(loginFailures.clientAddress, input.clientAddress)), now, limits.maxPerAccountAddress, limits.windowMs);
  if (pair > 0) return { limited: true, scope: "account-address", retryAfterSeconds: Math.ceil(pair / 1000) };
  const account = waitMs(db, eq(loginFailures.email, input.email), now, limits.maxAccountWide, limits.accountWideWindowMs);
  if (account > 0 && !signedInFrom(db, input.email, input.clientAddress, new Date(now.getTime() - limits.knownAddressMs))) {
    return { limited: true, scope: "account", retryAfterSeconds: Math.ceil(account / 1000) };
  }
  return { limited: false };
}

// How long until enough failures age out of the window to bring the count under the limit; 0 when it already is.
function waitMs(db: Db, key: ReturnType<typeof and>, now: Date, max: number, windowMs: number): number {
  const row = db
    .select({ at: loginFailures.at })
    .from(loginFailures)
    .where(and(key, gte(loginFailures.at, new Date(now.getTime() - windowMs))))
    .orderBy(desc(loginFailures.at))
    .limit(1)
    .offset(max - 1)
    .get();
  return row ? Math.max(0, row.at.getTime() + windowMs - now.getTime()) : 0;
}

/** Whether the account signed in successfully from this address since the given time (its audit trail says so). */
function signedInFrom(db: Db, email: string, clientAddress: string, since: Date): boolean {
  return Boolean(
    db.$client
      .prepare(
        `select 1 from audit_log a join staff_users u on u.id = a.staff_user_id
         where u.email = @email and a.action = 'staff.login' and a.client_address = @address and a.at >= @since limit 1`,
      )
      .get({ email, address: clientAddress, since: since.getTime() }),
  );
}

export function recordLoginFailure(db: Db, input: { email: string; clientAddress: string; now: Date; limits: ThrottleLimits }): void {
  const keepMs = 2 * Math.max(input.limits.windowMs, input.limits.accountWideWindowMs);
  db.transaction((tx) => {
    tx.insert(loginFailures).values({ email: input.email, clientAddress: input.clientAddress, at: input.now }).run();
    tx.delete(loginFailures)
      .where(lt(loginFailures.at, new Date(input.now.getTime() - keepMs)))
      .run();
  });
}

/**
 * A successful sign-in forgets the failures from its own address only: those from elsewhere still count toward the
 * account-wide limit, and an attacker's own count is not reset by the real person signing in.
 */
export function clearLoginFailures(db: Db, email: string, clientAddress: string): void {
  db.delete(loginFailures)
    .where(and(eq(loginFailures.email, email), eq(loginFailures.clientAddress, clientAddress)))
    .run();
}
