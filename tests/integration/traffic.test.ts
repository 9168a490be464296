import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulators, type RunningSimulators } from "../../simulators";
import { ManualClock } from "../../simulators/shared/clock";
import { playTraffic, type CustomerOutcome } from "../../simulators/traffic";
import { startWebhookReceiver } from "../support/webhook-receiver";

const HMAC_KEY = "traffic-test-key-0123456789abcdef0123456789";
let sims: RunningSimulators;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let outcomes: CustomerOutcome[];

beforeAll(async () => {
  sims = await startSimulators({ customerIdHmacKey: HMAC_KEY, clock: new ManualClock(), reportDelayMs: 1000, env: {} as NodeJS.ProcessEnv });
  receiver = await startWebhookReceiver();
  outcomes = await playTraffic({
    customers: 60,
    plaid: { baseUrl: sims.plaid.url, ...sims.credentials.plaid },
    cardlytics: { baseUrl: sims.cardlytics.url, ...sims.credentials.cardlytics },
    customerIdHmacKey: HMAC_KEY,
    webhookUrl: receiver.url,
    seed: 7,
  });
  sims.clock.advance(1000);
  await sims.plaid.webhooks.idle();
}, 60_000);

afterAll(async () => {
  await sims.close();
  await receiver.close();
});

async function accountLink(hash: string) {
  const session = await request(`${sims.cardlytics.url}/v2/session/startSession`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-source-customer-id": hash },
    body: JSON.stringify({ clientId: sims.credentials.cardlytics.clientId, secret: sims.credentials.cardlytics.secret }),
  });
  const { sessionToken } = (await session.body.json()) as { sessionToken: string };
  const res = await request(`${sims.cardlytics.url}/v2/data/accountLink`, { headers: { authorization: `Bearer ${sessionToken}`, "x-source-customer-id": hash } });
  return { status: res.statusCode, body: res.statusCode === 200 ? ((await res.body.json()) as { accounts: { status: string }[] }) : (await res.body.dump(), null) };
}

describe("traffic generator", () => {
  it("plays every customer through the flow with drop-off at each step", () => {
    expect(outcomes).toHaveLength(60);
    const stages = new Set(outcomes.map((o) => o.reached));
    expect([...stages]).toEqual(expect.arrayContaining(["OPEN", "CARDLYTICS_LINKED"]));
    expect(stages.size).toBeGreaterThanOrEqual(4);
    expect(new Set(outcomes.map((o) => o.institutionId)).size).toBeGreaterThanOrEqual(4);
    expect(outcomes.every((o) => /^[0-9a-f]{64}$/.test(o.hash) && o.rawId.startsWith("cust-"))).toBe(true);
  });

  it("leaves linked customers with an OPEN Cardlytics account and the others with none", async () => {
    const linked = outcomes.find((o) => o.reached === "CARDLYTICS_LINKED")!;
    const dropped = outcomes.find((o) => o.reached === "OPEN")!;
    expect(await accountLink(linked.hash)).toMatchObject({ status: 200, body: { accounts: [{ status: "OPEN" }] } });
    expect((await accountLink(dropped.hash)).status).toBe(204);
  });

  it("sends the publisher the webhooks that follow: one finished Link session per customer, and the report outcomes", () => {
    expect(receiver.byCode("SESSION_FINISHED")).toHaveLength(60);
    const reports = outcomes.filter((o) => o.report).length;
    expect(reports).toBeGreaterThan(0);
    const checkHooks = receiver.received.filter((r) => r.json.webhook_type === "CHECK_REPORT");
    expect(checkHooks).toHaveLength(reports);
    // Both ways a report starts, and both User API generations, each with its own webhook codes.
    const reported = outcomes.filter((o) => o.report);
    expect(new Set(reported.map((o) => o.reportVia))).toEqual(new Set(["link", "check_report_create"]));
    expect(new Set(reported.map((o) => o.userApi))).toEqual(new Set(["legacy", "new"]));
    for (const o of reported) {
      const hooks = checkHooks.filter((r) => r.json.user_id === o.checkUserId);
      expect(hooks).toHaveLength(1);
      expect(String(hooks[0]!.json.webhook_code)).toMatch(o.userApi === "new" ? /^USER_CHECK_REPORT_(READY|FAILED)$/ : /^CHECK_REPORT_(READY|FAILED)$/);
      expect(o.checkUserId).toMatch(o.userApi === "new" ? /^usr_/ : /^[A-Za-z0-9]{29}$/);
      // A report started in Link covers the Item that session added.
      if (o.reportVia === "link") expect(hooks[0]!.json.item_ids).toContain(o.itemId);
    }
    expect(receiver.received.every((r) => typeof r.headers["plaid-verification"] === "string")).toBe(true);
    // The vendors only ever see the hash: no raw customer id appears in anything Plaid sent.
    expect(receiver.received.some((r) => r.body.toString().includes("cust-0"))).toBe(false);
  });
});
