import { and, count, eq, gte, inArray, lt, notExists, sql } from "drizzle-orm";
import type { Db } from "../../db/open";
import { craReports, webhookDeliveries, webhookEvents } from "../../db/schema";

const DAY = 86_400_000;

/**
 * Deletes deliveries older than the retention period, then the events left with no delivery. An event that settled a
 * consumer report stays, so that the report still says which webhook settled it.
 */
export function pruneWebhooks(db: Db, now: Date, retentionDays: number): { deliveries: number; events: number } {
  const cutoff = new Date(now.getTime() - retentionDays * DAY);
  return db.transaction((tx) => {
    const deliveries = tx.delete(webhookDeliveries).where(lt(webhookDeliveries.receivedAt, cutoff)).run().changes;
    const events = tx
      .delete(webhookEvents)
      .where(
        and(
          lt(webhookEvents.lastReceivedAt, cutoff),
          notExists(tx.select({ one: sql`1` }).from(webhookDeliveries).where(eq(webhookDeliveries.eventId, webhookEvents.id))),
          notExists(tx.select({ one: sql`1` }).from(craReports).where(eq(craReports.webhookEventId, webhookEvents.id))),
        ),
      )
      .run().changes;
    return { deliveries, events };
  });
}

export type RejectionAlert = { total: number; rejected: number; share: number } | null;

/** Raised when more than a fifth of at least 10 deliveries in the last hour were refused. */
export function rejectionAlert(db: Db, now: Date): RejectionAlert {
  const since = new Date(now.getTime() - 3600_000);
  const rows = db
    .select({ verdict: webhookDeliveries.verdict, n: count() })
    .from(webhookDeliveries)
    .where(and(gte(webhookDeliveries.receivedAt, since), inArray(webhookDeliveries.verdict, ["verified", "rejected"])))
    .groupBy(webhookDeliveries.verdict)
    .all();
  const total = rows.reduce((s, r) => s + r.n, 0);
  const rejected = rows.find((r) => r.verdict === "rejected")?.n ?? 0;
  const share = total ? rejected / total : 0;
  return total >= 10 && share > 0.2 ? { total, rejected, share } : null;
}
