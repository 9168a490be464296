import { readFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as customerPage from "../../app/routes/customers.$hash/route";
import * as itemPage from "../../app/routes/plaid.items.$itemId";
import * as sandbox from "../../app/routes/plaid.sandbox";
import { createPlaidClient } from "../../app/plaid/client.server";
import { exchangeAndStore } from "../../app/plaid/items.server";
import { auditLog, funnelCustomers, funnelEvents, plaidAccounts, plaidItems, processorTokens } from "../../db/schema";
import { createHarness, form, postForm, statusOf } from "../support/context";
import { simulatorHarness } from "../support/simulators";

const HMAC_KEY = "plaid-sandbox-test-hmac-key-0000000000000";
const CUSTOMER = "ab".repeat(32);
const t = simulatorHarness(HMAC_KEY);

type Result = { ok?: boolean; minted?: { publicToken: string }; plaidError?: { errorCode: string; help: string; requestId: string | null }; fieldErrors?: Record<string, string>; newToken?: { id: number; token: string }; message?: string };

const act = (mod: { action: (a: never) => unknown }, path: string, values: Record<string, string | string[]>, params: Record<string, string> = {}) =>
  postForm<Result>(t.h, mod, path, values, params);

const mint = (overrides: Record<string, string | string[]> = {}) =>
  act(sandbox, "/plaid/sandbox", { intent: "mint", customer: CUSTOMER, institution: "ins_109508", products: ["transactions"], persona: "user_good", webhook: "", ...overrides });

async function mintAndExchange(customer = CUSTOMER) {
  const minted = await mint({ customer });
  const exchanged = await act(sandbox, "/plaid/sandbox", { intent: "exchange", customer, publicToken: minted.data.minted!.publicToken });
  return decodeURIComponent(exchanged.location!.split("/plaid/items/")[1]!.split("?")[0]!);
}

describe("Plaid sandbox tooling", () => {
  it("mints, exchanges, creates a Cardlytics processor token, sends it, and the customer's account appears", async () => {
    const itemId = await mintAndExchange();
    const stored = t.h.db.select().from(plaidItems).where(eq(plaidItems.itemId, itemId)).get()!;
    expect(stored).toMatchObject({ customerHash: CUSTOMER, institutionName: "First Platypus Bank", status: "active" });
    expect(stored.accessTokenEnc).toMatch(/^v2:/);
    const accounts = t.h.db.select().from(plaidAccounts).where(eq(plaidAccounts.itemId, itemId)).all();
    expect(accounts.map((a) => a.mask)).toEqual(["0000", "1111", "2222", "3333", "4444"]);

    const created = await act(itemPage, `/plaid/items/${itemId}`, { intent: "processor-token", accountId: accounts[0]!.accountId }, { itemId });
    const token = created.data.newToken!.token;
    expect(token).toMatch(/^processor-sandbox-/);
    const page = await itemPage.loader({ request: await t.h.request(`/plaid/items/${itemId}`, { role: "support" }), context: t.h.context(), params: { itemId } });
    expect(page.tokens).toMatchObject([{ tokenHint: `processor-sandbox-…${token.slice(-4)}` }]);
    expect(JSON.stringify(page)).not.toContain(token);

    const sent = await act(itemPage, `/plaid/items/${itemId}`, { intent: "send", tokenId: String(created.data.newToken!.id) }, { itemId });
    expect(sent.data.message).toContain("1 linked account.");
    const customer = await customerPage.loader({ request: await t.h.request(`/customers/${CUSTOMER}`, { role: "support" }), context: t.h.context(), params: { hash: CUSTOMER } });
    expect(await customer.cardlytics).toMatchObject({ state: "answered", ok: true, accounts: [{ last4: "0000", status: "OPEN", fiName: "First Platypus Bank" }] });
    expect((await customer.verdict).code).toBe("earning");
    expect(customer.stored.items).toMatchObject([{ itemId, status: "active", source: "console", hasAccessToken: true, tokens: [{ cardlyticsResult: "connected" }] }]);
    // The console holds the item's access token, so Plaid is asked about it live.
    expect(await customer.plaid).toMatchObject({ items: [{ itemId, ok: true, status: "active", errorCode: null, accounts: expect.arrayContaining([expect.objectContaining({ accountId: expect.any(String) })]) }] });
    expect(await customer.escalation).toContain(itemId);

    // Each of those steps reached the funnel, under this customer, at the time the console saw it.
    const steps = t.h.db.select().from(funnelEvents).where(eq(funnelEvents.customerHash, CUSTOMER)).all();
    expect(steps.map((e) => [e.name, e.source, e.itemId])).toEqual([
      ["item_added", "console", itemId],
      ["processor_token_created", "console", itemId],
      ["account_linked", "cardlytics", null],
    ]);
    expect(t.h.db.select().from(funnelCustomers).where(eq(funnelCustomers.customerHash, CUSTOMER)).get()).toMatchObject({ institutionName: "First Platypus Bank", itemAddedAt: expect.any(Number), accountLinkedAt: expect.any(Number) });

    // No token in plaintext anywhere in the database file, the audit log included.
    t.h.db.$client.pragma("wal_checkpoint(TRUNCATE)");
    const bytes = readFileSync(t.h.db.$client.name);
    const accessToken = t.sims.plaid.state.items.get(itemId)!.accessToken;
    expect(bytes.includes(Buffer.from(accessToken))).toBe(false);
    expect(bytes.includes(Buffer.from(token))).toBe(false);
    expect(bytes.includes(Buffer.from(token.slice("processor-sandbox-".length)))).toBe(false);
    expect(JSON.stringify(t.h.db.select().from(auditLog).all())).not.toMatch(/access-sandbox|processor-sandbox-[0-9a-f]{8}/);
  });

  it("removing the item revokes its processor tokens and the verdict says so", async () => {
    const itemId = await mintAndExchange();
    const account = t.h.db.select().from(plaidAccounts).where(eq(plaidAccounts.itemId, itemId)).get()!;
    await act(itemPage, `/plaid/items/${itemId}`, { intent: "processor-token", accountId: account.accountId }, { itemId });
    expect((await act(itemPage, `/plaid/items/${itemId}`, { intent: "remove", confirm: "nope" }, { itemId })).status).toBe(400);
    expect((await act(itemPage, `/plaid/items/${itemId}`, { intent: "remove", confirm: "remove" }, { itemId })).status).toBe(302);
    expect(t.h.db.select().from(processorTokens).where(eq(processorTokens.itemId, itemId)).all().every((t) => t.revokedAt)).toBe(true);
    const customer = await customerPage.loader({ request: await t.h.request(`/customers/${CUSTOMER}`, { role: "support" }), context: t.h.context(), params: { hash: CUSTOMER } });
    expect(customer.stored.items.find((i) => i.itemId === itemId)?.status).toBe("removed");
    expect((await customer.verdict).code).toBe("item-removed");
  });

  it("explains a processor token refused because the Cardlytics integration is off, and the verdict names it until a token is made", async () => {
    // A customer Cardlytics has never heard of.
    const customer = "c7".repeat(32);
    const itemId = await mintAndExchange(customer);
    const account = t.h.db.select().from(plaidAccounts).where(eq(plaidAccounts.itemId, itemId)).get()!;
    const integration = (on: boolean) => fetch(`${t.sims.plaid.url}/__sim/plaid/clients`, { method: "POST", body: JSON.stringify({ settings: { cardlyticsIntegration: on } }) });
    await integration(false);
    try {
      const refused = await act(itemPage, `/plaid/items/${itemId}`, { intent: "processor-token", accountId: account.accountId }, { itemId });
      expect(refused.status).toBe(400);
      expect(refused.data.plaidError).toMatchObject({ errorCode: "INVALID_PRODUCT", requestId: expect.any(String), help: expect.stringContaining("under Integrations") });
      expect(t.h.db.select().from(processorTokens).where(eq(processorTokens.itemId, itemId)).all()).toEqual([]);
      const verdict = async () => (await (await customerPage.loader({ request: await t.h.request(`/customers/${customer}`, { role: "support" }), context: t.h.context(), params: { hash: customer } })).verdict);
      expect(await verdict()).toMatchObject({ answer: "no", code: "cardlytics-integration-off", cause: expect.stringContaining(refused.data.plaidError!.requestId!) });
      // The sandbox and item pages warn everyone who makes processor tokens next.
      const sandboxPage = await sandbox.loader({ request: await t.h.request("/plaid/sandbox", { role: "ops" }), context: t.h.context(), params: {} });
      expect(sandboxPage.integrationRefusal).toEqual({ at: expect.any(Number), requestId: refused.data.plaidError!.requestId });
      const page = await itemPage.loader({ request: await t.h.request(`/plaid/items/${itemId}`, { role: "ops" }), context: t.h.context(), params: { itemId } });
      expect(page.integrationRefusal?.requestId).toBe(refused.data.plaidError!.requestId);
      await integration(true);
      t.h.clock.current = new Date(t.h.clock.current.getTime() + 1000);
      expect((await act(itemPage, `/plaid/items/${itemId}`, { intent: "processor-token", accountId: account.accountId }, { itemId })).status).toBe(200);
      expect((await verdict()).code).not.toBe("cardlytics-integration-off");
      expect((await sandbox.loader({ request: await t.h.request("/plaid/sandbox", { role: "ops" }), context: t.h.context(), params: {} })).integrationRefusal).toBeNull();
    } finally {
      await integration(true);
    }
  });

  it.each([
    [{ persona: "error_ITEM_LOCKED" }, "ITEM_LOCKED", 400],
    [{ persona: "error_INTERNAL_SERVER_ERROR" }, "INTERNAL_SERVER_ERROR", 502],
    [{ institution: "ins_999999" }, "INVALID_INSTITUTION", 400],
    [{ institution: "ins_132361" }, "INSTITUTION_DOWN", 400],
  ])("explains Plaid's error for %o", async (overrides, code, status) => {
    const res = await mint(overrides);
    expect(res.status).toBe(status);
    expect(res.data.plaidError).toMatchObject({ errorCode: code, requestId: expect.any(String), help: expect.any(String) });
  });

  it.each([
    [{ persona: "user_root" }, "persona"],
    [{ institution: "First Platypus" }, "institution"],
    [{ products: [] as string[] }, "products"],
    [{ products: ["balance"] }, "products"],
    [{ customer: "xyz" }, "customer"],
    [{ webhook: "ftp://example.com" }, "webhook"],
  ])("refuses bad input %o beside the field, calling nobody", async (overrides, field) => {
    const res = await mint(overrides);
    expect(res.status).toBe(400);
    expect(res.data.fieldErrors?.[field]).toEqual(expect.any(String));
  });

  it("refuses an expired or reused public token and stores nothing", async () => {
    const minted = await mint();
    t.sims.clock.advance(30 * 60_000);
    const expired = await act(sandbox, "/plaid/sandbox", { intent: "exchange", customer: CUSTOMER, publicToken: minted.data.minted!.publicToken });
    expect(expired.data.plaidError?.errorCode).toBe("INVALID_PUBLIC_TOKEN");
    const fresh = await mint();
    await act(sandbox, "/plaid/sandbox", { intent: "exchange", customer: CUSTOMER, publicToken: fresh.data.minted!.publicToken });
    const before = t.h.db.select().from(plaidItems).all().length;
    const reused = await act(sandbox, "/plaid/sandbox", { intent: "exchange", customer: CUSTOMER, publicToken: fresh.data.minted!.publicToken });
    expect(reused).toMatchObject({ status: 400, data: { plaidError: { errorCode: "INVALID_PUBLIC_TOKEN" } } });
    expect(t.h.db.select().from(plaidItems).all().length).toBe(before);
  });

  it("leaves no item row when Plaid fails after the exchange, and removes the orphan at Plaid", async () => {
    const minted = await mint();
    t.sims.plaidFaults.set("/accounts/get", { errorRate: 1 });
    const res = await act(sandbox, "/plaid/sandbox", { intent: "exchange", customer: CUSTOMER, publicToken: minted.data.minted!.publicToken });
    expect(res).toMatchObject({ status: 502, data: { plaidError: { errorCode: "INTERNAL_SERVER_ERROR" } } });
    expect(t.h.db.select().from(plaidItems).all()).toHaveLength(0);
    const orphan = t.sims.plaid.state.items.get(t.sims.plaid.state.publicTokens.get(minted.data.minted!.publicToken)!.itemId)!;
    expect(orphan.removed).toBe(true);
  });

  it("refuses an account from another item", async () => {
    const a = await mintAndExchange();
    const b = await mintAndExchange();
    const foreign = t.h.db.select().from(plaidAccounts).where(eq(plaidAccounts.itemId, b)).get()!;
    const res = await act(itemPage, `/plaid/items/${a}`, { intent: "processor-token", accountId: foreign.accountId }, { itemId: a });
    expect(res.data.plaidError?.errorCode).toBe("INVALID_ACCOUNT_ID");
    expect(t.h.db.select().from(processorTokens).all()).toHaveLength(0);
  });

  it("explains wrong API keys, a timeout and a 429", async () => {
    const bad = await createHarness({ ...t.sims.env, CUSTOMER_ID_HMAC_KEY: HMAC_KEY, PLAID_SECRET: "wrong-secret" });
    const res = await sandbox.action({ request: await bad.request("/plaid/sandbox", { method: "POST", role: "ops", body: form({ intent: "mint", customer: CUSTOMER, institution: "ins_109508", products: "transactions", persona: "user_good", webhook: "" }) }), context: bad.context(), params: {} });
    expect((res as { data: Result }).data.plaidError).toMatchObject({ errorCode: "INVALID_API_KEYS" });
    t.sims.plaidFaults.set("/sandbox/public_token/create", { rateLimitRate: 1 });
    expect((await mint()).data.plaidError?.errorCode).toBe("RATE_LIMIT");
    t.sims.plaidFaults.set("/sandbox/public_token/create", { dropRate: 1 });
    const slow = { ...t.h.context(), plaid: createPlaidClient(t.h.config, 300) };
    await expect(exchangeAndStore(slow, { customerHash: CUSTOMER, publicToken: "public-sandbox-x" }, { actor: { id: t.h.users.ops.id, email: "ops", role: "ops" }, clientAddress: "x" }).catch((e: { failure: { errorCode: string } }) => e.failure.errorCode)).resolves.toBe("INVALID_PUBLIC_TOKEN");
    t.sims.plaidFaults.set("/item/public_token/exchange", { dropRate: 1 });
    await expect(exchangeAndStore(slow, { customerHash: CUSTOMER, publicToken: "public-sandbox-x" }, { actor: { id: t.h.users.ops.id, email: "ops", role: "ops" }, clientAddress: "x" }).catch((e: { failure: { errorCode: string } }) => e.failure.errorCode)).resolves.toBe("TIMEOUT");
    expect(t.h.db.select().from(plaidItems).all()).toHaveLength(0);
  });

  it("hides and refuses the sandbox tools in production", async () => {
    const prod = await createHarness({ ...t.sims.env, CUSTOMER_ID_HMAC_KEY: HMAC_KEY, PLAID_ENV: "production" });
    expect(await statusOf(async () => sandbox.loader({ request: await prod.request("/plaid/sandbox", { role: "ops" }), context: prod.context(), params: {} }))).toBe(403);
    expect(await statusOf(async () => sandbox.action({ request: await prod.request("/plaid/sandbox", { method: "POST", role: "ops", body: form({ intent: "mint" }) }), context: prod.context(), params: {} }))).toBe(403);
  });
});
