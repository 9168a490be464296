import { claimId } from "../../app/customers/identity.server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import * as list from "../../app/routes/webhooks._index";
import * as receiver from "../../app/routes/webhooks.plaid";
import { consoleJobs } from "../../app/jobs/console-jobs.server";
import { createLogger } from "../../app/ops/log.server";
import { getRehandleJob, startRehandleJob } from "../../app/webhooks/rehandle-jobs.server";
import { auditLog, jobs, plaidItems, webhookEvents } from "../../db/schema";
import { signBody } from "../../simulators/plaid/webhooks";
import { createHarness, ORIGIN, type Harness } from "../support/context";
import { startTestSimulators } from "../support/simulators";

let sims: Awaited<ReturnType<typeof startTestSimulators>>;
let h: Harness;
beforeAll(async () => {
  sims = await startTestSimulators("webhook-rehandle-hmac-key-0000000000000");
});
afterAll(() => sims.close());
beforeEach(async () => {
  h = await createHarness(sims.env);
  h.clock.current = new Date(sims.clock.now());
});

async function deliver(payload: object) {
  const body = JSON.stringify(payload, null, 2);
  const headers = { "content-type": "application/json", "plaid-verification": signBody(body, sims.plaid.keys.current, sims.clock.now()) };
  const res = await receiver.action({ request: new Request(`${ORIGIN}/webhooks/plaid`, { method: "POST", headers, body }), context: h.context(), params: {} });
  expect(res.status).toBe(200);
}

function addItem(itemId: string) {
  const now = h.clock.now();
  h.db.insert(plaidItems).values({ itemId, customerHash: "e".repeat(64), institutionId: "ins_109508", institutionName: "First Platypus Bank", accessTokenEnc: "v1:x", products: ["transactions"], status: "active", createdAt: now, updatedAt: now }).run();
  claimId(h.db, { kind: "item", value: itemId, customerHash: "e".repeat(64), source: "console", at: now });
}

/** 40 ITEM webhooks whose handler fails; afterwards the items with an odd number work again, the even ones do not. */
async function failedEvents() {
  h.db.$client.exec("CREATE TRIGGER refuse_items BEFORE UPDATE ON plaid_items BEGIN SELECT RAISE(ABORT, 'item table locked for maintenance'); END;");
  for (let i = 0; i < 40; i++) {
    addItem(`rj-${i}`);
    await deliver({ webhook_type: "ITEM", webhook_code: "PENDING_DISCONNECT", item_id: `rj-${i}`, environment: "sandbox" });
  }
  // One that is not failed, so it must not be re-run.
  await deliver({ webhook_type: "ITEM", webhook_code: "PENDING_DISCONNECT", item_id: "rj-unknown", environment: "sandbox" });
  h.db.$client.exec("DROP TRIGGER refuse_items");
  h.db.$client.exec("CREATE TRIGGER refuse_even_items BEFORE UPDATE ON plaid_items WHEN CAST(substr(NEW.item_id, 4) AS INTEGER) % 2 = 0 BEGIN SELECT RAISE(ABORT, 'still locked'); END;");
  expect(h.db.select().from(webhookEvents).where(eq(webhookEvents.handlingStatus, "failed")).all()).toHaveLength(40);
}

const ops = () => ({ id: h.users.ops.id, email: h.users.ops.email, role: "ops" as const });

describe("bulk re-run of failed webhook handlers", () => {
  it("runs in the background to completion over real SQLite, re-handling each failed event once, with the right counts", async () => {
    await failedEvents();
    const ids = h.db.select({ id: webhookEvents.id }).from(webhookEvents).where(eq(webhookEvents.handlingStatus, "failed")).all().map((r) => r.id);
    const { jobId, finished } = startRehandleJob({ db: h.db, jobs: h.jobs, now: h.clock.now }, { eventIds: [...ids, ids[0]!], filter: { type: "ITEM" }, actor: ops(), clientAddress: "127.0.0.1" });
    // Nothing has run yet: the work happens on later turns of the event loop.
    expect(getRehandleJob(h.db, jobId)).toMatchObject({ status: "running", done: 0, eventIds: ids, filter: { type: "ITEM" } });
    await finished;
    expect(getRehandleJob(h.db, jobId)).toMatchObject({ status: "finished", done: 40, stillFailing: 20, finishedAt: expect.any(Date) });
    const events = h.db.select().from(webhookEvents).all();
    expect(events.filter((e) => e.handlingStatus === "handled")).toHaveLength(20);
    expect(events.filter((e) => e.handlingStatus === "failed").every((e) => e.handleAttempts === 2 && e.handlingResult === "still locked")).toBe(true);
    expect(events.find((e) => e.itemId === "rj-unknown")).toMatchObject({ handlingStatus: "ignored", handleAttempts: 1 });
    expect(h.db.select().from(plaidItems).where(eq(plaidItems.itemId, "rj-1")).get()!.status).toBe("pending-disconnect");
    const audit = h.db.select().from(auditLog).where(eq(auditLog.targetId, String(jobId))).all();
    expect(audit.map((a) => [a.action, a.details])).toEqual([
      ["webhook.rehandle_failed", { events: 40, filter: { type: "ITEM" } }],
      ["webhook.rehandle_finished", { events: 40, ranCleanly: 20, stillFailing: 20 }],
    ]);
  });

  it("starts from the history page for ops, shows progress to the end, and after a restart an unfinished job carries on from its progress", async () => {
    await failedEvents();
    const res = (await list.action({ request: await h.request("/webhooks?type=ITEM&index", { method: "POST", role: "ops" }), context: h.context(), params: {} })) as Response;
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location")!, ORIGIN);
    expect(location.pathname).toBe("/webhooks");
    expect(location.searchParams.get("type")).toBe("ITEM");
    const jobId = Number(location.searchParams.get("job"));
    const page = async () => (await list.loader({ request: await h.request(`${location.pathname}${location.search}`, { role: "ops" }), context: h.context(), params: {} })).job;
    await vi.waitFor(async () => expect(await page()).toMatchObject({ id: jobId, status: "finished", total: 40, done: 40, stillFailing: 20 }), { timeout: 10_000 });

    // As a process killed after its first slices leaves the job: running, 12 events done, 6 of them still failing.
    // The next start (a new runner over the same database) carries on from event 13 to the end.
    h.db.update(jobs).set({ status: "running", progressDone: 12, result: { stillFailing: 6 } }).where(eq(jobs.id, jobId)).run();
    const attemptsBefore = h.db.select().from(webhookEvents).all().map((e) => [e.id, e.handleAttempts] as const);
    const restarted = consoleJobs({ db: h.db, log: createLogger({ level: "silent" }), cardlytics: h.context().cardlytics, plaid: h.context().plaid, config: h.config, now: h.clock.now });
    expect(restarted.recover()).toEqual({ resumed: 1, interrupted: 0 });
    expect(await page()).toMatchObject({ status: "queued", done: 12 });
    restarted.claimQueued();
    expect(await restarted.settled(jobId)).toMatchObject({ status: "finished", attempts: 2, progressDone: 40 });
    expect(await page()).toMatchObject({ status: "finished", done: 40, stillFailing: 20 });
    // Only the events after the 12th were run again.
    const job = getRehandleJob(h.db, jobId)!;
    const rerun = new Set(job.eventIds.slice(12));
    const after = new Map(h.db.select().from(webhookEvents).all().map((e) => [e.id, e.handleAttempts]));
    for (const [id, n] of attemptsBefore) expect(after.get(id)).toBe(rerun.has(id) ? n + 1 : n);
  });

  it("says so when no failed event matches, without starting a job", async () => {
    const res = (await list.action({ request: await h.request("/webhooks?code=NOTHING&index", { method: "POST", role: "ops" }), context: h.context(), params: {} })) as { message: string };
    expect(res.message).toBe("No failed event matches this filter.");
    expect(h.db.select().from(jobs).all()).toHaveLength(0);
  });
});
