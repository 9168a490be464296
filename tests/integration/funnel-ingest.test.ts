import { beforeEach, describe, expect, it } from "vitest";
import * as keysPage from "../../app/routes/admin.api-keys";
import * as ingest from "../../app/routes/api.events";
import { createApiKey } from "../../app/funnel/api-keys.server";
import { recordLinkWebhook } from "../../app/funnel/sources.server";
import { handleWebhook } from "../../app/webhooks/handlers.server";
import { apiKeys, craReports, craUsers, funnelCustomers, funnelEvents } from "../../db/schema";
import { eq } from "drizzle-orm";
import { createHarness, form, ORIGIN, statusOf, type Harness } from "../support/context";

let h: Harness;
let key: string;
beforeEach(async () => {
  h = await createHarness();
  key = createApiKey(h.db, "backend", { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: h.clock.now() }).secret;
});

const HASH = "a".repeat(64);
const OTHER = "b".repeat(64);

async function post(body: unknown, init: { auth?: string | null; contentType?: string; raw?: string } = {}) {
  const headers: Record<string, string> = { "Content-Type": init.contentType ?? "application/json" };
  const auth = init.auth === undefined ? `Bearer ${key}` : init.auth;
  if (auth) headers.Authorization = auth;
  const response = (await ingest.action({ request: new Request(`${ORIGIN}/api/events`, { method: "POST", headers, body: init.raw ?? JSON.stringify(body) }), context: h.context(), params: {} })) as Response;
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> & { results?: { index: number; status: string; errors?: { field: string; message: string }[] }[] } };
}

const event = (overrides: Record<string, unknown> = {}) => ({ event_id: "e1", name: "link_started", occurred_at: "2026-11-22T11:00:00Z", customer_hash: HASH, ...overrides });

describe("POST /api/events authentication", () => {
  it("refuses a missing, malformed, unknown or revoked key with 401 and says which", async () => {
    const missing = await post({ events: [event()] }, { auth: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    expect(missing.body.error).toBe("missing_key");
    expect((await post({ events: [event()] }, { auth: "Basic abc" })).body.error).toBe("missing_key");
    expect((await post({ events: [event()] }, { auth: "Bearer not-a-key" })).body.error).toBe("invalid_key");
    expect((await post({ events: [event()] }, { auth: `Bearer lkd_${"x".repeat(40)}` })).body.error).toBe("invalid_key");

    const [row] = h.db.select().from(apiKeys).all();
    h.db.update(apiKeys).set({ revokedAt: h.clock.now() }).where(eq(apiKeys.id, row!.id)).run();
    const revoked = await post({ events: [event()] });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toBe("revoked_key");
    expect(h.db.select().from(funnelEvents).all()).toHaveLength(0);
  });

  it("keeps only the SHA-256 of a key, and counts what each key sent", async () => {
    const [row] = h.db.select().from(apiKeys).all();
    expect(JSON.stringify(row)).not.toContain(key.slice(12));
    expect(row!.prefix).toBe(key.slice(0, 12));
    await post({ events: [event(), event({ event_id: "e2" }), { ...event({ event_id: "e3" }), name: "nope" }] });
    const after = h.db.select().from(apiKeys).get()!;
    expect(after.eventsAccepted).toBe(2);
    expect(after.lastUsedAt?.getTime()).toBe(h.clock.now().getTime());
  });
});

describe("POST /api/events batches", () => {
  it("refuses what is not a JSON batch with a clear error", async () => {
    expect((await post(null, { contentType: "text/plain", raw: "{}" })).status).toBe(415);
    const badJson = await post(null, { raw: "{not json" });
    expect([badJson.status, badJson.body.error]).toEqual([400, "invalid_json"]);
    expect((await post({ event: [] })).body.error).toBe("invalid_batch");
    expect((await post({ events: [] })).body.error).toBe("empty_batch");
  });

  it("takes at most 1,000 events and 1 MB", async () => {
    const many = Array.from({ length: 1001 }, (_, i) => event({ event_id: `e${i}` }));
    const tooMany = await post({ events: many });
    expect([tooMany.status, tooMany.body.error]).toEqual([413, "batch_too_large"]);
    const thousand = await post({ events: many.slice(0, 1000) });
    expect([thousand.status, thousand.body.accepted]).toEqual([200, 1000]);
    const big = await post({ events: [event({ event_id: "big", attributes: { note: "x".repeat(150) } })], padding: "y".repeat(1024 * 1024) });
    expect(big.status).toBe(413);
    expect(h.db.select().from(funnelEvents).all()).toHaveLength(1000);
  });

  it("validates each event on its own, keeps the good ones and names every problem", async () => {
    const res = await post({
      events: [
        event(),
        event({ event_id: "e2", customer_hash: undefined, customer_id: "cust-00001" }),
        event({ event_id: "e3", name: "signed_up" }),
        event({ event_id: "e4", occurred_at: "2026-11-23T12:00:00Z" }),
        event({ event_id: "e5", occurred_at: 1_700_000_000 }),
        event({ event_id: "e6", occurred_at: "2026-11-22 10:00" }),
        event({ event_id: "e7", attributes: { "bad key": 1, nested: { a: 1 } } }),
        "not an object",
        event({ event_id: "e9", customer_hash: "A".repeat(64), occurred_at: Date.parse("2026-11-22T10:00:00Z") }),
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 7 });
    const errors = Object.fromEntries(res.body.results!.map((r) => [r.index, r.errors?.map((e) => `${e.field}: ${e.message}`).join(" | ") ?? r.status]));
    expect(errors[0]).toBe("accepted");
    expect(errors[1]).toMatch(/unknown field: customer_id/);
    expect(errors[1]).toMatch(/customer_hash: is required/);
    expect(errors[2]).toMatch(/name: must be one of: link_started/);
    expect(errors[3]).toMatch(/occurred_at: is in the future/);
    expect(errors[4]).toMatch(/occurred_at: is before 2015; epoch seconds/);
    expect(errors[5]).toMatch(/occurred_at: must be an ISO 8601 time with a zone/);
    expect(errors[6]).toMatch(/attributes/);
    expect(errors[7]).toMatch(/each event must be a JSON object/);
    expect(errors[8]).toBe("accepted");
    // Hashes are stored in one case, whatever case they were sent in.
    expect(h.db.select({ c: funnelEvents.customerHash }).from(funnelEvents).all().map((r) => r.c)).toEqual([HASH, HASH]);
  });

  it("answers 422 when no event in the batch could be used", async () => {
    const res = await post({ events: [event({ name: "x" })] });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ accepted: 0, rejected: 1 });
  });

  it("is idempotent by event id, across batches and within one", async () => {
    const first = await post({ events: [event(), event()] });
    expect(first.body).toMatchObject({ accepted: 1, duplicates: 1 });
    const again = await post({ events: [event({ occurred_at: "2026-11-22T09:00:00Z" })] });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(h.db.select().from(funnelEvents).all()).toHaveLength(1);
    // The first copy stands: a resend with another time changes nothing.
    expect(h.db.select().from(funnelCustomers).get()!.linkStartedAt).toBe(Date.parse("2026-11-22T11:00:00Z"));
  });
});

describe("tying Plaid ids to customers", () => {
  it("holds Link webhook events until the publisher names the session's customer, then counts them", async () => {
    const at = h.clock.now();
    recordLinkWebhook(
      h.db,
      {
        webhook_type: "LINK",
        webhook_code: "EVENTS",
        link_session_id: "ls-1",
        events: [
          { event_name: "OPEN", event_id: "ev-open", timestamp: "2026-11-22T10:00:00Z", event_metadata: {} },
          { event_name: "SELECT_INSTITUTION", event_id: "ev-sel", timestamp: "2026-11-22T10:00:05Z", event_metadata: { institution_id: "ins_1", institution_name: "First Platypus Bank" } },
          { event_name: "TRANSITION_VIEW", event_id: "ev-x", timestamp: "2026-11-22T10:00:06Z", event_metadata: {} },
        ],
      },
      at,
    );
    expect(h.db.select().from(funnelEvents).all().map((e) => [e.name, e.customerHash])).toEqual([
      ["link_started", null],
      ["institution_selected", null],
    ]);
    expect(h.db.select().from(funnelCustomers).all()).toHaveLength(0);

    await post({ events: [event({ event_id: "tie", name: "credentials_submitted", occurred_at: "2026-11-22T10:00:09Z", link_session_id: "ls-1", attributes: { platform: "ios" } })] });
    const rollup = h.db.select().from(funnelCustomers).get()!;
    expect(rollup).toMatchObject({
      customerHash: HASH,
      linkStartedAt: Date.parse("2026-11-22T10:00:00Z"),
      institutionSelectedAt: Date.parse("2026-11-22T10:00:05Z"),
      credentialsSubmittedAt: Date.parse("2026-11-22T10:00:09Z"),
      institutionName: "First Platypus Bank",
      attributes: { platform: "ios" },
    });
    // Later events of that session are attributed at once; a second customer cannot take the session over.
    await post({ events: [event({ event_id: "steal", customer_hash: OTHER, link_session_id: "ls-1" })] });
    recordLinkWebhook(h.db, { webhook_type: "LINK", webhook_code: "ITEM_ADD_RESULT", link_session_id: "ls-1", public_token: "public-x" }, new Date("2026-11-22T10:00:20Z"));
    expect(h.db.select().from(funnelCustomers).where(eq(funnelCustomers.customerHash, HASH)).get()!.itemAddedAt).toBe(Date.parse("2026-11-22T10:00:20Z"));
  });
});

describe("API keys page", () => {
  async function act(values: Record<string, string>, role: "admin" | "pm" = "admin") {
    const request = await h.request("/admin/api-keys", { method: "POST", role, body: form(values) });
    return keysPage.action({ request, context: h.context(), params: {} });
  }

  it("shows a new key once, lists only its prefix, and revokes only on typed confirmation", async () => {
    const created = (await act({ intent: "create", name: "Staging backend" })) as { created: { secret: string; id: number } };
    expect(created.created.secret).toMatch(/^lkd_[A-Za-z0-9_-]{40}$/);
    const listed = await keysPage.loader({ request: await h.request("/admin/api-keys", { role: "admin" }), context: h.context(), params: {} });
    expect(JSON.stringify(listed)).not.toContain(created.created.secret);
    expect(listed.keys.map((k) => k.name)).toEqual(["Staging backend", "backend"]);

    expect(await statusOf(() => act({ intent: "create", name: "" }))).toBe(400);
    expect(await statusOf(() => act({ intent: "revoke", id: String(created.created.id), confirm: "yes" }))).toBe(400);
    expect(await statusOf(() => act({ intent: "revoke", id: String(created.created.id), confirm: "revoke" }))).toBe(200);
    expect(await statusOf(() => act({ intent: "revoke", id: String(created.created.id), confirm: "revoke" }))).toBe(409);
    expect(await statusOf(() => act({ intent: "create", name: "x" }, "pm"))).toBe(403);
    const res = await post({ events: [event()] }, { auth: `Bearer ${created.created.secret}` });
    expect(res.body.error).toBe("revoked_key");
  });
});

describe("steps the console sees itself", () => {
  it("a CHECK_REPORT_READY webhook puts the customer on the consumer-report branch; FAILED does not", async () => {
    const at = h.clock.now();
    const user = h.db.insert(craUsers).values({ customerHash: HASH, generation: "new", userId: "usr_1", clientUserId: HASH, createdAt: at }).returning().get();
    h.db.insert(craReports).values({ customerHash: HASH, craUserId: user.id, status: "pending", origin: "console", products: ["cra_base_report"], requestedAt: at, sentAt: at }).run();
    expect(handleWebhook(h.db, { webhook_type: "CHECK_REPORT", webhook_code: "CHECK_REPORT_FAILED", user_id: "usr_1" }, at)).toMatchObject({ status: "handled" });
    expect(h.db.select().from(funnelEvents).all()).toHaveLength(0);
    expect(handleWebhook(h.db, { webhook_type: "CHECK_REPORT", webhook_code: "CHECK_REPORT_READY", user_id: "usr_1" }, at)).toMatchObject({ status: "handled" });
    expect(h.db.select().from(funnelEvents).all()).toMatchObject([{ name: "report_ready", customerHash: HASH, source: "console" }]);
    expect(h.db.select().from(funnelCustomers).get()!.reportReadyAt).toBe(at.getTime());
  });

  it("a LINK webhook's handling result says what reached the funnel", () => {
    const outcome = handleWebhook(h.db, { webhook_type: "LINK", webhook_code: "EVENTS", link_session_id: "ls-9", events: [{ event_name: "OPEN", event_id: "o-9", timestamp: "2026-11-22T11:00:00Z" }] } as never, h.clock.now());
    expect(outcome).toEqual({ status: "handled", result: "funnel: 1 event recorded for Link session ls-9" });
    expect(handleWebhook(h.db, { webhook_type: "LINK", webhook_code: "SESSION_FINISHED", link_session_id: "ls-9", status: "exited" } as never, h.clock.now())).toEqual({ status: "handled", result: "Link session ls-9 finished: exited" });
    expect(handleWebhook(h.db, { webhook_type: "LINK", webhook_code: "HANDOFF" } as never, h.clock.now())).toMatchObject({ status: "ignored" });
  });
});
