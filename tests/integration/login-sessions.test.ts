import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as login from "../../app/routes/login";
import * as logout from "../../app/routes/logout";
import * as home from "../../app/routes/_index";
import { BAD_CREDENTIALS } from "../../app/staff/auth.server";
import { hashSessionId } from "../../app/staff/sessions.server";
import { changeStaffRole, resetStaffPassword, setStaffDisabled } from "../../app/staff/staff-users.server";
import { auditLog, loginFailures, staffSessions, staffUsers } from "../../db/schema";
import { cookieHeader, createHarness, form, statusOf, type Harness } from "../support/context";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});

async function signIn(email: string, password: string, opts: { address?: string; redirectTo?: string; origin?: string } = {}) {
  const query = opts.redirectTo === undefined ? "" : `?redirectTo=${encodeURIComponent(opts.redirectTo)}`;
  const request = await h.request(`/login${query}`, {
    method: "POST",
    body: form({ email, password }),
    headers: opts.origin ? { Origin: opts.origin } : undefined,
  });
  try {
    return await login.action({ request, context: h.context(opts.address), params: {} });
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

type Refusal = { data: { message: string; fieldErrors: Record<string, string> }; init: { status: number; headers?: Record<string, string> } };

// The signed cookie's payload is base64 JSON followed by ".signature".
function sessionIdFromCookie(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1));
  return JSON.parse(Buffer.from(value.slice(0, value.lastIndexOf(".")), "base64").toString("utf8")) as string;
}

async function homeStatus(cookie: string) {
  return statusOf(async () => home.loader({ request: await h.request("/", { cookie }), context: h.context(), params: {} }));
}

describe("signing in", () => {
  it("creates a database session whose id (not its hash) is the only thing in the signed cookie", async () => {
    const res = (await signIn(h.users.ops.email, h.users.ops.password)) as Response;
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/");
    const setCookie = res.headers.get("Set-Cookie")!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Secure/i);
    expect(setCookie).not.toContain("ops");
    const sessions = h.db.select().from(staffSessions).all();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.staffUserId).toBe(h.users.ops.id);
    expect(await homeStatus(cookieHeader(setCookie))).toBe(200);
    const audit = h.db.select().from(auditLog).where(eq(auditLog.action, "staff.login")).all();
    expect(audit).toMatchObject([{ staffUserId: h.users.ops.id, role: "ops", clientAddress: "127.0.0.1" }]);
  });

  it("marks the cookie Secure when served over https", async () => {
    h.config.publicOrigins.push("https://linkdesk.test");
    const request = new Request("https://linkdesk.test/login", {
      method: "POST",
      body: form({ email: h.users.pm.email, password: h.users.pm.password }),
      headers: { Origin: "https://linkdesk.test" },
    });
    const res = (await login.action({ request, context: h.context(), params: {} })) as Response;
    expect(res.headers.get("Set-Cookie")).toMatch(/Secure/);
  });

  it("gives a wrong password and an unknown email the same answer", async () => {
    const wrongPassword = (await signIn(h.users.ops.email, "not the password")) as unknown as Refusal;
    const unknownEmail = (await signIn("nobody@example.test", "not the password")) as unknown as Refusal;
    expect(wrongPassword.init.status).toBe(401);
    expect(unknownEmail.init.status).toBe(401);
    expect(wrongPassword.data.message).toBe(BAD_CREDENTIALS);
    expect(unknownEmail.data).toEqual(wrongPassword.data);
    expect(h.db.select().from(staffSessions).all()).toHaveLength(0);
  });

  it("refuses a disabled account with the same message", async () => {
    h.db.update(staffUsers).set({ disabledAt: h.clock.now() }).where(eq(staffUsers.id, h.users.pm.id)).run();
    const res = (await signIn(h.users.pm.email, h.users.pm.password)) as unknown as Refusal;
    expect(res.init.status).toBe(401);
    expect(res.data.message).toBe(BAD_CREDENTIALS);
  });

  it.each([
    ["an empty form", "", "", { email: "Enter an email address", password: "Enter your password" }],
    ["a 10 KB email", `${"a".repeat(10_240)}@example.test`, "x", { email: expect.stringContaining("too long") }],
    ["a password with control characters", "ops@example.test", "pass\u0000word\n", { password: expect.stringContaining("control characters") }],
    ["a malformed email", "not-an-email", "x", { email: expect.stringContaining("valid email") }],
  ])("refuses %s with a message beside the field and records nothing", async (_case, email, password, fieldErrors) => {
    const res = (await signIn(email, password)) as unknown as Refusal;
    expect(res.init.status).toBe(400);
    expect(res.data.fieldErrors).toMatchObject(fieldErrors);
    expect(h.db.select().from(loginFailures).all()).toHaveLength(0);
    expect(h.db.select().from(staffSessions).all()).toHaveLength(0);
  });

  it.each([
    ["//evil.example/x", "/"],
    ["https://evil.example/", "/"],
    ["/\\evil.example", "/"],
    ["javascript:alert(1)", "/"],
    ["/admin/audit?staff=1", "/admin/audit?staff=1"],
  ])("sends redirectTo=%s to %s", async (redirectTo, location) => {
    const res = (await signIn(h.users.admin.email, h.users.admin.password, { redirectTo })) as Response;
    expect(res.headers.get("Location")).toBe(location);
  });

  it("refuses a sign-in posted from another origin", async () => {
    const res = (await signIn(h.users.admin.email, h.users.admin.password, { origin: "https://evil.example" })) as Response;
    expect(res.status).toBe(403);
    expect(h.db.select().from(staffSessions).all()).toHaveLength(0);
  });
});

describe("throttling", () => {
  const status = async (email: string, password: string, address: string) => {
    const out = await signIn(email, password, { address });
    return out instanceof Response ? out.status : (out as unknown as Refusal).init.status;
  };

  it("answers 429 with a wait after repeated failures for one account from one address, even with the right password, until the window passes", async () => {
    for (let i = 0; i < h.config.loginThrottle.maxPerAccountAddress; i++) {
      expect(await status(h.users.ops.email, `wrong-${i}`, "192.0.2.10")).toBe(401);
      h.clock.advance(1000);
    }
    const limited = (await signIn(h.users.ops.email, h.users.ops.password, { address: "192.0.2.10" })) as unknown as Refusal;
    expect(limited.init.status).toBe(429);
    expect(limited.data.message).toMatch(/from here\. Wait \d+ minutes? and try again/);
    const retryAfter = Number(limited.init.headers?.["Retry-After"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(h.config.loginThrottle.windowMs / 1000);
    h.clock.advance(retryAfter * 1000);
    expect(await status(h.users.ops.email, h.users.ops.password, "192.0.2.10")).toBe(302);
  });

  it("does not let failures from one address lock the account out from another", async () => {
    // Someone who knows the email keeps guessing from their own address, more than the old account-wide limit of 5.
    for (let i = 0; i < 3 * h.config.loginThrottle.maxPerAccountAddress; i++) {
      await signIn(h.users.ops.email, `guess-${i}`, { address: "203.0.113.66" });
      h.clock.advance(1000);
    }
    expect(await status(h.users.ops.email, h.users.ops.password, "203.0.113.66")).toBe(429);
    // The person themselves, elsewhere, signs in.
    expect(await status(h.users.ops.email, h.users.ops.password, "198.51.100.4")).toBe(302);
  });

  it("does not lock every account behind one shared address (a proxy without TRUST_PROXY) when several are guessed at", async () => {
    const proxy = "10.0.0.1";
    const attacked = [h.users.ops, h.users.pm, h.users.support];
    // More failures from the one address than the old per-address limit of 20, spread over several accounts.
    for (let round = 0; round < h.config.loginThrottle.maxPerAccountAddress; round++) {
      for (const user of attacked) await signIn(user.email, `wrong-${round}`, { address: proxy });
      for (let i = 0; i < 3; i++) await signIn(`nobody-${round}-${i}@example.test`, "guess", { address: proxy });
      h.clock.advance(1000);
    }
    expect(h.db.select().from(loginFailures).all().length).toBeGreaterThan(20);
    // An account nobody guessed at still signs in through the same address.
    expect(await status(h.users.admin.email, h.users.admin.password, proxy)).toBe(302);
    // Those guessed at are held back at that address only, and sign in from anywhere else.
    for (const user of attacked) {
      expect(await status(user.email, user.password, proxy), user.email).toBe(429);
      expect(await status(user.email, user.password, "172.16.5.5"), user.email).toBe(302);
    }
  });

  it("applies the softer account-wide limit to guesses spread over many addresses, sparing an address the account signed in from", async () => {
    expect(await status(h.users.ops.email, h.users.ops.password, "192.0.2.50")).toBe(302);
    const { maxAccountWide, maxPerAccountAddress, accountWideWindowMs } = h.config.loginThrottle;
    // Each address stays under its own limit; together they reach the account's.
    for (let i = 0; i < maxAccountWide; i++) {
      expect(await status(h.users.ops.email, `spread-${i}`, `198.18.${Math.floor(i / (maxPerAccountAddress - 1))}.1`)).toBe(401);
      h.clock.advance(1000);
    }
    const limited = (await signIn(h.users.ops.email, h.users.ops.password, { address: "203.0.113.200" })) as unknown as Refusal;
    expect(limited.init.status).toBe(429);
    expect(limited.data.message).toMatch(/from several places\. Wait \d+ minutes? and try again/);
    const retryAfter = Number(limited.init.headers?.["Retry-After"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(accountWideWindowMs / 1000);
    // Other accounts are untouched, and the account's own usual address still gets in.
    expect(await status(h.users.pm.email, h.users.pm.password, "203.0.113.200")).toBe(302);
    expect(await status(h.users.ops.email, h.users.ops.password, "192.0.2.50")).toBe(302);
    // Signing in there does not wipe the failures from elsewhere: a new address is still held back until they age out.
    expect(await status(h.users.ops.email, h.users.ops.password, "203.0.113.201")).toBe(429);
    h.clock.advance(retryAfter * 1000);
    expect(await status(h.users.ops.email, h.users.ops.password, "203.0.113.201")).toBe(302);
  });
});

describe("sessions", () => {
  it("ends after the idle limit", async () => {
    const cookie = await h.cookieFor("support");
    h.clock.advance(h.config.session.idleMs - 1000);
    expect(await homeStatus(cookie)).toBe(200);
    h.clock.advance(h.config.session.idleMs - 1000);
    expect(await homeStatus(cookie)).toBe(200); // activity in between kept it alive
    h.clock.advance(h.config.session.idleMs);
    expect(await homeStatus(cookie)).toBe(401);
    expect(h.db.select().from(staffSessions).all()).toHaveLength(0);
  });

  it("ends at the absolute limit however active it is", async () => {
    const cookie = await h.cookieFor("support");
    const step = h.config.session.idleMs / 2;
    let elapsed = 0;
    while (elapsed + step < h.config.session.maxMs) {
      h.clock.advance(step);
      elapsed += step;
      expect(await homeStatus(cookie)).toBe(200);
    }
    h.clock.advance(step);
    expect(await homeStatus(cookie)).toBe(401);
  });

  it("refuses a forged or tampered cookie", async () => {
    const cookie = await h.cookieFor("admin");
    const [name, value] = cookie.split("=") as [string, string];
    expect(await homeStatus(`${name}=${value.slice(0, -2)}xx`)).toBe(401);
    expect(await homeStatus(`${name}=${Buffer.from(JSON.stringify("made-up-id")).toString("base64")}`)).toBe(401);
  });

  it("reads the role from the database on every request", async () => {
    const cookie = await h.cookieFor("ops");
    const actor = { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" as const }, clientAddress: "127.0.0.1", now: h.clock.now() };
    const audit = await import("../../app/routes/admin.audit");
    const auditStatus = async () =>
      statusOf(async () => audit.loader({ request: await h.request("/admin/audit", { cookie }), context: h.context(), params: {} }));
    expect(await auditStatus()).toBe(403);
    changeStaffRole(h.db, h.users.ops.id, "admin", actor);
    expect(await auditStatus()).toBe(200);
    setStaffDisabled(h.db, h.users.ops.id, true, actor);
    expect(await auditStatus()).toBe(401);
  });

  it("tells the browser of a session an administrator ended why, and nobody else", async () => {
    const actor = { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" as const }, clientAddress: "127.0.0.1", now: h.clock.now() };
    const loginPage = async (cookie?: string) => login.loader({ request: await h.request("/login", cookie ? { cookie } : {}), context: h.context(), params: {} });
    const opsCookie = await h.cookieFor("ops");
    const pmCookie = await h.cookieFor("pm");
    const supportCookie = await h.cookieFor("support");
    setStaffDisabled(h.db, h.users.ops.id, true, actor);
    await resetStaffPassword(h.db, h.users.pm.id, "a brand new long password", actor);
    expect(await homeStatus(opsCookie)).toBe(401);
    expect(await loginPage(opsCookie)).toEqual({ endedBy: "disabled" });
    expect(await loginPage(pmCookie)).toEqual({ endedBy: "password_reset" });
    // A visitor without such a cookie, or whose session simply ended, sees the plain page.
    expect(await loginPage()).toEqual({ endedBy: null });
    await logout.action({ request: await h.request("/logout", { method: "POST", cookie: supportCookie }), context: h.context(), params: {} }).catch((r: unknown) => r);
    expect(await loginPage(supportCookie)).toEqual({ endedBy: null });
    // The audit log counts the sessions ended; their hashes stay out of what it shows.
    const disable = h.db.select().from(auditLog).where(eq(auditLog.action, "staff.disable")).get()!;
    expect(disable.details).toMatchObject({ sessionsEnded: 1, endedSessions: [expect.stringMatching(/^[0-9a-f]{64}$/)] });
  });

  it("logout deletes the session on the server, so the old cookie no longer works", async () => {
    const cookie = await h.cookieFor("pm");
    const res = (await logout.action({
      request: await h.request("/logout", { method: "POST", cookie }),
      context: h.context(),
      params: {},
    })) as Response;
    expect(res.status).toBe(302);
    expect(res.headers.get("Set-Cookie")).toMatch(/Max-Age=0/);
    expect(await homeStatus(cookie)).toBe(401);
    const id = sessionIdFromCookie(cookie);
    expect(id.length).toBeGreaterThan(40);
    expect(h.db.select().from(staffSessions).where(eq(staffSessions.idHash, hashSessionId(id))).all()).toHaveLength(0);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.logout")).all()).toHaveLength(1);
  });

  it("keeps only a hash of the session id in the database", async () => {
    const res = (await signIn(h.users.ops.email, h.users.ops.password)) as Response;
    const id = sessionIdFromCookie(cookieHeader(res.headers.get("Set-Cookie")!));
    const rows = h.db.$client.prepare("select * from staff_sessions").all();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(id);
    expect(JSON.stringify(rows)).toContain(hashSessionId(id));
  });
});
