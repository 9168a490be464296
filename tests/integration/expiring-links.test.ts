import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as expiringCsv from "../../app/routes/customers.expiring[.]csv";
import * as expiring from "../../app/routes/customers.expiring";
import * as customerPage from "../../app/routes/customers.$hash/route";
import { getRecheckJob, startRecheckJob } from "../../app/cardlytics/recheck-jobs.server";
import { accountLinkChecks, jobs } from "../../db/schema";
import { simulatorHarness } from "../support/simulators";

const HMAC_KEY = "expiring-links-test-hmac-key-00000000000";
const t = simulatorHarness(HMAC_KEY);
beforeEach(async () => {
  for (const raw of ["demo-open", "demo-expiring", "demo-expired", "demo-two-cards", "demo-none"]) {
    const hash = t.sims.hashOf(raw);
    await (await customerPage.loader({ request: await t.h.request(`/customers/${hash}`, { role: "support" }), context: t.h.context(), params: { hash } })).cardlytics;
  }
});

async function list(query: string) {
  return expiring.loader({ request: await t.h.request(`/customers/expiring${query}`, { role: "support" }), context: t.h.context(), params: {} });
}

describe("expiring links", () => {
  it("lists OPEN accounts expiring within N days, expired first, sortable, with a clear message for a bad N", async () => {
    expect((await list("?within=14")).rows.map((r) => r.customerHash)).toEqual([t.sims.hashOf("demo-expired"), t.sims.hashOf("demo-expiring")]);
    expect((await list("?within=30")).rows).toHaveLength(3);
    const byCustomer = (await list("?within=30&sort=customer")).rows.map((r) => r.customerHash);
    expect(byCustomer).toEqual([...byCustomer].sort());
    const bad = await list("?within=9999");
    expect(bad.error).toContain("1 to 365");
    expect(bad.within).toBe(14);
  });

  it("exports the list as CSV", async () => {
    const res = (await expiringCsv.loader({ request: await t.h.request("/customers/expiring.csv?within=30", { role: "support" }), context: t.h.context(), params: {} })) as Response;
    const lines = (await res.text()).trim().split("\r\n");
    expect(lines[0]).toBe("customer_hash,account_id,institution,last4,card_type,expires_utc,state,checked_at_utc");
    expect(lines.slice(1).map((l) => l.split(",")[6])).toEqual(["expired", "expiring", "expiring"]);
  });

  it("re-checks a batch in the background with bounded concurrency, storing each answer and counting failures", async () => {
    const hashes = [t.sims.hashOf("demo-open"), t.sims.hashOf("demo-expiring"), t.sims.hashOf("demo-none"), "0".repeat(64)];
    const before = t.h.db.select().from(accountLinkChecks).all().length;
    const { jobId, finished } = startRecheckJob({ db: t.h.db, jobs: t.h.jobs, now: t.h.clock.now }, { customerHashes: [...hashes, hashes[0]!], actor: { id: t.h.users.ops.id, email: t.h.users.ops.email, role: "ops" }, clientAddress: "127.0.0.1" });
    await finished;
    expect(getRecheckJob(t.h.db, jobId)).toMatchObject({ status: "finished", done: 4, failed: 0, customerHashes: hashes });
    expect(t.h.db.select().from(accountLinkChecks).all().length).toBe(before + 4);
  });

  it("starts from the page's action for ops, and a restart marks an unfinished job as interrupted", async () => {
    const request = await t.h.request("/customers/expiring?within=30", { method: "POST", role: "ops" });
    const res = (await expiring.action({ request, context: t.h.context(), params: {} })) as Response;
    expect(res.status).toBe(302);
    const jobId = Number(new URL(res.headers.get("Location")!, "http://x").searchParams.get("job"));
    expect(getRecheckJob(t.h.db, jobId)!.customerHashes).toHaveLength(3);
    expect(await t.h.jobs.settled(jobId)).toMatchObject({ status: "finished", result: { checked: 3, failed: 0 } });
    expect((await list(`?within=30&job=${jobId}`)).job).toMatchObject({ id: jobId, status: "finished", done: 3, total: 3, failed: 0 });
    // As the process stopping mid-job leaves it: running, one customer done. A re-check is not resumed.
    t.h.db.update(jobs).set({ status: "running", progressDone: 1, result: { failed: 0 } }).where(eq(jobs.id, jobId)).run();
    expect(t.h.jobs.recover()).toEqual({ resumed: 0, interrupted: 1 });
    expect((await list(`?within=30&job=${jobId}`)).job).toMatchObject({ id: jobId, status: "interrupted", done: 1 });
  });
});
