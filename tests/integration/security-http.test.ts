import { mkdtempSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../app/funnel/api-keys.server";
import { hashPassword } from "../../app/staff/password.server";
import { auditLog, staffSessions, staffUsers, webhookDeliveries } from "../../db/schema";
import { startConsole, type Console } from "../../server/main";
import { requireNoSecondFactor, testEnv } from "../support/context";

// The real server (Express, the Remix handler, the webhook receiver's direct path) on a real SQLite file, over HTTP.
// One proxy is trusted, as behind a load balancer.

let running: Console;
let base: string;
let port: number;
let apiKey: string;
const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "linkdesk-security-"));
  running = await startConsole(testEnv({ PORT: "0", DATABASE_PATH: join(dir, "console.db"), LINKDESK_DEV: "1", NODE_ENV: "development", TRUST_PROXY: "1" }));
  base = running.url;
  port = Number(new URL(base).port);
  const now = new Date();
  const passwordHash = await hashPassword(PASSWORD);
  for (const role of ["admin", "pm"] as const) {
    running.db.insert(staffUsers).values({ email: `${role}@example.test`, name: role, role, passwordHash, passwordChangedAt: now, createdAt: now, updatedAt: now }).run();
  }
  requireNoSecondFactor(running.db);
  const admin = running.db.select().from(staffUsers).where(eq(staffUsers.email, "admin@example.test")).get()!;
  apiKey = createApiKey(running.db, "backend", { actor: { id: admin.id, email: admin.email, role: "admin" }, clientAddress: "127.0.0.1", now }).secret;
  // The first page compiles the app in development: done once here, not inside a test.
  await (await fetch(`${base}/login`)).text();
}, 120_000);
afterAll(async () => {
  await running?.close();
});

const signInForm = (email: string, password: string) => new URLSearchParams({ email, password });

async function signIn(email = "admin@example.test"): Promise<string> {
  const res = await fetch(`${base}/login`, { method: "POST", redirect: "manual", headers: { Origin: base }, body: signInForm(email, PASSWORD) });
  expect(res.status).toBe(302);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

/** A raw HTTP request, so Host and the body's framing are exactly what a test says. */
function raw(opts: { method?: string; path: string; headers: Record<string, string | number>; body?: Buffer | string; endBody?: boolean }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method: opts.method ?? "POST", path: opts.path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
        if (opts.endBody === false) req.destroy();
      });
    });
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    if (opts.endBody !== false) req.end();
  });
}

describe("cross-origin state-changing requests", () => {
  // Another site, a sandboxed frame, a prefix trick on our own origin, and our own host on another port.
  const foreign = () => ["http://evil.example", "null", `${base}.evil.example`, "http://127.0.0.1:1"];

  it("are refused with the console's own 403 and its explanation (not an empty 500), for every method and page", async () => {
    const cookie = await signIn();
    for (const origin of foreign()) {
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        for (const path of ["/login", "/customers?index", "/admin/api-keys", "/logout"]) {
          const res = await fetch(`${base}${path}`, { method, redirect: "manual", headers: { Origin: origin, Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" }, body: "name=x&intent=create" });
          expect(res.status, `${method} ${path} from ${origin}`).toBe(403);
          expect(await res.text()).toContain("did not come from a Linkdesk page");
        }
      }
    }
  });

  it("are refused even when Host agrees with Origin: the console's configured origins are the reference", async () => {
    const sessions = running.db.select().from(staffSessions).all().length;
    const res = await raw({ path: "/login", headers: { Host: "evil.example", Origin: "http://evil.example", "Content-Type": "application/x-www-form-urlencoded" }, body: signInForm("admin@example.test", PASSWORD).toString() });
    expect(res.status).toBe(403);
    expect(res.body).toContain("did not come from a Linkdesk page");
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(running.db.select().from(staffSessions).all()).toHaveLength(sessions);
  });

  it("let a POST from one of the console's own origins through, whatever Host the request came with", async () => {
    const res = await raw({ path: "/login", headers: { Host: "internal-name:8080", Origin: `http://localhost:${port}`, "Content-Type": "application/x-www-form-urlencoded" }, body: signInForm("admin@example.test", PASSWORD).toString() });
    expect(res.status).toBe(302);
    expect(String(res.headers["set-cookie"])).toContain("linkdesk_session=");
  });
});

describe("bodies an action cannot read", () => {
  it("are a 415 with a message at sign-in and at every staff form action, never a 500", async () => {
    const cookie = await signIn();
    const bodies: [string | null, string][] = [
      ["application/json", JSON.stringify({ email: "admin@example.test", password: PASSWORD })],
      ["text/plain", "email=admin@example.test"],
      ["application/xml", "<login/>"],
      [null, "email=x"],
    ];
    for (const path of ["/login", "/admin/api-keys", "/customers?index", "/admin/staff/1"]) {
      for (const [type, body] of bodies) {
        const headers: Record<string, string> = { Origin: base, Cookie: cookie };
        const res = await fetch(`${base}${path}`, { method: "POST", redirect: "manual", headers, body: type === null ? new Blob([body]) : new Blob([body], { type }) });
        expect(res.status, `${path} ${type}`).toBe(415);
        expect(await res.text()).toContain("takes a submitted form");
      }
    }
  });

  it("are a 400, not a 500, when they claim to be a form and are not one", async () => {
    const res = await fetch(`${base}/login`, { method: "POST", headers: { Origin: base, "Content-Type": "multipart/form-data; boundary=x" }, body: "not multipart at all" });
    expect(res.status).toBe(400);
  });
});

describe("capped bodies", () => {
  const twoMegabytes = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"events":[],"padding":"'));
        for (let i = 0; i < 32; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
      },
    });

  it("answer a chunked batch over 1 MB to /api/events with the documented 413, not a connection reset", async () => {
    const res = await fetch(`${base}/api/events`, { method: "POST", headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" }, body: twoMegabytes(), duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe("batch_too_large");
  });

  it("answer a chunked webhook over 1 MB with 413 on the receiver's direct path", async () => {
    const res = await fetch(`${base}/webhooks/plaid`, { method: "POST", headers: { "Content-Type": "application/json" }, body: twoMegabytes(), duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
  });

  it("refuse a declared Content-Length over the limit before the body is sent", async () => {
    // Only 1 KB of the declared 5 MB is ever sent: the answer has to come without waiting for the rest.
    for (const path of ["/webhooks/plaid", "/api/events"]) {
      const res = await raw({ path, headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}`, "Content-Length": 5 * 1024 * 1024 }, body: Buffer.alloc(1024, 0x61), endBody: false });
      expect(res.status, path).toBe(413);
    }
  });
});

describe("sign-in throttling over HTTP", () => {
  it("passes the 429's Retry-After on to the browser", async () => {
    let res: Response | undefined;
    for (let i = 0; i < 6; i++) {
      res = await fetch(`${base}/login`, { method: "POST", redirect: "manual", headers: { Origin: base, "X-Forwarded-For": "198.51.100.77" }, body: signInForm("pm@example.test", `wrong-${i}`) });
    }
    expect(res!.status).toBe(429);
    expect(Number(res!.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Only that account from that address is held back: the same account from another address, and another account
    // from the same address, sign in.
    const from = (address: string, email: string) => fetch(`${base}/login`, { method: "POST", redirect: "manual", headers: { Origin: base, "X-Forwarded-For": address }, body: signInForm(email, PASSWORD) });
    expect((await from("198.51.100.78", "pm@example.test")).status).toBe(302);
    expect((await from("198.51.100.77", "admin@example.test")).status).toBe(302);
    expect((await from("198.51.100.77", "pm@example.test")).status).toBe(429);
  });
});

describe("response headers", () => {
  it("give pages a CSP whose scripts need this response's nonce, carried by every script on the page", async () => {
    const res = await fetch(`${base}/login`);
    const csp = res.headers.get("Content-Security-Policy")!;
    const scriptSrc = csp.split(";").find((d) => d.trim().startsWith("script-src"))!;
    expect(scriptSrc).not.toContain("unsafe-inline");
    const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1];
    expect(nonce).toBeTruthy();
    const html = await res.text();
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    const again = (await fetch(`${base}/login`)).headers.get("Content-Security-Policy");
    expect(again).not.toContain(nonce);
  });

  it("keep pages and data answers out of caches", async () => {
    const cookie = await signIn();
    for (const path of ["/login", "/admin/api-keys", "/admin/api-keys.data", "/healthz"]) {
      const res = await fetch(`${base}${path}`, { headers: { Cookie: cookie } });
      expect(res.headers.get("Cache-Control"), path).toBe("no-store");
    }
  });

  it("send HSTS over https (as the trusted proxy says) and not over plain http", async () => {
    expect((await fetch(`${base}/login`, { headers: { "X-Forwarded-Proto": "https" } })).headers.get("Strict-Transport-Security")).toMatch(/max-age=\d+/);
    expect((await fetch(`${base}/login`)).headers.get("Strict-Transport-Security")).toBeNull();
  });

  it("are on the webhook receiver's direct answers too", async () => {
    const res = await fetch(`${base}/webhooks/plaid`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Content-Security-Policy")).toBeTruthy();
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
  });
});

describe("client address behind one trusted proxy", () => {
  const XFF = "6.6.6.6, 203.0.113.9";

  it("is the address the proxy saw, not the leftmost one the client wrote, on the webhook path", async () => {
    await fetch(`${base}/webhooks/plaid`, { method: "POST", headers: { "Content-Type": "application/json", "X-Forwarded-For": XFF }, body: '{"x":1}' });
    const delivery = running.db.select().from(webhookDeliveries).orderBy(desc(webhookDeliveries.id)).get()!;
    expect(delivery.clientAddress).toBe("203.0.113.9");
  });

  it("is the same on the Remix path: the sign-in audit and throttle key", async () => {
    await fetch(`${base}/login`, { method: "POST", redirect: "manual", headers: { Origin: base, "X-Forwarded-For": XFF }, body: signInForm("nobody@example.test", "wrong") });
    const entry = running.db.select().from(auditLog).where(eq(auditLog.action, "staff.login_failed")).orderBy(desc(auditLog.id)).get()!;
    expect(entry.clientAddress).toBe("203.0.113.9");
  });
});
