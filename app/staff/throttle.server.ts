import { and, desc, eq, gte, lt } from "drizzle-orm";
import type { Db } from "../../db/open";
import { loginFailures } from "../../db/schema";

export type ThrottleLimits = { maxPerAccount: number; maxPerAddress: number; windowMs: number };
export type ThrottleVerdict = { limited: false } | { limited: true; retryAfterSeconds: number };

/**
 * Failures are counted per account and per client address over a sliding window. Once either count reaches its
 * limit, attempts are refused until enough failures have aged out of the window.
 */
export function checkLoginThrottle(
  db: Db,
  input: { email: string; clientAddress: string; now: Date; limits: ThrottleLimits },
): ThrottleVerdict {
  const since = new Date(input.now.getTime() - input.limits.windowMs);
  const waits = [
    waitFor(db, eq(loginFailures.email, input.email), since, input.limits.maxPerAccount),
    waitFor(db, eq(loginFailures.clientAddress, input.clientAddress), since, input.limits.maxPerAddress),
  ].map((freeAt) => (freeAt === null ? 0 : freeAt.getTime() + input.limits.windowMs - input.now.getTime()));
  const waitMs = Math.max(...waits);
  return waitMs > 0 ? { limited: true, retryAfterSeconds: Math.ceil(waitMs / 1000) } : { limited: false };
}

// The failure whose ageing-out brings the count under the limit, or null when the count is already under it.
function waitFor(db: Db, key: ReturnType<typeof eq>, since: Date, max: number): Date | null {
  const row = db
    .select({ at: loginFailures.at })
    .from(loginFailures)
    .where(and(key, gte(loginFailures.at, since)))
    .orderBy(desc(loginFailures.at))
    .limit(1)
    .offset(max - 1)
    .get();
  return row?.at ?? null;
}

export function recordLoginFailure(
  db: Db,
  input: { email: string; clientAddress: string; now: Date; limits: ThrottleLimits },
): void {
  db.transaction((tx) => {
    tx.insert(loginFailures).values({ email: input.email, clientAddress: input.clientAddress, at: input.now }).run();
    tx.delete(loginFailures)
      .where(lt(loginFailures.at, new Date(input.now.getTime() - 2 * input.limits.windowMs)))
      .run();
  });
}

export function clearLoginFailures(db: Db, email: string): void {
  db.delete(loginFailures).where(eq(loginFailures.email, email)).run();
}
