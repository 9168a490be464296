import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "../../db/open";
import { webhookEvents } from "../../db/schema";
import { readCappedBody } from "../lib/capped-body.server";
import { handleWebhook, type WebhookBody } from "./handlers.server";
import { redactTokens } from "./redact.server";
import { keptOfRefused, refusalBudgetFor } from "./refusals.server";
import { verifyPlaidWebhook, type PlaidKeyCache, type Verification } from "./verify.server";

export const MAX_WEBHOOK_BYTES = 1024 * 1024;
const KEPT_HEADERS = ["content-type", "content-length", "user-agent", "plaid-verification"];

export type ReceiveDeps = { db: Db; keys: PlaidKeyCache; now: () => Date };
/** handling: what the handler made of a new verified event (null for a refusal or a redelivery). */
export type Receipt = { status: number; reason: string | null; deliveryId: number; eventId: number | null; duplicate: boolean; handling?: "handled" | "ignored" | "failed" | null };

/**
 * The answer to the sender. A refusal says why, except when Plaid's key could not be fetched: what went wrong there
 * is about this console's own Plaid connection, kept in the stored reason and not told to whoever posted.
 */
export function answerOf(receipt: Receipt): { status: number; body: { received: boolean; duplicate?: boolean; error?: string } } {
  if (receipt.status === 200) return { status: 200, body: { received: true, duplicate: receipt.duplicate } };
  const error = receipt.status === 503 ? "verification key could not be fetched; send it again later" : (receipt.reason ?? "refused");
  return { status: receipt.status, body: { received: false, error } };
}

/** Reads at most 1 MB of the body; a larger one is refused without keeping the rest (app/lib/capped-body.server.ts). */
export function readRawBody(request: Request): Promise<Buffer | "too-large"> {
  return readCappedBody(request, MAX_WEBHOOK_BYTES);
}

function parse(raw: Buffer): WebhookBody | null {
  try {
    const value = JSON.parse(raw.toString("utf8")) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as WebhookBody) : null;
  } catch {
    return null;
  }
}

const text = (v: unknown) => (typeof v === "string" ? v.slice(0, 200) : null);

/**
 * Verifies, stores and handles one delivery. Every delivery is stored, whatever the verdict; the answer is decided
 * only after the transaction has committed, so a 200 always means the event is on disk.
 */
export async function receivePlaidWebhook(deps: ReceiveDeps, request: Request, clientAddress: string): Promise<Receipt> {
  return receiveDelivery(deps, { raw: await readRawBody(request), header: (name) => request.headers.get(name), clientAddress });
}

export type Delivery = { raw: Buffer | "too-large"; header: (name: string) => string | null; clientAddress: string };

/** A delivery verified and parsed, waiting for the next group commit. */
type Verdict = {
  at: number;
  receivedAt: Date;
  status: number;
  reason: string | null;
  body: Buffer;
  bodySha256: string;
  parsed: WebhookBody | null;
  headers: string;
  kid: string | null;
  iat: number | null;
  webhookType: string | null;
  webhookCode: string | null;
  itemId: string | null;
  userId: string | null;
  linkSessionId: string | null;
  clientAddress: string;
};

/** The receiver proper, independent of how the bytes arrived (Remix route or the server's direct path). */
export async function receiveDelivery(deps: ReceiveDeps, delivery: Delivery): Promise<Receipt> {
  const { raw, clientAddress } = delivery;
  const receivedAt = deps.now();
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = delivery.header(name);
    if (value) headers[name] = value.slice(0, 4000);
  }
  const body = raw === "too-large" ? Buffer.alloc(0) : raw;
  const bodySha256 = createHash("sha256").update(body).digest("hex");
  const verification: Verification | { ok: false; status: 413; reason: string; kid?: string; iat?: number } =
    raw === "too-large" ? { ok: false, status: 413, reason: "body larger than 1 MB" } : await verifyPlaidWebhook(bodySha256, delivery.header("plaid-verification"), deps.keys, receivedAt.getTime());
  const parsed = parse(body);
  let status: number = verification.ok ? 200 : verification.status;
  let reason: string | null = verification.ok ? null : verification.reason;
  if (verification.ok && !parsed) {
    status = 400;
    reason = "signature verified but the body is not a JSON object";
  }
  // A refusal is kept bounded, and not at all past its source's per-minute budget (app/webhooks/refusals.server.ts).
  let kept = body;
  if (status !== 200) {
    const budget = refusalBudgetFor(deps.db.$client).admit(clientAddress, receivedAt.getTime());
    if (!budget.store) return { status, reason, deliveryId: 0, eventId: null, duplicate: false };
    const bounded = keptOfRefused(body);
    kept = bounded.kept;
    const notes = [bounded.note, budget.droppedBefore ? `${budget.droppedBefore} earlier refusals from this address in a minute were not stored` : null].filter(Boolean);
    if (notes.length) reason = `${reason} (${notes.join("; ")})`;
  }
  return writerFor(deps.db).write({
    at: receivedAt.getTime(),
    receivedAt,
    status,
    reason,
    // Stored with token values redacted; the hash stays that of the bytes received (app/webhooks/redact.server.ts).
    body: redactTokens(kept),
    bodySha256,
    parsed,
    headers: JSON.stringify(headers),
    kid: verification.ok ? verification.kid : (verification.kid ?? null),
    iat: verification.ok ? verification.iat : (verification.iat ?? null),
    webhookType: text(parsed?.webhook_type),
    webhookCode: text(parsed?.webhook_code),
    itemId: text(parsed?.item_id),
    userId: text(parsed?.user_id),
    linkSessionId: text(parsed?.link_session_id),
    clientAddress,
  });
}

/** Most deliveries one transaction takes; a longer queue is written in several. */
const MAX_GROUP = 256;

/**
 * Group commit: deliveries verified during one turn of the event loop are written in one transaction, and each one
 * is answered only once that transaction has committed. Each delivery is written in its own savepoint, so one that
 * cannot be stored fails alone (it is answered 500 and Plaid retries it) while the others commit.
 */
class DeliveryWriter {
  private queue: { verdict: Verdict; resolve: (r: Receipt) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  /** Transactions committed and deliveries answered so far: the bench reports the average group size. */
  readonly stats = { transactions: 0, deliveries: 0 };
  constructor(private readonly db: Db) {}

  write(verdict: Verdict): Promise<Receipt> {
    return new Promise((resolve, reject) => {
      this.queue.push({ verdict, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length) {
      const group = this.queue.splice(0, MAX_GROUP);
      let outcomes: Outcome[];
      try {
        outcomes = this.commit(group.map((q) => q.verdict));
      } catch (error) {
        // The commit itself failed: nothing of this group is on disk.
        for (const { reject } of group) reject(error);
        continue;
      }
      this.stats.transactions++;
      this.stats.deliveries += group.length;
      group.forEach(({ resolve, reject }, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) resolve(outcome.receipt);
        else reject(outcome.error);
      });
    }
  }

  /**
   * Writes a group in one transaction. Storing a delivery is not expected to fail, so the group is first written
   * straight through; if one delivery does fail, the whole group is rolled back and written again with each delivery
   * in a savepoint of its own, so that only that one is answered with an error. A failed commit throws.
   */
  private commit(verdicts: Verdict[]): Outcome[] {
    const s = statementsFor(this.db);
    try {
      return s.inTransaction(() => verdicts.map((v): Outcome => ({ ok: true, receipt: store(this.db, v) })));
    } catch {
      // Rolled back: nothing of this group is on disk yet.
    }
    return s.inTransaction(() =>
      verdicts.map((v): Outcome => {
        try {
          return { ok: true, receipt: s.inTransaction(() => store(this.db, v)) };
        } catch (error) {
          abortIfTransactionEnded(this.db, error);
          return { ok: false, error };
        }
      }),
    );
  }
}

type Outcome = { ok: true; receipt: Receipt } | { ok: false; error: unknown };

/**
 * Some errors (a full disk, a trigger's RAISE(ROLLBACK)) end the whole transaction, not just the savepoint they were
 * raised in. Carrying on would write what follows outside any transaction, so the error is thrown on instead: the
 * whole group is undone and answered with an error, and Plaid sends it again.
 */
function abortIfTransactionEnded(db: Db, error: unknown): void {
  if (!db.$client.inTransaction) throw error;
}

const writers = new WeakMap<object, DeliveryWriter>();
function writerFor(db: Db): DeliveryWriter {
  let w = writers.get(db.$client);
  if (!w) writers.set(db.$client, (w = new DeliveryWriter(db)));
  return w;
}

export function groupCommitStats(db: Db): { transactions: number; deliveries: number } {
  return { ...writerFor(db).stats };
}

/** Stores one delivery (and its event, handled, if it is the first verified delivery of that body). */
function store(db: Db, v: Verdict): Receipt {
  const s = statementsFor(db);
  // Whose delivery this is, by the identity graph; one that names an id nobody has claimed yet is attributed later,
  // when the publisher registers that id.
  const owned = (kind: string, value: string | null) => (value ? ((s.customerOf.get(kind, value) as string | undefined) ?? null) : null);
  const customerHash = owned("item", v.itemId) ?? owned("check_user", v.userId) ?? owned("link_session", v.linkSessionId);
  let eventId: number | null = null;
  let duplicate = false;
  let handling: Receipt["handling"] = null;
  if (v.status === 200) {
    const event = s.upsertEvent.get(v.bodySha256, v.webhookType, v.webhookCode, v.itemId, v.userId, customerHash, text((v.parsed as Record<string, unknown>).environment), v.at, v.at) as { id: number; delivery_count: number };
    eventId = event.id;
    duplicate = event.delivery_count > 1;
    if (!duplicate) handling = runHandler(db, eventId, v.parsed!, v.receivedAt);
  }
  const verdict = v.status === 200 ? "verified" : "rejected";
  const { id: deliveryId } = s.insertDelivery.get(v.at, v.at, eventId, verdict, v.reason, v.status, v.body, v.bodySha256, v.headers, v.kid, v.iat, v.webhookType, v.webhookCode, v.itemId, v.userId, customerHash, v.clientAddress, v.linkSessionId) as { id: number };
  return { status: v.status, reason: v.reason, deliveryId, eventId, duplicate, handling };
}

const MAX_STAMP_SKEW_MS = 60_000;

// The receiver is the hottest path in the console: its statements are prepared once per database handle.
const prepared = new WeakMap<object, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  const c = db.$client;
  return {
    /** Runs a function in a transaction, or in a savepoint when one is already open; a throw undoes only its work. */
    inTransaction: c.transaction(<T>(fn: () => T): T => fn()) as <T>(fn: () => T) => T,
    customerOf: c.prepare("select customer_hash from customer_ids where kind = ? and value = ?").pluck(),
    // The first verified delivery of a body creates its event; a redelivery only counts on it.
    upsertEvent: c.prepare(
      "insert into webhook_events (dedupe_key, webhook_type, webhook_code, item_id, user_id, customer_hash, environment, first_received_at, last_received_at, delivery_count, handling_status, handle_attempts) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'ignored', 0) on conflict (dedupe_key) do update set delivery_count = delivery_count + 1, last_received_at = excluded.last_received_at returning id, delivery_count",
    ),
    // received_at never decreases as the id grows, which lets the history turn dates into id ranges: a delivery
    // written after one that arrived later (it waited for a key fetch, say) takes that one's time. A clock that stepped
    // back by more than a minute is believed instead, so that one bad stamp cannot hold every later one in the future.
    insertDelivery: c.prepare(
      `insert into webhook_deliveries (received_at, event_id, verdict, reason, answered_status, body, body_sha256, headers, kid, iat, webhook_type, webhook_code, item_id, user_id, customer_hash, client_address, link_session_id)
       values (max(?, coalesce((select max(received_at) from webhook_deliveries where received_at <= ? + ${MAX_STAMP_SKEW_MS}), 0)), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
    ),
    recordHandling: c.prepare("update webhook_events set handling_status = ?, handling_result = ?, handled_at = ?, handle_attempts = handle_attempts + 1 where id = ?"),
    verifiedBody: c.prepare("select body from webhook_deliveries where event_id = ? limit 1"),
    ...Object.fromEntries(
      (["item_id", "user_id"] as const).map((column) => [
        column === "item_id" ? "ignoredOfItem" : "ignoredOfUser",
        c.prepare(
          `select e.id, (select body from webhook_deliveries where event_id = e.id limit 1) as body from webhook_events e
           where e.handling_status = 'ignored' and e.id in (select event_id from webhook_deliveries where ${column} = ? and verdict = 'verified') order by e.id`,
        ),
      ]),
    ) as Record<"ignoredOfItem" | "ignoredOfUser", Database.Statement>,
  };
}
function statementsFor(db: Db) {
  let s = prepared.get(db.$client);
  if (!s) prepared.set(db.$client, (s = prepare(db)));
  return s;
}

/** Runs the handler in a savepoint: its failure is recorded on the event and undoes only its own changes. */
export function runHandler(db: Db, eventId: number, body: WebhookBody, at: Date): "handled" | "ignored" | "failed" {
  const s = statementsFor(db);
  let outcome: { status: "handled" | "ignored" | "failed"; result: string };
  try {
    outcome = s.inTransaction(() => handleWebhook(db, body, at, eventId));
  } catch (error) {
    abortIfTransactionEnded(db, error);
    outcome = { status: "failed", result: (error as Error).message.slice(0, 1000) };
  }
  s.recordHandling.run(outcome.status, outcome.result, at.getTime(), eventId);
  return outcome.status;
}

/**
 * Runs again, in arrival order, the handlers of the verified events about an item or Check user that were ignored
 * because the id was not known then: once the publisher registers it, those webhooks apply (an item error, a ready
 * report). Reads the deliveries' partial index for that one id; call inside the registration's transaction.
 */
export function rehandleIgnoredEventsOf(db: Db, id: { itemId: string } | { userId: string }, at: Date): number {
  const s = statementsFor(db);
  const rows = ("itemId" in id ? s.ignoredOfItem.all(id.itemId) : s.ignoredOfUser.all(id.userId)) as { id: number; body: Buffer }[];
  for (const row of rows) runHandler(db, row.id, parse(row.body)!, at);
  return rows.length;
}

/** Ops: run the handler again for one stored, verified event. */
export function rehandleEvent(db: Db, eventId: number, at: Date): typeof webhookEvents.$inferSelect {
  const s = statementsFor(db);
  const delivery = s.verifiedBody.get(eventId) as { body: Buffer } | undefined;
  if (!delivery) throw new Response("No verified delivery is stored for that event.", { status: 404 });
  s.inTransaction(() => runHandler(db, eventId, parse(delivery.body)!, at));
  return db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)).get()!;
}
