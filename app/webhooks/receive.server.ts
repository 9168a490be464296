import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { webhookDeliveries, webhookEvents } from "../../db/schema";
import { handleWebhook, type WebhookBody } from "./handlers.server";
import { verifyPlaidWebhook, type PlaidKeyCache, type Verification } from "./verify.server";

export const MAX_WEBHOOK_BYTES = 1024 * 1024;
const KEPT_HEADERS = ["content-type", "content-length", "user-agent", "plaid-verification"];

export type ReceiveDeps = { db: Db; keys: PlaidKeyCache; now: () => Date };
export type Receipt = { status: number; reason: string | null; deliveryId: number; eventId: number | null; duplicate: boolean };

/** Reads at most 1 MB of the body; a larger one is refused without reading the rest. */
export async function readRawBody(request: Request): Promise<Buffer | "too-large"> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_WEBHOOK_BYTES) return "too-large";
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_WEBHOOK_BYTES) {
      await reader.cancel();
      return "too-large";
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
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

/** The receiver proper, independent of how the bytes arrived (Remix route or the server's direct path). */
export async function receiveDelivery(deps: ReceiveDeps, delivery: Delivery): Promise<Receipt> {
  const { raw, clientAddress } = delivery;
  const receivedAt = deps.now();
  const headers = Object.fromEntries(KEPT_HEADERS.flatMap((name) => (delivery.header(name) ? [[name, delivery.header(name)!.slice(0, 4000)]] : [])));
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
  const fields = {
    webhookType: text(parsed?.webhook_type),
    webhookCode: text(parsed?.webhook_code),
    itemId: text(parsed?.item_id),
    userId: text(parsed?.user_id),
  };
  const sql$ = statementsFor(deps.db);
  const at = receivedAt.getTime();
  return deps.db.transaction((tx) => {
    const owner = (fields.itemId ? sql$.customerOfItem.get(fields.itemId) : undefined) ?? (fields.userId ? sql$.customerOfUser.get(fields.userId) : undefined);
    const customerHash = (owner as { customer_hash: string } | undefined)?.customer_hash ?? null;
    let eventId: number | null = null;
    let duplicate = false;
    if (status === 200) {
      const existing = sql$.eventByKey.get(bodySha256) as { id: number } | undefined;
      if (existing) {
        duplicate = true;
        eventId = existing.id;
        sql$.bumpEvent.run(at, existing.id);
      } else {
        eventId = (sql$.insertEvent.get(bodySha256, fields.webhookType, fields.webhookCode, fields.itemId, fields.userId, customerHash, text((parsed as Record<string, unknown>).environment), at, at) as { id: number }).id;
        runHandler(tx, eventId, parsed!, receivedAt);
      }
    }
    const kid = verification.ok ? verification.kid : (verification.kid ?? null);
    const iat = verification.ok ? verification.iat : (verification.iat ?? null);
    const { id: deliveryId } = sql$.insertDelivery.get(at, eventId, status === 200 ? "verified" : "rejected", reason, status, body, bodySha256, JSON.stringify(headers), kid, iat, fields.webhookType, fields.webhookCode, fields.itemId, fields.userId, customerHash, clientAddress) as { id: number };
    return { status, reason, deliveryId, eventId, duplicate };
  });
}

// The receiver is the hottest path in the console: its statements are prepared once per database handle.
const prepared = new WeakMap<object, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  const c = db.$client;
  return {
    customerOfItem: c.prepare("select customer_hash from plaid_items where item_id = ?"),
    customerOfUser: c.prepare("select customer_hash from cra_users where user_id = ?"),
    eventByKey: c.prepare("select id from webhook_events where dedupe_key = ?"),
    bumpEvent: c.prepare("update webhook_events set delivery_count = delivery_count + 1, last_received_at = ? where id = ?"),
    insertEvent: c.prepare(
      "insert into webhook_events (dedupe_key, webhook_type, webhook_code, item_id, user_id, customer_hash, environment, first_received_at, last_received_at, delivery_count, handling_status, handle_attempts) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'ignored', 0) returning id",
    ),
    insertDelivery: c.prepare(
      "insert into webhook_deliveries (received_at, event_id, verdict, reason, answered_status, body, body_sha256, headers, kid, iat, webhook_type, webhook_code, item_id, user_id, customer_hash, client_address) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
    ),
  };
}
function statementsFor(db: Db) {
  let s = prepared.get(db.$client);
  if (!s) prepared.set(db.$client, (s = prepare(db)));
  return s;
}

/** Runs the handler in a savepoint: its failure is recorded on the event and undoes only its own changes. */
export function runHandler(db: Queryable, eventId: number, body: WebhookBody, at: Date): void {
  let outcome: { status: "handled" | "ignored" | "failed"; result: string };
  try {
    outcome = db.transaction((inner) => handleWebhook(inner, body, at, eventId));
  } catch (error) {
    outcome = { status: "failed", result: (error as Error).message.slice(0, 1000) };
  }
  db.update(webhookEvents)
    .set({ handlingStatus: outcome.status, handlingResult: outcome.result, handledAt: at, handleAttempts: sql`${webhookEvents.handleAttempts} + 1` })
    .where(eq(webhookEvents.id, eventId))
    .run();
}

/** Ops: run the handler again for one stored, verified event. */
export function rehandleEvent(db: Db, eventId: number, at: Date): typeof webhookEvents.$inferSelect {
  const delivery = db.select({ body: webhookDeliveries.body }).from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId)).limit(1).get();
  if (!delivery) throw new Response("No verified delivery is stored for that event.", { status: 404 });
  db.transaction((tx) => runHandler(tx, eventId, parse(delivery.body)!, at));
  return db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)).get()!;
}
