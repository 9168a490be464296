import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as deliveryPage from "../../app/routes/webhooks.$id";
import { createPlaidClient } from "../../app/plaid/client.server";
import { listDeliveries } from "../../app/webhooks/history.server";
import { receiveDelivery } from "../../app/webhooks/receive.server";
import { redactStoredWebhookBodies } from "../../app/webhooks/redact.server";
import { REFUSALS_PER_SOURCE_PER_MINUTE, REFUSED_BODY_KEPT } from "../../app/webhooks/refusals.server";
import { MAX_KEY_FETCHES_PER_MINUTE, PlaidKeyCache, plaidKeyFetcher } from "../../app/webhooks/verify.server";
import { webhookDeliveries } from "../../db/schema";
import { signBody } from "../../simulators/plaid/webhooks";
import { createHarness, type Harness } from "../support/context";
import { startTestSimulators } from "../support/simulators";

let sims: Awaited<ReturnType<typeof startTestSimulators>>;
let h: Harness;
let fetches: string[];
let keys: PlaidKeyCache;

beforeAll(async () => {
  sims = await startTestSimulators("webhook-security-hmac-key-0000000000000000");
});
afterAll(() => sims.close());
beforeEach(async () => {
  h = await createHarness(sims.env);
  h.clock.current = new Date(sims.clock.now());
  // The real key fetcher against the Plaid simulator; each call it makes is noted.
  const fetcher = plaidKeyFetcher(createPlaidClient(h.config, 5000));
  fetches = [];
  keys = new PlaidKeyCache((kid) => {
    fetches.push(kid);
    return fetcher(kid);
  }, () => h.clock.now().getTime());
});

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");

async function deliver(body: string | Buffer, verification: string | null, clientAddress = "52.21.26.131") {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return receiveDelivery({ db: h.db, keys, now: h.clock.now }, { raw, header: (n) => (n === "plaid-verification" ? verification : null), clientAddress });
}

/** A delivery that passes every cheap check (iat, body hash) and names a kid of the forger's choosing. */
function forged(body: string, kid: string) {
  const real = signBody(body, sims.plaid.keys.current, sims.clock.now()).split(".");
  return `${b64({ alg: "ES256", kid, typ: "JWT" })}.${real[1]}.${real[2]}`;
}

const storedBody = (id: number) => h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get()!;

describe("public tokens in webhook bodies", () => {
  const addResult = JSON.stringify({ webhook_type: "LINK", webhook_code: "ITEM_ADD_RESULT", link_session_id: "ls-abc", public_token: "public-sandbox-11111111-aaaa", link_token: "link-sandbox-22222222", environment: "sandbox" }, null, 2);
  const finished = JSON.stringify({ webhook_type: "LINK", webhook_code: "SESSION_FINISHED", status: "success", link_session_id: "ls-abc", public_tokens: ["public-sandbox-33333333-bbbb", "public-sandbox-44444444-cccc"], environment: "sandbox" }, null, 2);

  it("are redacted in what is stored and shown, with the received bytes' hash and a visible mark, and text search still finds the delivery", async () => {
    for (const body of [addResult, finished]) {
      const receipt = await deliver(body, signBody(body, sims.plaid.keys.current, sims.clock.now()));
      expect(receipt.status).toBe(200);
      const row = storedBody(receipt.deliveryId);
      const stored = row.body.toString("utf8");
      expect(stored).not.toMatch(/public-sandbox-|link-sandbox-/);
      expect(stored).toContain('"[redacted]"');
      expect(row.bodySha256).toBe(sha(body));
      // Everything else, layout included, is as received.
      expect(stored.replace(/"\[redacted\]"/g, "")).toBe(body.replace(/"(public|link)-sandbox-[^"]*"/g, ""));
      const page = await deliveryPage.loader({ request: await h.request(`/webhooks/${receipt.deliveryId}`, { role: "support" }), context: h.context(), params: { id: String(receipt.deliveryId) } });
      expect(JSON.stringify(page)).not.toMatch(/public-sandbox-|link-sandbox-/);
      expect(page.redacted).toBe(true);
    }
    expect(listDeliveries(h.db, { q: "ls-abc" }).rows).toHaveLength(2);
    expect(listDeliveries(h.db, { q: "public-sandbox" }).rows).toHaveLength(0);
  });

  it("are redacted in place, once, in deliveries stored before redaction existed", async () => {
    const insert = (body: string) =>
      h.db.insert(webhookDeliveries).values({ receivedAt: h.clock.now(), verdict: "verified", answeredStatus: 200, body: Buffer.from(body), bodySha256: sha(body), headers: {}, webhookType: "LINK", webhookCode: "X" }).returning({ id: webhookDeliveries.id }).get().id;
    const ids = [insert(addResult), insert(finished)];
    expect(redactStoredWebhookBodies(h.db)).toBe(2);
    for (const id of ids) expect(storedBody(id).body.toString()).not.toContain("public-sandbox-");
    expect(storedBody(ids[0]!).bodySha256).toBe(sha(addResult));
    expect(redactStoredWebhookBodies(h.db)).toBe(0);
  });
});

describe("verification key lookups", () => {
  it("remember an unknown kid: five forgeries naming it make one fetch", async () => {
    const body = JSON.stringify({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "x" });
    for (let i = 0; i < 5; i++) expect((await deliver(body, forged(body, "kid-unknown-1"))).status).toBe(401);
    expect(fetches).toEqual(["kid-unknown-1"]);
  });

  it("share one fetch among concurrent deliveries naming the same kid", async () => {
    const body = JSON.stringify({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "y" });
    await Promise.all(Array.from({ length: 20 }, () => deliver(body, forged(body, "kid-unknown-2"))));
    expect(fetches).toEqual(["kid-unknown-2"]);
  });

  it("are capped per minute in a flood of fresh kids, and a key from a real rotation still verifies after it", async () => {
    const body = JSON.stringify({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "z" });
    const answers = [];
    for (let i = 0; i < 100; i++) answers.push((await deliver(body, forged(body, `kid-flood-${i}`), `198.51.100.${i}`)).status);
    expect(fetches).toHaveLength(MAX_KEY_FETCHES_PER_MINUTE);
    expect(answers.filter((s) => s === 503)).toHaveLength(100 - MAX_KEY_FETCHES_PER_MINUTE);
    sims.plaid.keys.rotate();
    h.clock.advance(61_000);
    sims.clock.advance(61_000);
    const genuine = JSON.stringify({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "after-rotation" });
    const receipt = await deliver(genuine, signBody(genuine, sims.plaid.keys.current, sims.clock.now()));
    expect(receipt.status).toBe(200);
    expect(fetches.at(-1)).toBe(sims.plaid.keys.current.jwk.kid);
  });
});

describe("refused deliveries", () => {
  it("keep a bounded prefix of a large body, with its full length in the reason and the hash of all of it", async () => {
    const big = Buffer.alloc(1024 * 1024, 0x61);
    const receipt = await deliver(big, null);
    expect(receipt.status).toBe(401);
    const row = storedBody(receipt.deliveryId);
    expect(row.body.length).toBe(REFUSED_BODY_KEPT);
    expect(row.bodySha256).toBe(sha(big));
    expect(row.reason).toContain(`body of ${big.length} bytes`);
  });

  it("are stored at most so many a minute from one address, counting what was not; verified ones always are", async () => {
    const source = "203.0.113.50";
    const statuses = [];
    for (let i = 0; i < REFUSALS_PER_SOURCE_PER_MINUTE + 15; i++) statuses.push((await deliver(`{"n":${i}}`, null, source)).status);
    expect(statuses.every((s) => s === 401)).toBe(true);
    const fromSource = () => h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.clientAddress, source)).all();
    expect(fromSource()).toHaveLength(REFUSALS_PER_SOURCE_PER_MINUTE);
    // A verified delivery from the same address in the same minute is stored.
    const good = JSON.stringify({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "good" });
    expect((await deliver(good, signBody(good, sims.plaid.keys.current, sims.clock.now()), source)).status).toBe(200);
    expect(fromSource()).toHaveLength(REFUSALS_PER_SOURCE_PER_MINUTE + 1);
    h.clock.advance(60_000);
    const next = await deliver("{}", null, source);
    expect(storedBody(next.deliveryId).reason).toContain("15 earlier refusals from this address in a minute were not stored");
  });
});
