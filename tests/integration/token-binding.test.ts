import { createCipheriv, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as customerPage from "../../app/routes/customers.$hash/route";
import * as itemPage from "../../app/routes/plaid.items.$itemId";
import * as reportPage from "../../app/routes/reports.$id";
import * as sandbox from "../../app/routes/plaid.sandbox";
import { decryptToken, encryptToken, StoredTokenError, tokenBinding } from "../../app/lib/token-crypto.server";
import { rebindStoredTokens } from "../../app/lib/token-rebind.server";
import { readLinkTokensLive } from "../../app/plaid/link-sessions.server";
import { dispatchReports } from "../../app/reports/check-reports.server";
import { openDatabase } from "../../db/open";
import { runMigrations } from "../../db/migrate";
import { craReports, craUsers, linkSessions, plaidAccounts, plaidItems, processorTokens } from "../../db/schema";
import { startConsole } from "../../server/main";
import { postForm, testEnv } from "../support/context";
import { simulatorHarness } from "../support/simulators";

const HMAC_KEY = "token-binding-test-hmac-key-00000000000000";
const ALICE = "a1".repeat(32);
const BOB = "b2".repeat(32);
const t = simulatorHarness(HMAC_KEY);

/** The format tokens were stored in before they were bound to their rows: no associated data. */
function legacyV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `v1:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64")}`;
}

const act = (mod: { action: (a: never) => unknown }, path: string, values: Record<string, string | string[]>, params: Record<string, string> = {}) =>
  postForm<Record<string, unknown>>(t.h, mod, path, values, params);

async function linkItem(customer: string): Promise<string> {
  const minted = await act(sandbox, "/plaid/sandbox", { intent: "mint", customer, institution: "ins_109508", products: ["transactions"], persona: "user_good", webhook: "" });
  const exchanged = await act(sandbox, "/plaid/sandbox", { intent: "exchange", customer, publicToken: (minted.data.minted as { publicToken: string }).publicToken });
  return decodeURIComponent(exchanged.location!.split("/plaid/items/")[1]!.split("?")[0]!);
}

const accessTokenEnc = (itemId: string) => t.h.db.select().from(plaidItems).where(eq(plaidItems.itemId, itemId)).get()!.accessTokenEnc!;

describe("tokens bound to their rows", () => {
  it("a value encrypted for one row does not decrypt for another, and the older unbound form is not read", () => {
    const key = t.h.config.tokenEncryptionKey;
    const sealed = encryptToken(key, "access-sandbox-alice", tokenBinding.accessToken("item-alice"));
    expect(sealed).toMatch(/^v2:/);
    expect(decryptToken(key, sealed, tokenBinding.accessToken("item-alice"))).toBe("access-sandbox-alice");
    expect(() => decryptToken(key, sealed, tokenBinding.accessToken("item-bob"))).toThrow(StoredTokenError);
    // Same row key, another column: refused too.
    expect(() => decryptToken(key, sealed, tokenBinding.linkToken("item-alice"))).toThrow(StoredTokenError);
    expect(() => decryptToken(key, legacyV1(key, "access-sandbox-alice"), tokenBinding.accessToken("item-alice"))).toThrow(/older unbound form/);
  });

  it("an access token copied from Bob's item into Alice's is refused with its reason, and Bob's item at Plaid is untouched", async () => {
    const alice = await linkItem(ALICE);
    const bob = await linkItem(BOB);
    t.h.db.update(plaidItems).set({ accessTokenEnc: accessTokenEnc(bob) }).where(eq(plaidItems.itemId, alice)).run();

    const update = await act(itemPage, `/plaid/items/${alice}`, { intent: "webhook-url", url: "https://attacker.example/hook" }, { itemId: alice });
    expect(update.status).toBe(409);
    expect(update.data).toMatchObject({ ok: false, message: expect.stringContaining("does not belong to this row") });
    expect(update.data.message).toContain("Nothing was sent to the vendor");
    expect(t.sims.plaid.state.items.get(bob)!.webhook).not.toBe("https://attacker.example/hook");
    expect(t.sims.plaid.state.items.get(alice)!.webhook).not.toBe("https://attacker.example/hook");

    // The item's own page renders what is stored, with the refusal where Plaid's live status would be.
    const itemView = await itemPage.loader({ request: await t.h.request(`/plaid/items/${alice}`, { role: "support" }), context: t.h.context(), params: { itemId: alice } });
    expect(itemView.liveError).toMatchObject({ errorCode: "STORED_TOKEN_REFUSED", errorMessage: expect.stringContaining("does not belong to this row") });
    expect(itemView.item).toMatchObject({ itemId: alice, customerHash: ALICE });

    // The customer page shows the refusal where Plaid's live answer would be, and renders the rest.
    const page = await customerPage.loader({ request: await t.h.request(`/customers/${ALICE}`, { role: "support" }), context: t.h.context(), params: { hash: ALICE } });
    const live = await page.plaid;
    expect(live).toMatchObject({ items: [{ itemId: alice, ok: false, error: { errorCode: "STORED_TOKEN_REFUSED", help: expect.stringContaining("Link the item again") } }] });
    // Bob's own item still reads with its own token.
    const bobPage = await customerPage.loader({ request: await t.h.request(`/customers/${BOB}`, { role: "support" }), context: t.h.context(), params: { hash: BOB } });
    expect(await bobPage.plaid).toMatchObject({ items: [{ itemId: bob, ok: true }] });
  });

  it("a processor token moved to another row is not handed to Cardlytics", async () => {
    const itemId = await linkItem(ALICE);
    const accounts = t.h.db.select().from(plaidAccounts).where(eq(plaidAccounts.itemId, itemId)).all();
    const first = await act(itemPage, `/plaid/items/${itemId}`, { intent: "processor-token", accountId: accounts[0]!.accountId }, { itemId });
    const second = await act(itemPage, `/plaid/items/${itemId}`, { intent: "processor-token", accountId: accounts[1]!.accountId }, { itemId });
    const firstId = (first.data.newToken as { id: number }).id;
    const secondId = (second.data.newToken as { id: number }).id;
    const stored = (id: number) => t.h.db.select().from(processorTokens).where(eq(processorTokens.id, id)).get()!;
    expect(decryptToken(t.h.config.tokenEncryptionKey, stored(secondId).tokenEnc!, tokenBinding.processorToken(secondId))).toBe((second.data.newToken as { token: string }).token);
    t.h.db.update(processorTokens).set({ tokenEnc: stored(firstId).tokenEnc }).where(eq(processorTokens.id, secondId)).run();

    const sent = await act(itemPage, `/plaid/items/${itemId}`, { intent: "send", tokenId: String(secondId) }, { itemId });
    expect(sent.status).toBe(409);
    expect(sent.data).toMatchObject({ ok: false, message: expect.stringContaining("does not belong to this row") });
    expect(stored(secondId)).toMatchObject({ sentToCardlyticsAt: null, cardlyticsResult: null });
  });

  it("a link token or Check user_token moved between customers is refused on the pages that read them, never a 500", async () => {
    const key = t.h.config.tokenEncryptionKey;
    const now = t.h.clock.now();
    t.h.db.insert(linkSessions).values({ linkSessionId: "ls-bob", customerHash: BOB, linkTokenEnc: encryptToken(key, "link-sandbox-bob", tokenBinding.linkToken("ls-bob")), registeredAt: now }).run();
    t.h.db.insert(linkSessions).values({ linkSessionId: "ls-alice", customerHash: ALICE, linkTokenEnc: encryptToken(key, "link-sandbox-bob", tokenBinding.linkToken("ls-bob")), registeredAt: now }).run();
    const tokens = await readLinkTokensLive(t.h.context(), ALICE);
    expect(tokens).toEqual([{ linkSessionId: "ls-alice", ok: false, errorCode: "STORED_TOKEN_REFUSED", message: expect.stringContaining("does not belong to this row"), requestId: null }]);

    const user = t.h.db
      .insert(craUsers)
      .values({ customerHash: ALICE, generation: "legacy", userId: null, userTokenEnc: encryptToken(key, "user-sandbox-bob", tokenBinding.userToken(BOB)), clientUserId: ALICE, createdAt: now })
      .returning()
      .get();
    const report = t.h.db.insert(craReports).values({ customerHash: ALICE, craUserId: user.id, status: "failed", origin: "console", products: [], requestedAt: now, sentAt: now, completedAt: now, errorCode: "PRODUCT_NOT_READY" }).returning().get();
    const view = await reportPage.loader({ request: await t.h.request(`/reports/${report.id}`, { role: "support" }), context: t.h.context(), params: { id: String(report.id) } });
    expect(view.items).toMatchObject({ ok: false, error: { errorCode: "STORED_TOKEN_REFUSED", errorMessage: expect.stringContaining("does not belong to this row") } });

    // A queued request for that user fails with the reason instead of reaching Plaid or stalling the queue.
    const queued = t.h.db.insert(craReports).values({ customerHash: ALICE, craUserId: user.id, status: "queued", origin: "console", purpose: "ACCOUNT_REVIEW_CREDIT", products: [], requestedAt: now }).returning().get();
    expect(await dispatchReports(t.h.context())).toBe(0);
    expect(t.h.db.select().from(craReports).where(eq(craReports.id, queued.id)).get()).toMatchObject({ status: "failed", errorCode: "STORED_TOKEN_REFUSED", plaidRequestId: null });
  });

  it("an item held without a usable token still has its page, saying why Plaid was not asked", async () => {
    const now = t.h.clock.now();
    t.h.db.insert(plaidItems).values({ itemId: "item-registered", customerHash: ALICE, accessTokenEnc: null, products: ["transactions"], source: "publisher", status: "active", createdAt: now, updatedAt: now }).run();
    const view = await itemPage.loader({ request: await t.h.request("/plaid/items/item-registered", { role: "support" }), context: t.h.context(), params: { itemId: "item-registered" } });
    expect(view.liveError).toMatchObject({ errorCode: "NO_ACCESS_TOKEN", help: expect.stringContaining("/api/customer-data") });
    const update = await act(itemPage, "/plaid/items/item-registered", { intent: "webhook-url", url: "" }, { itemId: "item-registered" });
    expect(update).toMatchObject({ status: 409, data: { ok: false, message: expect.stringContaining("without its access token") } });
  });

  it("registering the token again through the customer-data API repairs a row whose value was refused", async () => {
    const itemId = await linkItem(ALICE);
    const bob = await linkItem(BOB);
    t.h.db.update(plaidItems).set({ accessTokenEnc: accessTokenEnc(bob) }).where(eq(plaidItems.itemId, itemId)).run();
    const { applyEntry } = await import("../../app/customers/registrations.server");
    const outcome = t.h.db.transaction((tx) => applyEntry({ db: t.h.db, config: t.h.config, now: t.h.clock.now }, tx, { type: "plaid_item", customer_hash: ALICE, item_id: itemId, access_token: "access-sandbox-repaired" }, null, t.h.clock.now()));
    expect(outcome.status).toBe("accepted");
    expect(decryptToken(t.h.config.tokenEncryptionKey, accessTokenEnc(itemId), tokenBinding.accessToken(itemId))).toBe("access-sandbox-repaired");
  });
});

describe("tokens stored in the unbound form", () => {
  it("are re-encrypted bound to their rows at start-up, once, and still read; one that does not decrypt is left and refused", async () => {
    const keyHex = randomBytes(32).toString("hex");
    const key = Buffer.from(keyHex, "hex");
    const path = join(mkdtempSync(join(tmpdir(), "linkdesk-rebind-")), "old.db");
    const old = openDatabase(path);
    runMigrations(old);
    const at = new Date("2026-11-01T12:00:00Z");
    const item = (itemId: string, customerHash: string, enc: string) => old.insert(plaidItems).values({ itemId, customerHash, accessTokenEnc: enc, products: ["transactions"], status: "active", createdAt: at, updatedAt: at }).run();
    item("item-alice", ALICE, legacyV1(key, "access-sandbox-alice"));
    item("item-bob", BOB, legacyV1(key, "access-sandbox-bob"));
    item("item-other-key", BOB, legacyV1(randomBytes(32), "access-sandbox-lost"));
    const token = old.insert(processorTokens).values({ itemId: "item-alice", accountId: "acc-1", processor: "cardlytics", tokenEnc: legacyV1(key, "processor-sandbox-1"), tokenHint: "processor-sandbox-…ox-1", createdAt: at }).returning().get();
    old.insert(craUsers).values({ customerHash: ALICE, generation: "legacy", userId: "user-1", userTokenEnc: legacyV1(key, "user-sandbox-1"), clientUserId: ALICE, createdAt: at }).run();
    old.insert(linkSessions).values({ linkSessionId: "ls-1", customerHash: ALICE, linkTokenEnc: legacyV1(key, "link-sandbox-1"), registeredAt: at }).run();
    old.$client.close();

    const running = await startConsole(testEnv({ PORT: "0", DATABASE_PATH: path, LINKDESK_DEV: "1", NODE_ENV: "development", TOKEN_ENCRYPTION_KEY: keyHex }));
    try {
      const db = running.db;
      const enc = (itemId: string) => db.select().from(plaidItems).where(eq(plaidItems.itemId, itemId)).get()!.accessTokenEnc!;
      expect(enc("item-alice")).toMatch(/^v2:/);
      expect(decryptToken(key, enc("item-alice"), tokenBinding.accessToken("item-alice"))).toBe("access-sandbox-alice");
      expect(decryptToken(key, enc("item-bob"), tokenBinding.accessToken("item-bob"))).toBe("access-sandbox-bob");
      const tokenEnc = db.select().from(processorTokens).where(eq(processorTokens.id, token.id)).get()!.tokenEnc!;
      expect(decryptToken(key, tokenEnc, tokenBinding.processorToken(token.id))).toBe("processor-sandbox-1");
      expect(decryptToken(key, db.select().from(craUsers).get()!.userTokenEnc!, tokenBinding.userToken(ALICE))).toBe("user-sandbox-1");
      expect(decryptToken(key, db.select().from(linkSessions).get()!.linkTokenEnc!, tokenBinding.linkToken("ls-1"))).toBe("link-sandbox-1");
      // Bound now: Alice's rewritten value no longer reads in Bob's row.
      expect(() => decryptToken(key, enc("item-alice"), tokenBinding.accessToken("item-bob"))).toThrow(StoredTokenError);
      // The value under another key is kept as it was, and refused when read.
      expect(enc("item-other-key")).toMatch(/^v1:/);
      expect(() => decryptToken(key, enc("item-other-key"), tokenBinding.accessToken("item-other-key"))).toThrow(/older unbound form/);
      // A second start-up has nothing left to do.
      const before = enc("item-alice");
      expect(rebindStoredTokens(db, key)).toEqual({ rebound: 0, unreadable: 1 });
      expect(enc("item-alice")).toBe(before);
    } finally {
      await running.close();
    }
  });
});
