import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as apiKeys from "../../app/routes/admin.api-keys";
import * as staffMember from "../../app/routes/admin.staff.$id";
import * as newStaff from "../../app/routes/admin.staff.new";
import * as stepUp from "../../app/routes/auth.step-up";
import * as bulk from "../../app/routes/reports.bulk._index";
import { STEP_UP_GRANT_FIELD } from "../../app/staff/step-up.server";
import { auditLog, loginFailures, staffUsers } from "../../db/schema";
import { cookieHeader, createHarness, ORIGIN, type Harness } from "../support/context";
import { commitSessionCookie } from "../../app/staff/guards.server";
import { createSession, hashSessionId, markSessionVerified } from "../../app/staff/sessions.server";
import { Client, totpCode } from "../support/factors";
import * as login from "../../app/routes/login";
import * as security from "../../app/routes/account.security";

type Out = { status: number; location: string | null; data: Record<string, unknown> };
type Mod = { action?: (a: never) => unknown; loader?: (a: never) => unknown };

let h: Harness;

async function call(mod: Mod, kind: "action" | "loader", path: string, cookie: string, values?: Record<string, string> | FormData, params: Record<string, string> = {}): Promise<Out> {
  const body = values instanceof FormData ? values : values ? new URLSearchParams(values) : undefined;
  const request = await h.request(path, { method: kind === "action" ? "POST" : "GET", cookie, body });
  try {
    const out = await mod[kind]!({ request, context: h.context(), params } as never);
    if (out instanceof Response) return { status: out.status, location: out.headers.get("Location"), data: {} };
    const wrapped = out as { data?: Record<string, unknown>; init?: { status?: number } | null; type?: string };
    if (wrapped && wrapped.type === "DataWithResponseInit") return { status: wrapped.init?.status ?? 200, location: null, data: wrapped.data! };
    return { status: 200, location: null, data: out as Record<string, unknown> };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, location: thrown.headers.get("Location"), data: {} };
    throw thrown;
  }
}

const NEW_STAFF = { name: "Nia New", email: "nia@example.test", role: "support", password: "a long enough password" };
const created = () => h.db.select().from(staffUsers).where(eq(staffUsers.email, "nia@example.test")).get();
const audits = (action: string) => h.db.select().from(auditLog).where(eq(auditLog.action, action)).all();

/** Follows a step-up through: the waiting action's id from the redirect, the page, the password, the replayed form. */
async function stepUpWith(cookie: string, location: string, password: string) {
  const path = location;
  h.clock.advance(1000);
  const page = await call(stepUp, "loader", path, cookie);
  const proved = await call(stepUp, "action", path, cookie, { username: "x", password });
  return { page, proved };
}

function replayForm(replay: { fields: [string, string][]; grant: string }): FormData {
  const f = new FormData();
  for (const [k, v] of replay.fields) f.append(k, v);
  f.append(STEP_UP_GRANT_FIELD, replay.grant);
  return f;
}

describe("step-up before sensitive actions", () => {
  beforeEach(async () => {
    h = await createHarness();
  });

  it("lets a sensitive action through on a fresh sign-in, and asks again once the proof is older than STEP_UP_MINUTES", async () => {
    const cookie = await h.cookieFor("admin");
    h.clock.advance(9 * 60_000);
    const first = await call(newStaff, "action", "/admin/staff/new", cookie, NEW_STAFF);
    expect(first.status).toBe(302);
    expect(first.location).toMatch(/^\/admin\/staff\/\d+$/);

    h.clock.advance(2 * 60_000); // eleven minutes since the sign-in
    const asked = await call(newStaff, "action", "/admin/staff/new", cookie, { ...NEW_STAFF, email: "late@example.test" });
    expect(asked.status).toBe(302);
    expect(asked.location).toMatch(/^\/auth\/step-up\?action=[\w-]+$/);
    expect(h.db.select().from(staffUsers).where(eq(staffUsers.email, "late@example.test")).get()).toBeUndefined();

    const page = await call(stepUp, "loader", asked.location!, cookie);
    expect(page.data).toMatchObject({ label: "Create a staff account", expired: false, replay: null, proof: "password" });

    const wrong = await call(stepUp, "action", asked.location!, cookie, { password: "not my password" });
    expect(wrong.status).toBe(401);
    expect(wrong.data.message).toBe("That is not your password.");
    expect(audits("staff.step_up_failed")).toMatchObject([{ staffUserId: h.users.admin.id, details: { proof: "password", for: "Create a staff account" } }]);
    expect(h.db.select().from(loginFailures).where(eq(loginFailures.email, h.users.admin.email)).all()).toHaveLength(1);

    h.clock.advance(1000);
    const right = await call(stepUp, "action", asked.location!, cookie, { password: h.users.admin.password });
    expect(right.status).toBe(200);
    const replay = right.data.replay as { path: string; fields: [string, string][]; grant: string; label: string };
    expect(replay).toMatchObject({ path: "/admin/staff/new", label: "Create a staff account" });
    expect(Object.fromEntries(replay.fields)).toMatchObject({ email: "late@example.test", role: "support" });
    expect(audits("staff.step_up")).toMatchObject([{ staffUserId: h.users.admin.id, details: { proof: "password", for: "Create a staff account" } }]);

    const done = await call(newStaff, "action", replay.path, cookie, replayForm(replay));
    expect(done.status).toBe(302);
    expect(h.db.select().from(staffUsers).where(eq(staffUsers.email, "late@example.test")).get()).toBeDefined();
    // Proved just now: the next sensitive action within the window does not ask.
    expect((await call(staffMember, "action", `/admin/staff/${h.users.pm.id}`, cookie, { intent: "role", role: "support" }, { id: String(h.users.pm.id) })).status).toBe(200);
  });

  it("with STEP_UP_MINUTES=0 asks every time, and a grant lets exactly its own action through once", async () => {
    h = await createHarness({ STEP_UP_MINUTES: "0" });
    const cookie = await h.cookieFor("admin");
    const asked = await call(newStaff, "action", "/admin/staff/new", cookie, NEW_STAFF);
    expect(asked.location).toMatch(/^\/auth\/step-up\?action=/);
    const { proved } = await stepUpWith(cookie, asked.location!, h.users.admin.password);
    const replay = proved.data.replay as { path: string; fields: [string, string][]; grant: string };

    // The grant is for creating this account at /admin/staff/new: sent with another action it is no grant at all.
    const elsewhere = replayForm({ fields: [["intent", "create"], ["name", "Sneaky key"]], grant: replay.grant });
    expect((await call(apiKeys, "action", "/admin/api-keys", cookie, elsewhere)).location).toMatch(/^\/auth\/step-up\?action=/);
    // Another session of the same account cannot use it either.
    const otherCookie = await h.cookieFor("admin");
    expect((await call(newStaff, "action", replay.path, otherCookie, replayForm(replay))).location).toMatch(/^\/auth\/step-up\?action=/);
    expect(created()).toBeUndefined();

    expect((await call(newStaff, "action", replay.path, cookie, replayForm(replay))).status).toBe(302);
    expect(created()).toBeDefined();
    // Used once: the same grant again asks again.
    const again = await call(newStaff, "action", replay.path, cookie, replayForm({ ...replay, fields: replay.fields.map(([k, v]) => [k, k === "email" ? "twice@example.test" : v]) }));
    expect(again.location).toMatch(/^\/auth\/step-up\?action=/);
    expect(h.db.select().from(staffUsers).where(eq(staffUsers.email, "twice@example.test")).get()).toBeUndefined();
  });

  it("names each staff change, keeps an uploaded bulk list through the step-up, and says when a waiting action has expired", async () => {
    h = await createHarness({ STEP_UP_MINUTES: "0" });
    const admin = await h.cookieFor("admin");
    const disable = await call(staffMember, "action", `/admin/staff/${h.users.pm.id}`, admin, { intent: "disable" }, { id: String(h.users.pm.id) });
    expect((await call(stepUp, "loader", disable.location!, admin)).data.label).toBe("Disable a staff account");
    expect(h.db.select().from(staffUsers).where(eq(staffUsers.id, h.users.pm.id)).get()!.disabledAt).toBeNull();

    const ops = await h.cookieFor("ops");
    const upload = new FormData();
    upload.append("reason", "Quarterly refresh");
    upload.append("purpose", "ACCOUNT_REVIEW_NON_CREDIT");
    upload.append("daysRequested", "365");
    upload.append("products", "cra_income_insights");
    upload.append("billable", "yes");
    upload.append("list", "");
    upload.append("file", new File([`${"a".repeat(64)}\n${"b".repeat(64)}\n`], "hashes.csv", { type: "text/csv" }));
    const asked = await call(bulk, "action", "/reports/bulk?index", ops, upload);
    expect(asked.location).toMatch(/^\/auth\/step-up\?action=/);
    const page = await call(stepUp, "loader", asked.location!, ops);
    expect(page.data.label).toBe("Start a bulk regeneration");
    h.clock.advance(1000);
    const proved = await call(stepUp, "action", asked.location!, ops, { password: h.users.ops.password });
    const replay = proved.data.replay as { path: string; fields: [string, string][] };
    expect(replay.path).toBe("/reports/bulk?index");
    expect(Object.fromEntries(replay.fields).list).toBe(`${"a".repeat(64)}\n${"b".repeat(64)}\n`);

    h.clock.advance(11 * 60_000);
    const late = await call(staffMember, "action", `/admin/staff/${h.users.pm.id}`, admin, { intent: "enable" }, { id: String(h.users.pm.id) });
    h.clock.advance(11 * 60_000);
    expect((await call(stepUp, "loader", late.location!, admin)).data).toMatchObject({ expired: true, label: null });
    expect((await call(stepUp, "action", late.location!, admin, { password: h.users.admin.password })).status).toBe(410);
  });

  it("throttles wrong passwords on the step-up page like the sign-in form", async () => {
    const cookie = await h.cookieFor("admin");
    h.clock.advance(11 * 60_000);
    const asked = await call(newStaff, "action", "/admin/staff/new", cookie, NEW_STAFF);
    for (let i = 0; i < h.config.loginThrottle.maxPerAccountAddress; i++) {
      expect((await call(stepUp, "action", asked.location!, cookie, { password: `wrong ${i}` })).status).toBe(401);
    }
    const limited = await call(stepUp, "action", asked.location!, cookie, { password: h.users.admin.password });
    expect(limited.status).toBe(429);
    expect(created()).toBeUndefined();
  });
});

describe("step-up with a second factor", () => {
  beforeEach(async () => {
    h = await createHarness();
  });

  it("asks an account with an authenticator app for a code, not its password, and refuses a code already used", async () => {
    const c = new Client(h);
    expect((await c.call(login, "/login", { form: { email: h.users.admin.email, password: h.users.admin.password } })).status).toBe(302);
    expect((await c.call(security, "/account/security", { form: { intent: "totp-start" } })).status).toBe(200);
    const secret = (await c.call<{ totp: { secret: string } }>(security, "/account/security")).data.totp.secret;
    expect((await c.call(security, "/account/security", { form: { intent: "totp-confirm", code: totpCode(secret, h.clock.now()) } })).status).toBe(200);

    h.clock.advance(11 * 60_000);
    const asked = await c.call(newStaff, "/admin/staff/new", { form: NEW_STAFF });
    expect(asked.location).toMatch(/^\/auth\/step-up\?action=/);
    const page = await c.call<{ proof: string; factors: { totp: boolean } }>(stepUp, asked.location!);
    expect(page.data).toMatchObject({ proof: "factor", factors: { totp: true } });

    // The password is not the proof here: without a code the step-up is refused.
    expect((await c.call(stepUp, asked.location!, { form: { password: h.users.admin.password } })).status).toBe(400);
    const code = totpCode(secret, h.clock.now());
    const proved = await c.call<{ replay: { path: string; fields: [string, string][]; grant: string } }>(stepUp, asked.location!, { form: { code } });
    expect(proved.status).toBe(200);
    expect(audits("staff.step_up").at(-1)!.details).toEqual({ proof: "totp", for: "Create a staff account" });
    const { replay } = proved.data;
    const done = await c.call(newStaff, replay.path, { form: { ...Object.fromEntries(replay.fields), [STEP_UP_GRANT_FIELD]: replay.grant } });
    expect(done.status).toBe(302);
    expect(created()).toBeDefined();

    // Later, the same code again is refused as used.
    h.clock.advance(11 * 60_000);
    const again = await c.call(newStaff, "/admin/staff/new", { form: { ...NEW_STAFF, email: "again@example.test" } });
    expect((await c.call(stepUp, again.location!, { form: { code } })).status).toBe(401);
    expect(audits("staff.step_up_failed").at(-1)!.details).toEqual({ proof: "second factor", for: "Create a staff account" });
  });
});

describe("step-up of an SSO session", () => {
  it("sends it to the identity provider, and carries on once the session was verified again after the action was asked for", async () => {
    h = await createHarness({ OIDC_ISSUER: "http://127.0.0.1:9/", OIDC_CLIENT_ID: "linkdesk", OIDC_ROLE_MAP: "admins=admin", STEP_UP_MINUTES: "0" });
    h.db.update(staffUsers).set({ ssoIssuer: "http://127.0.0.1:9/", ssoSubject: "sub-admin" }).where(eq(staffUsers.id, h.users.admin.id)).run();
    const sessionId = createSession(h.db, { staffUserId: h.users.admin.id, clientAddress: "127.0.0.1", userAgent: "vitest", now: h.clock.now(), limits: h.config.session, method: "sso" });
    const cookie = cookieHeader(await commitSessionCookie(new Request(ORIGIN), { config: h.config }, sessionId));
    const asked = await call(newStaff, "action", "/admin/staff/new", cookie, NEW_STAFF);
    const page = await call(stepUp, "loader", asked.location!, cookie);
    expect(page.data).toMatchObject({ proof: "sso", replay: null });
    expect((await call(stepUp, "action", asked.location!, cookie, { password: h.users.admin.password })).status).toBe(400);

    // What the provider's callback does for a step-up: the session is verified again, later than the action was asked.
    h.clock.advance(1000);
    markSessionVerified(h.db, hashSessionId(sessionId), h.clock.now());
    const back = await call(stepUp, "loader", asked.location!, cookie);
    const replay = back.data.replay as { path: string; fields: [string, string][]; grant: string };
    expect(replay).toMatchObject({ path: "/admin/staff/new" });
    expect((await call(newStaff, "action", replay.path, cookie, replayForm(replay))).status).toBe(302);
    expect(created()).toBeDefined();
  });
});
