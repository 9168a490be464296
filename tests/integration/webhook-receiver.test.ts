import { claimId } from "../../app/customers/identity.server";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as receiver from "../../app/routes/webhooks.plaid";
import { rehandleEvent } from "../../app/webhooks/receive.server";
import { PlaidKeyCache, verifyPlaidWebhook } from "../../app/webhooks/verify.server";
import { plaidItems, webhookDeliveries, webhookEvents } from "../../db/schema";
import { KeyRing, signBody } from "../../simulators/plaid/webhooks";
import { ManualClock } from "../../simulators/shared/clock";
import { createHarness, ORIGIN, type Harness } from "../support/context";
import { startTestSimulators } from "../support/simulators";

let sims: Awaited<ReturnType<typeof startTestSimulators>>;
let h: Harness;

beforeAll(async () => {
  sims = await startTestSimulators("webhook-test-hmac-key-000000000000000000");
});
afterAll(() => sims.close());
beforeEach(async () => {
  h = await createHarness(sims.env);
  h.clock.current = new Date(sims.clock.now());
});

const pretty = (payload: object) => JSON.stringify(payload, null, 2);
const itemError = (itemId: string, code = "ITEM_LOGIN_REQUIRED") => pretty({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: itemId, error: { error_code: code, error_type: "ITEM_ERROR", status: 400 }, environment: "sandbox" });
const sign = (body: string, at = sims.clock.now()) => signBody(body, sims.plaid.keys.current, at);
const b64 = (v: object | string) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

async function deliver(body: string, header: string | null, extraHeaders: Record<string, string> = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "Plaid Verifier", ...extraHeaders };
  if (header) headers["plaid-verification"] = header;
  const request = new Request(`${ORIGIN}/webhooks/plaid`, { method: "POST", headers, body });
  const res = await receiver.action({ request, context: h.context("52.21.26.131"), params: {} });
  return { status: res.status, json: (await res.json()) as { received: boolean; duplicate?: boolean; error?: string } };
}

const lastDelivery = () => h.db.select().from(webhookDeliveries).orderBy(webhookDeliveries.id).all().at(-1)!;

function addItem(itemId: string) {
  const now = h.clock.now();
  h.db.insert(plaidItems).values({ itemId, customerHash: "c".repeat(64), institutionId: "ins_109508", institutionName: "First Platypus Bank", accessTokenEnc: "v1:x", products: ["transactions"], status: "active", createdAt: now, updatedAt: now }).run();
  claimId(h.db, { kind: "item", value: itemId, customerHash: "c".repeat(64), source: "console", at: now });
}

describe("POST /webhooks/plaid", () => {
  it("accepts a valid webhook, stores the exact bytes, handles it, and links it to the item's customer", async () => {
    addItem("item-valid");
    const body = itemError("item-valid");
    expect(await deliver(body, sign(body))).toEqual({ status: 200, json: { received: true, duplicate: false } });
    const delivery = lastDelivery();
    expect(delivery).toMatchObject({ verdict: "verified", answeredStatus: 200, webhookType: "ITEM", webhookCode: "ERROR", itemId: "item-valid", customerHash: "c".repeat(64), clientAddress: "52.21.26.131", kid: sims.plaid.keys.current.jwk.kid });
    expect(delivery.body.toString()).toBe(body);
    expect(delivery.headers["user-agent"]).toBe("Plaid Verifier");
    const event = h.db.select().from(webhookEvents).where(eq(webhookEvents.id, delivery.eventId!)).get()!;
    expect(event).toMatchObject({ handlingStatus: "handled", deliveryCount: 1, customerHash: "c".repeat(64) });
    expect(h.db.select().from(plaidItems).where(eq(plaidItems.itemId, "item-valid")).get()).toMatchObject({ status: "login-required", errorCode: "ITEM_LOGIN_REQUIRED" });
  });

  it("records a redelivery as another delivery of the same event and handles it once", async () => {
    addItem("item-dup");
    const body = itemError("item-dup");
    await deliver(body, sign(body));
    h.db.update(plaidItems).set({ status: "active" }).where(eq(plaidItems.itemId, "item-dup")).run();
    sims.clock.advance(30_000);
    h.clock.advance(30_000);
    expect(await deliver(body, sign(body))).toEqual({ status: 200, json: { received: true, duplicate: true } });
    const event = h.db.select().from(webhookEvents).where(eq(webhookEvents.itemId, "item-dup")).get()!;
    expect(event).toMatchObject({ deliveryCount: 2, handleAttempts: 1 });
    expect(h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, event.id)).all()).toHaveLength(2);
    expect(h.db.select().from(plaidItems).where(eq(plaidItems.itemId, "item-dup")).get()!.status).toBe("active");
  });

  const forged = (body: string, header: object, payload: object, signature = "c2ln") => `${b64(header)}.${b64(payload)}.${signature}`;
  const kid = () => sims.plaid.keys.current.jwk.kid;
  const iatNow = () => Math.floor(sims.clock.now() / 1000);
  const hashOf = (body: string) => createHash("sha256").update(body).digest("hex");

  it.each<[string, () => [string, string | null], number, RegExp]>([
    ["a forged signature", () => { const b = itemError("x"); const real = sign(b).split("."); return [b, `${real[0]}.${real[1]}.${b64(randomBytes(64).toString("latin1"))}`]; }, 401, /signature does not verify/],
    ["alg none", () => { const b = itemError("x"); return [b, forged(b, { alg: "none", kid: kid(), typ: "JWT" }, { iat: iatNow(), request_body_sha256: hashOf(b) }, "")]; }, 401, /alg "none" refused/],
    ["HS256 keyed with the public key", () => { const b = itemError("x"); const head = b64({ alg: "HS256", kid: kid(), typ: "JWT" }); const pay = b64({ iat: iatNow(), request_body_sha256: hashOf(b) }); const mac = createHmac("sha256", JSON.stringify(sims.plaid.keys.current.jwk)).update(`${head}.${pay}`).digest("base64url"); return [b, `${head}.${pay}.${mac}`]; }, 401, /alg "HS256" refused/],
    ["a stale iat", () => { const b = itemError("x"); return [b, sign(b, sims.clock.now() - 301_000)]; }, 401, /more than 5 minutes old/],
    ["a future iat", () => { const b = itemError("x"); return [b, sign(b, sims.clock.now() + 61_000)]; }, 401, /in the future/],
    ["one byte of the body changed", () => { const b = itemError("x"); return [b.replace("ITEM_LOGIN_REQUIRED", "ITEM_LOGIN_REQUIREE"), sign(b)]; }, 401, /does not match/],
    ["the body re-indented", () => { const b = itemError("x"); return [JSON.stringify(JSON.parse(b), null, 4), sign(b)]; }, 401, /does not match/],
    ["a missing header", () => [itemError("x"), null], 401, /missing Plaid-Verification/],
    ["an unknown kid", () => { const b = itemError("x"); const real = sign(b).split("."); return [b, `${b64({ alg: "ES256", kid: "00000000-0000-0000-0000-000000000000", typ: "JWT" })}.${real[1]}.${real[2]}`]; }, 401, /unknown verification key/],
    ["malformed JSON, correctly signed", () => { const b = "{not json"; return [b, sign(b)]; }, 400, /not a JSON object/],
    ["a body over 1 MB", () => { const b = pretty({ webhook_type: "ITEM", pad: "x".repeat(1024 * 1024) }); return [b, sign(b)]; }, 413, /larger than 1 MB/],
  ])("refuses %s with the documented status, and records the delivery", async (_case, make, status, reason) => {
    const before = h.db.select().from(webhookDeliveries).all().length;
    const [body, header] = make();
    const res = await deliver(body, header);
    expect(res.status).toBe(status);
    expect(res.json.error).toMatch(reason);
    const row = lastDelivery();
    expect(h.db.select().from(webhookDeliveries).all().length).toBe(before + 1);
    expect(row).toMatchObject({ verdict: "rejected", answeredStatus: status, eventId: null });
    expect(row.reason).toMatch(reason);
  });

  it("fetches a rotated key by its new kid, and refuses new signatures made with the expired one", async () => {
    const oldKey = sims.plaid.keys.current;
    const first = itemError("rot-1");
    expect((await deliver(first, sign(first))).status).toBe(200);
    sims.plaid.keys.rotate();
    const second = itemError("rot-2");
    const res = await deliver(second, sign(second));
    expect(res.status).toBe(200);
    expect(lastDelivery().kid).toBe(sims.plaid.keys.current.jwk.kid);
    sims.clock.advance(20 * 60_000); // past the key cache's refresh, so the expiry is seen
    h.clock.advance(20 * 60_000);
    const late = itemError("rot-3");
    const withOld = signBody(late, oldKey, sims.clock.now());
    expect(await deliver(late, withOld)).toMatchObject({ status: 401, json: { error: expect.stringMatching(/after it expired/) } });
  });

  it("answers 503 when Plaid's key cannot be fetched, keeping the details in the record and out of the answer", async () => {
    sims.plaid.keys.rotate(); // a kid this console has not cached yet
    sims.plaidFaults.set("/webhook_verification_key/get", { errorRate: 1 });
    try {
      const body = itemError("key-outage");
      const res = await deliver(body, sign(body));
      expect(res).toEqual({ status: 503, json: { received: false, error: "verification key could not be fetched; send it again later" } });
      expect(lastDelivery()).toMatchObject({ verdict: "rejected", answeredStatus: 503, reason: expect.stringMatching(/^verification key could not be fetched: .+/) });
    } finally {
      sims.plaidFaults.clear();
    }
  });

  it("records a handler failure on the event without losing it, and ops can re-run the handler", async () => {
    addItem("item-fail");
    h.db.$client.exec("CREATE TRIGGER fail_item_update BEFORE UPDATE ON plaid_items WHEN NEW.item_id = 'item-fail' BEGIN SELECT RAISE(ABORT, 'database refused the update'); END;");
    const body = itemError("item-fail");
    expect((await deliver(body, sign(body))).status).toBe(200);
    const event = h.db.select().from(webhookEvents).where(eq(webhookEvents.itemId, "item-fail")).get()!;
    expect(event).toMatchObject({ handlingStatus: "failed", handlingResult: expect.stringContaining("database refused the update") });
    h.db.$client.exec("DROP TRIGGER fail_item_update");
    expect(rehandleEvent(h.db, event.id, h.clock.now())).toMatchObject({ handlingStatus: "handled", handleAttempts: 2 });
    expect(h.db.select().from(plaidItems).where(eq(plaidItems.itemId, "item-fail")).get()!.status).toBe("login-required");
  });

  it("records webhooks nothing acts on yet as ignored, with the reason", async () => {
    const body = pretty({ webhook_type: "TRANSACTIONS", webhook_code: "SYNC_UPDATES_AVAILABLE", item_id: "item-tx", initial_update_complete: true, historical_update_complete: false, environment: "sandbox" });
    const res = await deliver(body, sign(body));
    expect(res.status).toBe(200);
    expect(h.db.select().from(webhookEvents).where(eq(webhookEvents.webhookCode, "SYNC_UPDATES_AVAILABLE")).get()).toMatchObject({ handlingStatus: "ignored", handlingResult: expect.stringContaining("TRANSACTIONS/SYNC_UPDATES_AVAILABLE") });
  });

  it("refuses a stale or tampered delivery before it looks up a key or checks a signature", async () => {
    const fetched: string[] = [];
    const keys = new PlaidKeyCache(async (kid) => (fetched.push(kid), sims.plaid.keys.find(kid) ?? null), () => sims.clock.now());
    const body = itemError("claims-first");
    // Signed with a key nobody knows: had the key been looked up first, the answer would be "unknown key".
    const stranger = new KeyRing(new ManualClock(sims.clock.now())).current;
    const tampered = await verifyPlaidWebhook(hashOf(`${body} `), signBody(body, stranger, sims.clock.now()), keys, sims.clock.now());
    const stale = await verifyPlaidWebhook(hashOf(body), signBody(body, stranger, sims.clock.now() - 301_000), keys, sims.clock.now());
    expect([tampered, stale]).toMatchObject([{ ok: false, reason: expect.stringMatching(/does not match/) }, { ok: false, reason: expect.stringMatching(/more than 5 minutes old/) }]);
    expect(fetched).toEqual([]);
    expect(await verifyPlaidWebhook(hashOf(body), sign(body), keys, sims.clock.now())).toMatchObject({ ok: true });
    expect(fetched).toEqual([sims.plaid.keys.current.jwk.kid]);
  });
});
