import { beforeAll, describe, expect, it } from "vitest";
import * as csvRoute from "../../app/routes/funnel[.]csv";
import * as dropoff from "../../app/routes/funnel.dropoff";
import * as funnel from "../../app/routes/funnel._index";
import * as ingest from "../../app/routes/api.events";
import { createApiKey } from "../../app/funnel/api-keys.server";
import { countsOf } from "../../app/funnel/report.server";
import { createHarness, ORIGIN, statusOf, type Harness } from "../support/context";

// A known set of events, sent the way the publisher's backend sends them, and every figure the funnel page shows
// worked out by hand. The rules: a customer enters at their first "Link started"; a step counts when every earlier
// step was reached and this one within the window; percentiles are nearest-rank.

const MIN = 60_000;
const T = (iso: string) => Date.parse(iso);
const hash = (c: string) => c.repeat(64);

type Step = "link_started" | "institution_selected" | "credentials_submitted" | "item_added" | "processor_token_created" | "account_linked" | "report_ready" | "link_exit" | "link_error";
type Ev = { event_id: string; name: Step; occurred_at: number; customer_hash: string; institution_name?: string; error_code?: string; attributes?: Record<string, string> };

function journey(c: string, start: string, steps: [Step, number][], extra: { institution?: string; platform?: string } = {}): Ev[] {
  const t0 = T(start);
  return steps.map(([name, minutes], i) => ({
    event_id: `${c}-${i}-${name}`,
    name,
    occurred_at: t0 + minutes * MIN,
    customer_hash: hash(c),
    ...(name === "link_started" && extra.institution ? { institution_name: extra.institution } : {}),
    ...(name === "link_started" && extra.platform ? { attributes: { platform: extra.platform } } : {}),
  }));
}

const FULL: [Step, number][] = [
  ["link_started", 0],
  ["institution_selected", 1],
  ["credentials_submitted", 3],
  ["item_added", 5],
  ["processor_token_created", 65],
  ["account_linked", 1440],
  ["report_ready", 120],
];

const BATCHES: Ev[][] = [
  [
    ...journey("a", "2026-11-02T10:00:00Z", FULL, { institution: "Chase", platform: "ios" }),
    ...journey("b", "2026-11-03T09:00:00Z", [["link_started", 0], ["institution_selected", 2], ["credentials_submitted", 4], ["item_added", 10], ["processor_token_created", 20], ["account_linked", 3 * 1440]], { institution: "Chase", platform: "android" }),
    ...journey("c", "2026-11-05T08:00:00Z", [["link_started", 0], ["institution_selected", 1], ["credentials_submitted", 2]], { institution: "Wells Fargo", platform: "ios" }),
    { event_id: "c-error", name: "link_error", occurred_at: T("2026-11-05T08:03:00Z"), customer_hash: hash("c"), error_code: "ITEM_LOCKED" },
    { event_id: "c-exit", name: "link_exit", occurred_at: T("2026-11-05T08:04:00Z"), customer_hash: hash("c"), error_code: "ITEM_LOCKED" },
    // d skips "Institution selected": it stops at the first step, and its report does not count in the branch.
    ...journey("d", "2026-11-06T08:00:00Z", [["link_started", 0], ["credentials_submitted", 2], ["item_added", 3], ["processor_token_created", 4], ["account_linked", 5], ["report_ready", 10]], { institution: "Wells Fargo" }),
    ...journey("e", "2026-11-07T08:00:00Z", [["link_started", 0], ["institution_selected", 1]], { institution: "Bank of America", platform: "web" }),
    { event_id: "e-exit", name: "link_exit", occurred_at: T("2026-11-07T08:02:00Z"), customer_hash: hash("e") },
    // f links its Cardlytics account eight days in: outside the seven-day window.
    ...journey("f", "2026-11-08T08:00:00Z", [["link_started", 0], ["institution_selected", 1], ["credentials_submitted", 2], ["item_added", 5], ["processor_token_created", 10], ["account_linked", 8 * 1440]], { institution: "Chase", platform: "ios" }),
    // 1 starts twice over (the same event twice, then a later start): one customer, entered at the first start.
    ...journey("1", "2026-11-10T08:00:00Z", [["link_started", 0]], { platform: "android" }),
    ...journey("1", "2026-11-10T08:00:00Z", [["link_started", 0]], { platform: "android" }),
    { event_id: "1-later", name: "link_started", occurred_at: T("2026-11-10T09:00:00Z"), customer_hash: hash("1") },
    // 2's events arrive newest first.
    ...journey("2", "2026-11-12T10:00:00Z", [["link_started", 0], ["institution_selected", 1], ["credentials_submitted", 2], ["item_added", 4]], { institution: "Chase", platform: "ios" }).reverse(),
    // The range's edges: 6 starts in the last minute of its last day, 7 the minute after.
    ...journey("6", "2026-11-20T23:59:00Z", [["link_started", 0]]),
    ...journey("7", "2026-11-21T00:00:00Z", [["link_started", 0]]),
    // The previous period of the same length (2026-10-12 – 2026-10-31), and one customer before both.
    ...journey("3", "2026-10-20T08:00:00Z", [["link_started", 0], ["institution_selected", 1], ["credentials_submitted", 2], ["item_added", 3], ["processor_token_created", 4]]),
    ...journey("4", "2026-10-25T08:00:00Z", [["link_started", 0]]),
    ...journey("5", "2026-10-05T08:00:00Z", FULL),
  ],
  // 2's real first start arrives last of all, an hour before the one already recorded.
  [{ event_id: "2-early", name: "link_started", occurred_at: T("2026-11-12T09:00:00Z"), customer_hash: hash("2") }],
];

let h: Harness;
const SETTINGS = "from=2026-11-01&to=2026-11-20&window=7&interval=day";

beforeAll(async () => {
  h = await createHarness();
  const { secret } = createApiKey(h.db, "reconciliation", { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: h.clock.now() });
  for (const events of BATCHES) {
    const response = (await ingest.action({
      request: new Request(`${ORIGIN}/api/events`, { method: "POST", headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" }, body: JSON.stringify({ events }) }),
      context: h.context(),
      params: {},
    })) as Response;
    expect(response.status).toBe(200);
  }
});

async function page(query: string, role: "pm" | "admin" = "pm") {
  return funnel.loader({ request: await h.request(`/funnel?${query}`, { role }), context: h.context(), params: {} });
}

describe("funnel figures reconcile with a known event set", () => {
  it("counts, conversions and drop-off per step", async () => {
    const { report } = await page(SETTINGS);
    expect(report.started).toBe(9);
    expect(report.figures.steps.map((s) => s.count)).toEqual([9, 6, 5, 4, 3, 2]);
    expect(report.figures.steps.map((s) => s.dropOff)).toEqual([0, 3, 1, 1, 1, 1]);
    expect(report.figures.steps.map((s) => s.fromPrevious)).toEqual([null, 6 / 9, 5 / 6, 4 / 5, 3 / 4, 2 / 3]);
    expect(report.figures.steps.map((s) => s.fromFirst)).toEqual([null, 6 / 9, 5 / 9, 4 / 9, 3 / 9, 2 / 9]);
  });

  it("median and p90 time to the next step", async () => {
    const { report } = await page(SETTINGS);
    const minutes = (v: number | null) => (v === null ? null : v / MIN);
    // started→selected: a 1, b 2, c 1, e 1, f 1, 2 61 (its real start was an hour earlier).
    expect(report.figures.steps.map((s) => minutes(s.medianToNextMs))).toEqual([1, 1, 2, 10, 1375, null]);
    expect(report.figures.steps.map((s) => minutes(s.p90ToNextMs))).toEqual([61, 2, 6, 60, 4300, null]);
  });

  it("the consumer-report branch counts only customers who got as far as an item", async () => {
    const { report } = await page(SETTINGS);
    expect(report.figures.report).toEqual({ count: 1, fromItemAdded: 1 / 4, medianFromItemAddedMs: 115 * MIN });
  });

  it("the count-only path used for the previous period agrees with the full one", async () => {
    const { report } = await page(SETTINGS);
    const counted = countsOf(h.db, report.query.from, report.query.to, report.query.windowMs);
    expect(counted.steps.map((s) => [s.count, s.fromPrevious, s.dropOff])).toEqual(report.figures.steps.map((s) => [s.count, s.fromPrevious, s.dropOff]));
    expect(counted.report.count).toBe(report.figures.report.count);
  });

  it("the previous period of the same length", async () => {
    const { report } = await page(SETTINGS);
    expect([report.previous.from, report.previous.to]).toEqual([T("2026-10-12T00:00:00Z"), T("2026-11-01T00:00:00Z")]);
    expect(report.previous.started).toBe(2);
    expect(report.previous.figures.steps.map((s) => s.count)).toEqual([2, 1, 1, 1, 1, 0]);
  });

  it("breaks down by institution and by an event attribute", async () => {
    const byInstitution = (await page(`${SETTINGS}&breakdown=institution`)).report.breakdown!;
    expect(byInstitution.map((g) => [g.value, g.figures.steps.map((s) => s.count)])).toEqual([
      ["Chase", [4, 4, 4, 4, 3, 2]],
      ["(not set)", [2, 0, 0, 0, 0, 0]],
      ["Wells Fargo", [2, 1, 1, 0, 0, 0]],
      ["Bank of America", [1, 1, 0, 0, 0, 0]],
    ]);
    const byPlatform = (await page(`${SETTINGS}&breakdown=attr:platform`)).report.breakdown!;
    expect(byPlatform.map((g) => [g.value, g.figures.steps.map((s) => s.count)])).toEqual([
      ["ios", [4, 4, 4, 3, 2, 1]],
      ["(not set)", [2, 0, 0, 0, 0, 0]],
      ["android", [2, 1, 1, 1, 1, 1]],
      ["web", [1, 1, 0, 0, 0, 0]],
    ]);
    expect((await page(SETTINGS)).attributes).toEqual(["platform"]);
  });

  it("trend of overall conversion by day and by week, with open windows marked", async () => {
    const daily = (await page(SETTINGS)).report.trend;
    expect(daily).toHaveLength(20);
    const byDay = Object.fromEntries(daily.filter((p) => p.started).map((p) => [new Date(p.start).toISOString().slice(0, 10), [p.started, p.linked]]));
    expect(byDay).toEqual({ "2026-11-02": [1, 1], "2026-11-03": [1, 1], "2026-11-05": [1, 0], "2026-11-06": [1, 0], "2026-11-07": [1, 0], "2026-11-08": [1, 0], "2026-11-10": [1, 0], "2026-11-12": [1, 0], "2026-11-20": [1, 0] });
    expect(daily.filter((p) => !p.complete).map((p) => new Date(p.start).toISOString().slice(0, 10))).toEqual(["2026-11-15", "2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]);
    const weekly = (await page(SETTINGS.replace("interval=day", "interval=week"))).report.trend;
    expect(weekly.map((p) => [new Date(p.start).toISOString().slice(0, 10), p.started, p.linked, p.conversion, p.complete])).toEqual([
      ["2026-10-26", 0, 0, null, true],
      ["2026-11-02", 6, 2, 2 / 6, true],
      ["2026-11-09", 2, 0, 0, false],
      ["2026-11-16", 1, 0, 0, false],
    ]);
  });

  it("Link exit reasons in the range", async () => {
    const { report } = await page(SETTINGS);
    expect(report.exits).toEqual([
      { code: "ITEM_LOCKED", errors: 1, exits: 1 },
      { code: "", errors: 0, exits: 1 },
    ]);
  });

  it("a step's drop-off opens the list of those customers, newest start first", async () => {
    const list = await dropoff.loader({ request: await h.request(`/funnel/dropoff?${SETTINGS}&step=1`, { role: "pm" }), context: h.context(), params: {} });
    expect(list.total).toBe(3);
    expect(list.customers.map((c) => c.customerHash)).toEqual([hash("6"), hash("1"), hash("d")]);
    expect(list.customers[2]).toMatchObject({ lastStep: "Link started", startedAt: T("2026-11-06T08:00:00Z"), institution: "Wells Fargo" });
    const last = await dropoff.loader({ request: await h.request(`/funnel/dropoff?${SETTINGS}&step=5`, { role: "pm" }), context: h.context(), params: {} });
    expect(last.customers.map((c) => c.customerHash)).toEqual([hash("f")]);
    expect(await statusOf(async () => dropoff.loader({ request: await h.request(`/funnel/dropoff?${SETTINGS}&step=9`, { role: "pm" }), context: h.context(), params: {} }))).toBe(400);
  });

  it("the CSV carries the same figures", async () => {
    const response = (await csvRoute.loader({ request: await h.request(`/funnel.csv?${SETTINGS}&breakdown=institution`, { role: "pm" }), context: h.context(), params: {} })) as Response;
    const lines = (await response.text()).trim().split("\r\n");
    expect(lines[0]).toBe("period,group,step,customers,conversion_from_previous,conversion_from_first,dropped_off,median_seconds_to_next,p90_seconds_to_next");
    expect(lines).toContain("2026-11-01..2026-11-20,all,link_started,9,,,0,60,3660");
    expect(lines).toContain("2026-11-01..2026-11-20,all,account_linked,2,0.6667,0.2222,1,,");
    expect(lines).toContain("2026-11-01..2026-11-20,all,report_ready,1,0.2500,,,,");
    // The previous period is counted only: no times.
    expect(lines).toContain("2026-10-12..2026-10-31,all,link_started,2,,,0,,");
    expect(lines).toContain("2026-11-01..2026-11-20,institution=Chase,account_linked,2,0.6667,0.5000,1,,");
    expect(lines).toHaveLength(1 + 7 * 2 + 7 * 4);
  });

  it("reports bad settings and falls back to defaults; only pm and admin may look", async () => {
    const bad = await page("from=2026-11-20&to=2026-11-01&window=400&breakdown=attr:no spaces");
    expect(bad.errors).toMatchObject({ window: "At most 90 days", to: "The end date is before the start date", breakdown: expect.stringMatching(/Break down/) });
    // The last 30 days, today (2026-11-22) included.
    expect(bad.settings).toMatchObject({ from: "2026-10-24", to: "2026-11-22", window: "14" });
    for (const role of ["support", "ops"] as const) {
      expect(await statusOf(async () => funnel.loader({ request: await h.request(`/funnel?${SETTINGS}`, { role }), context: h.context(), params: {} }))).toBe(403);
    }
    expect((await page(SETTINGS, "admin")).report.started).toBe(9);
  });
});
