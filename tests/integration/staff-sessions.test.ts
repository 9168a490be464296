import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as login from "../../app/routes/login";
import * as sessions from "../../app/routes/account.sessions";
import * as staffMember from "../../app/routes/admin.staff.$id";
import * as home from "../../app/routes/_index";
import { describeUserAgent } from "../../app/staff/user-agent";
import { auditLog, staffSessions } from "../../db/schema";
import { cookieHeader, createHarness, form, statusOf, type Harness } from "../support/context";

const CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});

type Browser = { session: string | null; device: string | null };

/** Signs in through the sign-in form as a browser would: sending the cookies it holds, keeping the ones it is given. */
async function signIn(role: "support" | "admin", browser: Browser, opts: { userAgent?: string; address?: string } = {}) {
  const cookies = [browser.session, browser.device].filter(Boolean).join("; ");
  const request = await h.request("/login", {
    method: "POST",
    body: form({ email: h.users[role].email, password: h.users[role].password }),
    headers: { "User-Agent": opts.userAgent ?? CHROME_LINUX, ...(cookies ? { Cookie: cookies } : {}) },
  });
  const res = (await login.action({ request, context: h.context(opts.address), params: {} })) as Response;
  expect(res.status).toBe(302);
  for (const set of res.headers.getSetCookie()) {
    if (set.startsWith("linkdesk_session=")) browser.session = cookieHeader(set);
    if (set.startsWith("linkdesk_device=")) browser.device = cookieHeader(set);
  }
  return browser;
}

const newDeviceEntries = (role: "support" | "admin") => h.db.select().from(auditLog).where(and(eq(auditLog.action, "staff.new_device"), eq(auditLog.staffUserId, h.users[role].id))).all();

async function listSessions(cookie: string) {
  return sessions.loader({ request: await h.request("/account/sessions", { cookie }), context: h.context(), params: {} });
}

async function post(cookie: string, values: Record<string, string>) {
  const request = await h.request("/account/sessions", { method: "POST", cookie, body: form(values) });
  try {
    const out = await sessions.action({ request, context: h.context(), params: {} });
    if (out instanceof Response) return { status: out.status, location: out.headers.get("Location"), setCookie: out.headers.get("Set-Cookie"), data: null };
    const wrapped = out as { data?: { ok: boolean; message: string }; init?: { status?: number } };
    return "init" in wrapped && wrapped.init ? { status: wrapped.init.status ?? 200, location: null, setCookie: null, data: wrapped.data! } : { status: 200, location: null, setCookie: null, data: out as { ok: boolean; message: string } };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, location: null, setCookie: null, data: { ok: false, message: await thrown.text() } };
    throw thrown;
  }
}

async function loginPageNotice(cookie: string) {
  return (await login.loader({ request: await h.request("/login", { cookie }), context: h.context(), params: {} })).endedBy;
}

const signedIn = async (cookie: string) => (await statusOf(async () => home.loader({ request: await h.request("/", { cookie }), context: h.context(), params: {} }))) === 200;

describe("sign-in from a new device", () => {
  it("is audited on a browser's first sign-in, not on a second one from the same device cookie, and again from another browser", async () => {
    const laptop = await signIn("support", { session: null, device: null });
    expect(laptop.device).toMatch(/^linkdesk_device=/);
    expect(newDeviceEntries("support")).toMatchObject([{ role: "support", details: { method: "password", userAgent: CHROME_LINUX } }]);

    await signIn("support", { session: null, device: laptop.device });
    expect(newDeviceEntries("support")).toHaveLength(1);

    await signIn("support", { session: null, device: null }, { userAgent: FIREFOX_MAC, address: "203.0.113.9" });
    expect(newDeviceEntries("support")).toHaveLength(2);
    // A device is the account's: the same browser signing in to another account is new to that one.
    await signIn("admin", { session: null, device: laptop.device });
    expect(newDeviceEntries("admin")).toHaveLength(1);
  });

  it("shows up on the sessions page: each sign-in a session, with its browser, address, method, and this one marked", async () => {
    const phone = await signIn("support", { session: null, device: null }, { userAgent: FIREFOX_MAC, address: "203.0.113.9" });
    h.clock.advance(5 * 60_000);
    const laptop = await signIn("support", { session: null, device: null });
    const page = await listSessions(laptop.session!);
    expect(page.sessions).toMatchObject([
      { browser: "Chrome on Linux", clientAddress: "127.0.0.1", method: "Password", current: true, userAgent: CHROME_LINUX },
      { browser: "Firefox on macOS", clientAddress: "203.0.113.9", method: "Password", current: false },
    ]);
    expect(page.sessions[1]!.createdAt).toBe(page.sessions[0]!.createdAt - 5 * 60_000);
    expect((await listSessions(phone.session!)).sessions.map((s) => s.current)).toEqual([false, true]);
  });
});

describe("your sessions", () => {
  it("lists only your own sessions that still work", async () => {
    const mine = await signIn("support", { session: null, device: null });
    await signIn("admin", { session: null, device: null });
    h.clock.advance(h.config.session.idleMs + 1);
    const fresh = await signIn("support", { session: null, device: null });
    const page = await listSessions(fresh.session!);
    expect(page.sessions).toHaveLength(1);
    expect(page.sessions[0]!.current).toBe(true);
    expect(mine.session).not.toBe(fresh.session);
  });

  it("ends another of your sessions: that browser is signed out, told so at sign-in, and the ending is audited", async () => {
    const phone = await signIn("support", { session: null, device: null }, { userAgent: FIREFOX_MAC });
    const laptop = await signIn("support", { session: null, device: null });
    const phoneHash = (await listSessions(laptop.session!)).sessions.find((s) => !s.current)!.id;
    const answer = await post(laptop.session!, { intent: "end", session: phoneHash });
    expect(answer).toMatchObject({ status: 200, data: { ok: true, message: "1 session ended. That browser is signed out." } });
    expect(await signedIn(phone.session!)).toBe(false);
    expect(await signedIn(laptop.session!)).toBe(true);
    expect(await loginPageNotice(phone.session!)).toBe("ended_elsewhere");
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.session_end")).all()).toMatchObject([
      { staffUserId: h.users.support.id, targetId: String(h.users.support.id), details: { sessionsEnded: 1, endedSessions: [phoneHash], currentSessionEnded: false } },
    ]);
  });

  it("ending the current session signs you out", async () => {
    const laptop = await signIn("support", { session: null, device: null });
    const current = (await listSessions(laptop.session!)).sessions[0]!;
    const answer = await post(laptop.session!, { intent: "end", session: current.id });
    expect(answer).toMatchObject({ status: 302, location: "/login" });
    expect(answer.setCookie).toMatch(/Max-Age=0/);
    expect(await signedIn(laptop.session!)).toBe(false);
  });

  it("ends every other session and keeps this one", async () => {
    await signIn("support", { session: null, device: null });
    await signIn("support", { session: null, device: null });
    const laptop = await signIn("support", { session: null, device: null });
    expect(await post(laptop.session!, { intent: "end-others" })).toMatchObject({ status: 200, data: { ok: true, message: "2 sessions ended. Those browsers are signed out." } });
    expect((await listSessions(laptop.session!)).sessions).toHaveLength(1);
    expect(await post(laptop.session!, { intent: "end-others" })).toMatchObject({ status: 200, data: { message: "You have no other session to end." } });
  });

  it("refuses to end another user's session (404, nothing ended, nothing audited) and answers a malformed form with a 400", async () => {
    const admin = await signIn("admin", { session: null, device: null });
    const support = await signIn("support", { session: null, device: null });
    const adminHash = (await listSessions(admin.session!)).sessions[0]!.id;
    const answer = await post(support.session!, { intent: "end", session: adminHash });
    expect(answer.status).toBe(404);
    expect(answer.data?.message).toMatch(/No session of yours has that id/);
    expect(await signedIn(admin.session!)).toBe(true);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.session_end")).all()).toHaveLength(0);
    for (const values of [{ intent: "end", session: "not-a-hash" }, { intent: "end" }, { intent: "wipe" }, {}] as Record<string, string>[]) {
      expect((await post(support.session!, values)).status, JSON.stringify(values)).toBe(400);
    }
    expect(await post("", { intent: "end-others" })).toMatchObject({ status: 401 });
  });
});

describe("an administrator ends all sessions of a user", () => {
  async function endAll(adminCookie: string, id: number) {
    const request = await h.request(`/admin/staff/${id}`, { method: "POST", cookie: adminCookie, body: form({ intent: "end-sessions" }) });
    return staffMember.action({ request, context: h.context(), params: { id: String(id) } });
  }

  it("signs every browser of that user out, audits the ended session hashes, and the sign-in page says an administrator did it", async () => {
    const a = await signIn("support", { session: null, device: null });
    const b = await signIn("support", { session: null, device: null }, { userAgent: FIREFOX_MAC });
    const admin = await h.cookieFor("admin");
    const before = await staffMember.loader({ request: await h.request(`/admin/staff/${h.users.support.id}`, { cookie: admin }), context: h.context(), params: { id: String(h.users.support.id) } });
    expect(before.activeSessions).toBe(2);
    const expected = h.db.select({ idHash: staffSessions.idHash }).from(staffSessions).where(eq(staffSessions.staffUserId, h.users.support.id)).all().map((r) => r.idHash).sort();

    expect(await endAll(admin, h.users.support.id)).toMatchObject({ ok: true, message: expect.stringContaining("Every session of this account has been ended") });
    expect(await signedIn(a.session!)).toBe(false);
    expect(await signedIn(b.session!)).toBe(false);
    expect(await signedIn(admin)).toBe(true);
    const [entry] = h.db.select().from(auditLog).where(eq(auditLog.action, "staff.sessions_end")).all();
    expect(entry).toMatchObject({ staffUserId: h.users.admin.id, targetType: "staff", targetId: String(h.users.support.id), details: { email: h.users.support.email, sessionsEnded: 2 } });
    expect(((entry!.details as { endedSessions: string[] }).endedSessions).sort()).toEqual(expected);
    expect(await loginPageNotice(a.session!)).toBe("ended_by_admin");
    // A session that merely ended (expired, signed out) says nothing.
    const pm = await h.cookieFor("pm");
    h.db.delete(staffSessions).where(eq(staffSessions.staffUserId, h.users.pm.id)).run();
    expect(await loginPageNotice(pm)).toBeNull();
  });

  it("is for administrators only", async () => {
    const support = await h.cookieFor("support");
    expect(await statusOf(() => endAll(support, h.users.ops.id))).toBe(403);
  });
});

describe("the browser's name", () => {
  it.each([
    [CHROME_LINUX, "Chrome on Linux"],
    [FIREFOX_MAC, "Firefox on macOS"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"],
    ["Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"],
    ["curl/8.5.0", "curl"],
    ["", "Unknown browser"],
    ["vitest", "Unknown browser"],
  ])("%s → %s", (ua, name) => {
    expect(describeUserAgent(ua)).toBe(name);
  });
});
