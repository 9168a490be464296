import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../app/staff/password.server";
import { startConsole, type Console } from "../../server/main";
import { staffUsers } from "../../db/schema";
import { requireNoSecondFactor, testEnv } from "../support/context";
import { startTestSimulators } from "../support/simulators";

// The console as an ops team runs it: over real HTTP, its log lines read from its own output, its metrics scraped,
// its readiness probed against the simulators. Shutdown is tested on the production build (tests/e2e/production-server.spec.ts).

const HMAC = "operations-test-hmac-key-000000000000000";
const METRICS_TOKEN = "metrics-token-0123456789abcdef";
let sims: Awaited<ReturnType<typeof startTestSimulators>>;
beforeAll(async () => {
  sims = await startTestSimulators(HMAC);
});
afterAll(() => sims.close());

type Line = Record<string, unknown> & { msg: string; reqId?: string; level: number };
function capture() {
  const lines: Line[] = [];
  let raw = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw += chunk.toString();
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return { lines, stream, raw: () => raw };
}

async function start(extra: Record<string, string> = {}, destination = capture()) {
  const dir = mkdtempSync(join(tmpdir(), "linkdesk-ops-"));
  const env = testEnv({ ...sims.env, CUSTOMER_ID_HMAC_KEY: HMAC, PORT: "0", DATABASE_PATH: join(dir, "ops.db"), LINKDESK_DEV: "1", NODE_ENV: "development", LOG_LEVEL: "info", METRICS_TOKEN, ...extra });
  for (const [k, v] of Object.entries(env)) if (v === "") delete env[k]; // "" stands for "not set"
  const running = await startConsole(env, { logDestination: destination.stream });
  const now = new Date();
  requireNoSecondFactor(running.db);
  running.db.insert(staffUsers).values({ email: "ops@example.test", name: "Ops", role: "ops", passwordHash: await hashPassword("correct horse battery staple"), passwordChangedAt: now, createdAt: now, updatedAt: now }).run();
  return { running, log: destination };
}

async function signIn(c: Console): Promise<string> {
  const res = await fetch(`${c.url}/login`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: c.url }, body: new URLSearchParams({ email: "ops@example.test", password: "correct horse battery staple" }) });
  expect(res.status).toBe(302);
  return res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
}

describe("logs", () => {
  it("gives every request an id, echoed in X-Request-Id, on one line with method, route, status, duration and staff id", async () => {
    const { running, log } = await start();
    try {
      const cookie = await signIn(running);
      const hash = sims.hashOf("demo-two-cards");
      const res = await fetch(`${running.url}/customers/${hash}?q=cust-raw-id`, { headers: { cookie, "x-request-id": "chosen-by-the-client" } });
      await res.text();
      const id = res.headers.get("x-request-id")!;
      // Not behind a trusted proxy: a client cannot choose the id its request is logged under.
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await expect.poll(() => log.lines.find((l) => l.reqId === id && l.msg === "request")).toBeTruthy();
      const line = log.lines.find((l) => l.reqId === id && l.msg === "request")!;
      expect(line).toMatchObject({ method: "GET", route: "/customers/:hash", status: 200, staffId: expect.any(Number), ms: expect.any(Number) });
      // The vendor calls the page made carry the vendor's own request id.
      expect(log.lines.find((l) => l.msg === "vendor call" && l.vendor === "cardlytics" && l.endpoint === "/v2/data/accountLink")).toMatchObject({ status: 200, vendorRequestId: expect.any(String), ms: expect.any(Number) });
      // Only the route pattern is logged, never a path or query a customer id could be in.
      expect(log.raw()).not.toContain("cust-raw-id");
    } finally {
      await running.close();
    }
  });

  it("takes X-Request-Id from a trusted proxy", async () => {
    const { running, log } = await start({ TRUST_PROXY: "1" });
    try {
      const res = await fetch(`${running.url}/healthz`, { headers: { "x-request-id": "proxy-abc-123", "x-forwarded-for": "203.0.113.9" } });
      expect(res.headers.get("x-request-id")).toBe("proxy-abc-123");
      await expect.poll(() => log.lines.some((l) => l.reqId === "proxy-abc-123" && l.route === "/healthz")).toBe(true);
    } finally {
      await running.close();
    }
  });

  it("redacts cookies, Authorization, passwords, tokens, API keys and raw customer ids in what it writes", async () => {
    const { running, log } = await start();
    try {
      const cookie = await signIn(running);
      await fetch(`${running.url}/api/events`, { method: "POST", headers: { authorization: "Bearer lkd_secretvalue_0123456789abcdef", "content-type": "application/json" }, body: "{}" }).then((r) => r.text());
      // Whatever a future log line carries, the configuration keeps these out.
      running.log.info(
        { req: { headers: { cookie, authorization: "Bearer lkd_secretvalue_0123456789abcdef" } }, password: "hunter2-password", entry: { access_token: "access-sandbox-secret", user_token: "user-sandbox-secret", customerId: "cust-raw-42" }, apiKey: "lkd_key_secret" },
        "probe",
      );
      const probe = log.lines.find((l) => l.msg === "probe")!;
      expect(probe).toMatchObject({ password: "[redacted]", apiKey: "[redacted]", entry: { access_token: "[redacted]", user_token: "[redacted]", customerId: "[redacted]" }, req: { headers: { cookie: "[redacted]", authorization: "[redacted]" } } });
      const raw = log.raw();
      for (const secret of [cookie.split("=")[1]!, "correct horse battery staple", "lkd_secretvalue", "hunter2", "access-sandbox-secret", "user-sandbox-secret", "cust-raw-42", "lkd_key_secret"]) expect(raw).not.toContain(secret);
    } finally {
      await running.close();
    }
  });

  it("logs an error thrown in a loader once, with its stack and request id, and shows the id on the error page", async () => {
    const { running, log } = await start();
    try {
      const cookie = await signIn(running);
      running.db.$client.exec("DROP TABLE customer_ids"); // the customer page cannot read its ids any more
      const res = await fetch(`${running.url}/customers/${"ab".repeat(32)}`, { headers: { cookie } });
      const html = await res.text();
      expect(res.status).toBe(500);
      const id = res.headers.get("x-request-id")!;
      expect(html).toContain(id);
      await expect.poll(() => log.lines.filter((l) => l.reqId === id && l.level === 50).length).toBe(2);
      const errors = log.lines.filter((l) => l.reqId === id && l.msg === "unexpected error while answering");
      expect(errors).toHaveLength(1);
      expect((errors[0]!.err as { stack: string }).stack).toContain("customer_ids");
    } finally {
      await running.close();
    }
  });
});

describe("metrics", () => {
  it("answers only with the bearer token, in Prometheus text, with HTTP, vendor, queue and database figures", async () => {
    const { running } = await start();
    try {
      const cookie = await signIn(running);
      await fetch(`${running.url}/customers/${sims.hashOf("demo-two-cards")}`, { headers: { cookie } }).then((r) => r.text());
      expect((await fetch(`${running.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${running.url}/metrics`, { headers: { authorization: "Bearer wrong-token-wrong-token-00" } })).status).toBe(401);
      const res = await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain");
      const text = await res.text();
      expect(text).toMatch(/linkdesk_http_requests_total\{method="POST",route="\/login",status="302"\} 1/);
      expect(text).toMatch(/linkdesk_http_request_duration_seconds_bucket\{le="[\d.]+",method="GET",route="\/customers\/:hash"\}/);
      expect(text).toMatch(/linkdesk_vendor_calls_total\{vendor="cardlytics",endpoint="\/v2\/data\/accountLink",status="200"\} [1-9]/);
      expect(text).toMatch(/linkdesk_check_queue_depth 0/);
      expect(text).toMatch(/linkdesk_database_bytes\{file="db"\} [1-9]\d*/);
    } finally {
      await running.close();
    }
  });

  it("is off without METRICS_TOKEN", async () => {
    const { running } = await start({ METRICS_TOKEN: "" });
    try {
      expect((await fetch(`${running.url}/metrics`)).status).toBe(404);
    } finally {
      await running.close();
    }
  }, 30_000);
});

describe("readiness", () => {
  it("is ready when every part is, and names each part that is not, asking the vendors at most every 30 s", async () => {
    const { running } = await start();
    try {
      const ready = await fetch(`${running.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", failing: [], checks: { database: { ok: true }, migrations: { ok: true }, plaid: { ok: true }, cardlytics: { ok: true }, checkQueue: { ok: true } } });
      const calls = async () => (await (await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()).match(/linkdesk_vendor_calls_total\{[^}]*\} \d+/g)?.join() ?? "";
      const before = await calls();
      await fetch(`${running.url}/readyz`).then((r) => r.text());
      expect(await calls()).toBe(before);

      // A queued Plaid Check request waiting far too long.
      const c = running.db.$client;
      c.prepare("insert into cra_users (customer_hash, generation, user_id, client_user_id, created_at, source) values ('q', 'new', 'usr_q', 'q', 0, 'console')").run();
      c.prepare("insert into cra_reports (customer_hash, cra_user_id, status, origin, products, requested_at) values ('q', (select id from cra_users), 'queued', 'console', '[]', ?)").run(Date.now() - 3_600_000);
      const lagging = await fetch(`${running.url}/readyz`);
      expect(lagging.status).toBe(503);
      expect(await lagging.json()).toMatchObject({ failing: ["checkQueue"], checks: { checkQueue: { ok: false, detail: expect.stringContaining("behind") } } });
    } finally {
      await running.close();
    }
  });

  it("fails naming Plaid when our credentials are refused and Cardlytics when it does not answer", async () => {
    const { running } = await start({ PLAID_SECRET: "not-our-secret", CARDLYTICS_BASE_URL: "http://127.0.0.1:9" });
    try {
      const res = await fetch(`${running.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { failing: string[]; checks: Record<string, { ok: boolean; detail: string }> };
      expect(body.failing).toEqual(["plaid", "cardlytics"]);
      expect(body.checks.plaid!.detail).toContain("INVALID_API_KEYS");
      expect(body.checks.cardlytics!.detail).toContain("unreachable");
      expect(body.checks.database!.ok).toBe(true);
    } finally {
      await running.close();
    }
  });
});
