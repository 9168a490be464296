import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as home from "../../app/routes/_index";
import * as security from "../../app/routes/account.security";
import * as adminSecurity from "../../app/routes/admin.security";
import * as staffPage from "../../app/routes/admin.staff.$id";
import * as login from "../../app/routes/login";
import * as verify from "../../app/routes/login_.verify";
import { saveAuthSettings, getAuthSettings } from "../../app/staff/auth-settings.server";
import { auditLog, loginFailures, staffRecoveryCodes, staffSessions, staffTotp } from "../../db/schema";
import { createHarness, type Harness } from "../support/context";
import { Client, totpCode } from "../support/factors";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});

type Overview = { totp: { status: string; secret?: string }; recoveryCodesLeft: number };
type Outcome = { ok: boolean; message: string; recoveryCodes?: string[] };

async function signedInAs(role: "ops" | "admin" | "support") {
  const c = new Client(h);
  const res = await c.call(login, "/login", { form: { email: h.users[role].email, password: h.users[role].password } });
  expect(res.status).toBe(302);
  return c;
}

/** Sets up TOTP for the signed-in client and gives back the key and the recovery codes. */
async function enrollTotp(c: Client) {
  expect((await c.call(security, "/account/security", { form: { intent: "totp-start" } })).status).toBe(200);
  const page = await c.call<Overview>(security, "/account/security");
  const secret = page.data.totp.secret!;
  const confirmed = await c.call<Outcome>(security, "/account/security", { form: { intent: "totp-confirm", code: totpCode(secret, h.clock.now()) } });
  expect(confirmed.status).toBe(200);
  return { secret, codes: confirmed.data.recoveryCodes! };
}

async function passwordStep(c: Client, role: "ops" | "admin" | "support", redirectTo?: string) {
  const query = redirectTo ? `?redirectTo=${encodeURIComponent(redirectTo)}` : "";
  return c.call(login, `/login${query}`, { form: { email: h.users[role].email, password: h.users[role].password } });
}

const audits = (action: string) => h.db.select().from(auditLog).where(eq(auditLog.action, action)).all();
const failuresOf = (email: string) => h.db.select().from(loginFailures).where(eq(loginFailures.email, email)).all().length;

describe("TOTP enrollment", () => {
  it("shows a key and QR code, confirms with a first code, gives ten recovery codes once and stores only their hashes", async () => {
    const c = await signedInAs("ops");
    await c.call(security, "/account/security", { form: { intent: "totp-start" } });
    const page = await c.call<Overview & { totp: { qr: string } }>(security, "/account/security");
    expect(page.data.totp.status).toBe("pending");
    expect(page.data.totp.qr).toMatch(/^data:image\/png;base64,/);
    const secret = page.data.totp.secret!;
    const stored = h.db.select().from(staffTotp).where(eq(staffTotp.staffUserId, h.users.ops.id)).get()!;
    expect(stored.secretEnc).toMatch(/^v2:/);
    expect(stored.secretEnc).not.toContain(secret);

    const wrong = await c.call<Outcome>(security, "/account/security", { form: { intent: "totp-confirm", code: "000000" === totpCode(secret, h.clock.now()) ? "111111" : "000000" } });
    expect(wrong.status).toBe(401);
    expect(h.db.select().from(staffTotp).get()!.confirmedAt).toBeNull();

    const ok = await c.call<Outcome>(security, "/account/security", { form: { intent: "totp-confirm", code: totpCode(secret, h.clock.now()) } });
    expect(ok.status).toBe(200);
    expect(ok.data.recoveryCodes).toHaveLength(10);
    expect(new Set(ok.data.recoveryCodes).size).toBe(10);
    const hashes = h.db.select().from(staffRecoveryCodes).all();
    expect(hashes).toHaveLength(10);
    for (const code of ok.data.recoveryCodes!) expect(hashes.some((r) => r.codeHash.includes(code) || r.codeHash.includes(code.replace(/-/g, "")))).toBe(false);
    const after = await c.call<Overview>(security, "/account/security");
    expect(after.data.totp).toMatchObject({ status: "confirmed" });
    expect(after.data.totp.secret).toBeUndefined();
    expect(audits("staff.totp_enroll")).toHaveLength(1);
  });

  it("sends someone whose role must enroll to the security page, and lets them on once enrolled", async () => {
    saveAuthSettings(h.db, { mfaRequiredRoles: ["ops"], ssoRequired: false, breakGlassStaffId: null }, { by: null, now: h.clock.now() });
    const c = await signedInAs("ops");
    const blocked = await c.call(home, "/");
    expect(blocked.status).toBe(302);
    expect(blocked.location).toBe("/account/security?redirectTo=%2F");
    const open = await c.call<{ mustEnroll: boolean }>(security, "/account/security");
    expect(open.data.mustEnroll).toBe(true);
    // Support is not required to: it goes through.
    const support = await signedInAs("support");
    expect((await support.call(home, "/")).status).toBe(200);
    await enrollTotp(c);
    expect((await c.call(home, "/")).status).toBe(200);
  });

  it("regenerates recovery codes (the old ones stop working) and removes TOTP only with a current code", async () => {
    const c = await signedInAs("ops");
    const { secret, codes } = await enrollTotp(c);
    const fresh = await c.call<Outcome>(security, "/account/security", { form: { intent: "recovery-regenerate" } });
    expect(fresh.data.recoveryCodes).toHaveLength(10);
    expect(fresh.data.recoveryCodes).not.toContain(codes[0]);
    // An old code no longer works at sign-in.
    const other = new Client(h);
    await passwordStep(other, "ops");
    expect((await other.call(verify, "/login/verify", { form: { code: codes[0]! } })).status).toBe(401);

    const refused = await c.call<Outcome>(security, "/account/security", { form: { intent: "totp-remove", code: "12345" } });
    expect(refused.status).toBe(400);
    h.clock.advance(30_000);
    const removed = await c.call<Outcome>(security, "/account/security", { form: { intent: "totp-remove", code: totpCode(secret, h.clock.now()) } });
    expect(removed.status).toBe(200);
    expect(h.db.select().from(staffTotp).all()).toHaveLength(0);
    expect(h.db.select().from(staffRecoveryCodes).all()).toHaveLength(0);
    expect(audits("staff.totp_remove")).toHaveLength(1);
  });
});

describe("signing in with TOTP", () => {
  it("asks for the code after the password, without a session, then opens one with method password+totp", async () => {
    const owner = await signedInAs("ops");
    const { secret } = await enrollTotp(owner);
    h.clock.advance(30_000);
    const c = new Client(h);
    const first = await passwordStep(c, "ops", "/customers");
    expect(first.status).toBe(302);
    expect(first.location).toBe("/login/verify?redirectTo=%2Fcustomers");
    expect([...c.cookies.keys()]).toEqual(["linkdesk_second_factor"]);
    const sessionsBefore = h.db.select().from(staffSessions).all().length;
    expect((await c.call(home, "/")).status).toBe(401);
    const page = await c.call<{ pending: { email: string; options: { totp: boolean } } }>(verify, "/login/verify");
    expect(page.data.pending).toMatchObject({ email: h.users.ops.email, options: { totp: true } });
    const done = await c.call(verify, "/login/verify?redirectTo=%2Fcustomers", { form: { code: totpCode(secret, h.clock.now()) } });
    expect(done.status).toBe(302);
    expect(done.location).toBe("/customers");
    expect(h.db.select().from(staffSessions).all().length).toBe(sessionsBefore + 1);
    expect((await c.call(home, "/")).status).toBe(200);
    expect(c.cookies.has("linkdesk_second_factor")).toBe(false);
    const logins = audits("staff.login");
    expect(logins.at(-1)!.details).toEqual({ method: "password+totp" });
  });

  it("accepts the code of the step before (clock drift) but not two steps away", async () => {
    const owner = await signedInAs("ops");
    const { secret } = await enrollTotp(owner);
    h.clock.advance(5 * 60_000);
    const c = new Client(h);
    await passwordStep(c, "ops");
    const tooOld = await c.call(verify, "/login/verify", { form: { code: totpCode(secret, new Date(h.clock.now().getTime() - 60_000)) } });
    expect(tooOld.status).toBe(401);
    const previous = await c.call(verify, "/login/verify", { form: { code: totpCode(secret, new Date(h.clock.now().getTime() - 30_000)) } });
    expect(previous.status).toBe(302);
  });

  it("refuses a wrong code with a 401, audits it and counts it against the account", async () => {
    const owner = await signedInAs("ops");
    const { secret } = await enrollTotp(owner);
    const c = new Client(h);
    await passwordStep(c, "ops");
    const good = totpCode(secret, h.clock.now());
    const bad = good === "123456" ? "654321" : "123456";
    const before = failuresOf(h.users.ops.email);
    const res = await c.call<{ message: string }>(verify, "/login/verify", { form: { code: bad } });
    expect(res.status).toBe(401);
    expect(res.data.message).toMatch(/not right/);
    expect(failuresOf(h.users.ops.email)).toBe(before + 1);
    expect(audits("staff.second_factor_failed").at(-1)!.details).toMatchObject({ method: "totp", reason: "wrong code", stage: "sign-in" });
    expect((await c.call(home, "/")).status).toBe(401);
  });

  it("never accepts a code twice, nor an earlier one after a later was used", async () => {
    const owner = await signedInAs("ops");
    const { secret } = await enrollTotp(owner);
    h.clock.advance(90_000);
    const code = totpCode(secret, h.clock.now());
    const a = new Client(h);
    await passwordStep(a, "ops");
    expect((await a.call(verify, "/login/verify", { form: { code } })).status).toBe(302);
    const b = new Client(h);
    await passwordStep(b, "ops");
    const replay = await b.call<{ message: string }>(verify, "/login/verify", { form: { code } });
    expect(replay.status).toBe(401);
    expect(replay.data.message).toMatch(/already used/);
    const earlier = await b.call<{ message: string }>(verify, "/login/verify", { form: { code: totpCode(secret, new Date(h.clock.now().getTime() - 30_000)) } });
    expect(earlier.status).toBe(401);
    expect(earlier.data.message).toMatch(/already used/);
    expect(audits("staff.second_factor_failed").filter((e) => (e.details as { reason: string }).reason === "code already used")).toHaveLength(2);
    expect(failuresOf(h.users.ops.email)).toBeGreaterThanOrEqual(2);
  });

  it("takes a recovery code once and refuses it the second time", async () => {
    const owner = await signedInAs("ops");
    const { codes } = await enrollTotp(owner);
    const a = new Client(h);
    await passwordStep(a, "ops");
    const used = await a.call(verify, "/login/verify", { form: { code: codes[3]!.toLowerCase() } });
    expect(used.status).toBe(302);
    expect(audits("staff.login").at(-1)!.details).toEqual({ method: "password+recovery_code" });
    expect(audits("staff.recovery_code_used")).toHaveLength(1);
    const b = new Client(h);
    await passwordStep(b, "ops");
    const again = await b.call<{ message: string }>(verify, "/login/verify", { form: { code: codes[3]! } });
    expect(again.status).toBe(401);
    expect(again.data.message).toMatch(/already used/);
    expect(audits("staff.second_factor_failed").at(-1)!.details).toMatchObject({ method: "recovery_code", reason: "recovery code already used" });
  });

  it("ends the sign-in after five wrong codes, and refuses an expired one", async () => {
    const owner = await signedInAs("ops");
    const { secret } = await enrollTotp(owner);
    const good = totpCode(secret, h.clock.now());
    const bad = good === "123456" ? "654321" : "123456";
    const c = new Client(h, "10.0.0.9");
    await passwordStep(c, "ops");
    for (let i = 0; i < 4; i++) expect((await c.call(verify, "/login/verify", { form: { code: bad } })).status).toBe(401);
    const last = await c.call<{ message: string }>(verify, "/login/verify", { form: { code: bad } });
    expect(last.data.message).toMatch(/last attempt/);
    const after = await c.call<{ message: string }>(verify, "/login/verify", { form: { code: good } });
    expect(after.status).toBe(400);
    expect(after.data.message).toMatch(/sign in again/);

    const late = new Client(h);
    h.clock.advance(60_000);
    await passwordStep(late, "ops");
    h.clock.advance(6 * 60_000);
    const expired = await late.call<{ message: string }>(verify, "/login/verify", { form: { code: totpCode(secret, h.clock.now()) } });
    expect(expired.status).toBe(400);
    expect(expired.data.message).toMatch(/expired/);
  });

  it("throttles second-factor guesses like passwords", async () => {
    const owner = await signedInAs("ops");
    const { secret } = await enrollTotp(owner);
    const bad = totpCode(secret, h.clock.now()) === "123456" ? "654321" : "123456";
    const limit = h.config.loginThrottle.maxPerAccountAddress;
    let last = 0;
    for (let i = 0; i < limit + 1; i++) {
      const c = new Client(h, "10.0.0.7");
      const pw = await passwordStep(c, "ops");
      if (pw.status !== 302) {
        last = pw.status;
        break;
      }
      last = (await c.call(verify, "/login/verify", { form: { code: bad } })).status;
    }
    expect(last).toBe(429);
  });
});

describe("administrators", () => {
  it("reset a member's factors, audited", async () => {
    const owner = await signedInAs("ops");
    await enrollTotp(owner);
    const admin = await signedInAs("admin");
    const res = await admin.call(staffPage, `/admin/staff/${h.users.ops.id}`, { form: { intent: "reset-factors" }, params: { id: String(h.users.ops.id) } });
    expect(res.status).toBe(200);
    expect(h.db.select().from(staffTotp).all()).toHaveLength(0);
    expect(h.db.select().from(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffUserId, h.users.ops.id)).all()).toHaveLength(0);
    expect(h.db.select().from(auditLog).where(and(eq(auditLog.action, "staff.factors_reset"), eq(auditLog.targetId, String(h.users.ops.id)))).all()).toHaveLength(1);
    // The password alone signs in again.
    const c = new Client(h);
    expect((await passwordStep(c, "ops")).location).toBe("/");
  });

  it("set the sign-in policy on /admin/security, audited with before and after; SSO needs a break-glass admin", async () => {
    const admin = await signedInAs("admin");
    const ops = await signedInAs("ops");
    expect((await ops.call(adminSecurity, "/admin/security")).status).toBe(403);
    const noBreakGlass = await admin.call<{ message: string }>(adminSecurity, "/admin/security", { form: { mfaRole: ["admin"], ssoRequired: "on" } });
    expect(noBreakGlass.status).toBe(400);
    expect(noBreakGlass.data.message).toMatch(/break-glass/);
    const notAdmin = await admin.call(adminSecurity, "/admin/security", { form: { ssoRequired: "on", breakGlassStaffId: String(h.users.ops.id) } });
    expect(notAdmin.status).toBe(400);
    const badRole = await admin.call(adminSecurity, "/admin/security", { form: { mfaRole: ["root"] } });
    expect(badRole.status).toBe(400);
    const ok = await admin.call(adminSecurity, "/admin/security", { form: { mfaRole: ["admin", "ops"], ssoRequired: "on", breakGlassStaffId: String(h.users.admin.id) } });
    expect(ok.status).toBe(200);
    expect(getAuthSettings(h.db)).toEqual({ mfaRequiredRoles: ["ops", "admin"], ssoRequired: true, breakGlassStaffId: h.users.admin.id });
    const entry = audits("security.policy_change")[0]!;
    expect(entry.details).toEqual({
      before: { mfaRequiredRoles: [], ssoRequired: false, breakGlassStaffId: null },
      after: { mfaRequiredRoles: ["ops", "admin"], ssoRequired: true, breakGlassStaffId: h.users.admin.id },
    });
  });
});
