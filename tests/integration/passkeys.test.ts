import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as home from "../../app/routes/_index";
import * as security from "../../app/routes/account.security";
import * as login from "../../app/routes/login";
import * as verify from "../../app/routes/login_.verify";
import { saveAuthSettings } from "../../app/staff/auth-settings.server";
import { passkeyProofOptions, verifyProof } from "../../app/staff/second-factor.server";
import { auditLog, loginFailures, staffPasskeys } from "../../db/schema";
import { createHarness, type Harness } from "../support/context";
import { Client, SoftAuthenticator, type SoftCredential } from "../support/factors";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});

type Challenge<O> = { passkey: { flowId: string; options: O } };
type CreationOptions = { challenge: string; rp: { id: string }; user: { id: string }; authenticatorSelection: { residentKey: string } };
type RequestOptions = { challenge: string; rpId: string; allowCredentials?: { id: string }[]; userVerification: string };

async function signedInAs(role: "ops" | "admin") {
  const c = new Client(h);
  expect((await c.call(login, "/login", { form: { email: h.users[role].email, password: h.users[role].password } })).status).toBe(302);
  return c;
}

async function registerPasskey(c: Client, authenticator: SoftAuthenticator, name = "Laptop"): Promise<SoftCredential> {
  const options = await c.call<Challenge<CreationOptions>>(security, "/account/security", { form: { intent: "passkey-options" } });
  expect(options.data.passkey.options.rp.id).toBe("linkdesk.test");
  expect(options.data.passkey.options.authenticatorSelection.residentKey).toBe("required");
  const made = authenticator.register(options.data.passkey.options);
  const res = await c.call<{ ok: boolean; message: string }>(security, "/account/security", {
    form: { intent: "passkey-register", name, passkeyFlow: options.data.passkey.flowId, passkeyResponse: JSON.stringify(made.response) },
  });
  expect(res.data.message).toMatch(/registered/);
  expect(res.status).toBe(200);
  return made.credential;
}

const audits = (action: string) => h.db.select().from(auditLog).where(eq(auditLog.action, action)).all();
const failuresOf = (email: string) => h.db.select().from(loginFailures).where(eq(loginFailures.email, email)).all().length;

async function secondFactorChallenge(c: Client, role: "ops" | "admin") {
  const pw = await c.call(login, "/login", { form: { email: h.users[role].email, password: h.users[role].password } });
  expect(pw.location).toMatch(/^\/login\/verify/);
  const options = await c.call<Challenge<RequestOptions>>(verify, "/login/verify", { form: { intent: "passkey-options" } });
  expect(options.status).toBe(200);
  return options.data.passkey;
}

async function passwordlessChallenge(c: Client) {
  const options = await c.call<Challenge<RequestOptions>>(login, "/login", { form: { intent: "passkey-options" } });
  expect(options.status).toBe(200);
  expect(options.data.passkey.options.allowCredentials ?? []).toEqual([]);
  expect(options.data.passkey.options.userVerification).toBe("required");
  return options.data.passkey;
}

describe("registering passkeys", () => {
  it("stores one or more named passkeys with their public key, and removes one", async () => {
    const c = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const first = await registerPasskey(c, authenticator, "Work laptop");
    await registerPasskey(c, authenticator, "Phone");
    const rows = h.db.select().from(staffPasskeys).all();
    expect(rows.map((r) => r.name).sort()).toEqual(["Phone", "Work laptop"]);
    expect(rows.every((r) => r.staffUserId === h.users.ops.id && r.publicKey.length > 50)).toBe(true);
    expect(audits("staff.passkey_register")).toHaveLength(2);
    const removed = await c.call(security, "/account/security", { form: { intent: "passkey-remove", id: first.id.toString("base64url") } });
    expect(removed.status).toBe(200);
    expect(h.db.select().from(staffPasskeys).all().map((r) => r.name)).toEqual(["Phone"]);
    // Someone else's passkey cannot be removed by id.
    const admin = await signedInAs("admin");
    const notTheirs = await admin.call(security, "/account/security", { form: { intent: "passkey-remove", id: rows.find((r) => r.name === "Phone")!.id } });
    expect(notTheirs.status).toBe(404);
  });

  it("refuses an answer to a used or expired challenge, and one made for another origin", async () => {
    const c = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const options = await c.call<Challenge<CreationOptions>>(security, "/account/security", { form: { intent: "passkey-options" } });
    const foreign = authenticator.register(options.data.passkey.options, { origin: "http://evil.test", rpId: "linkdesk.test" });
    const refused = await c.call<{ message: string }>(security, "/account/security", {
      form: { intent: "passkey-register", passkeyFlow: options.data.passkey.flowId, passkeyResponse: JSON.stringify(foreign.response) },
    });
    expect(refused.status).toBe(400);
    // The challenge was consumed by that answer: a good answer to it now is refused as expired.
    const good = authenticator.register(options.data.passkey.options);
    const reused = await c.call<{ message: string }>(security, "/account/security", {
      form: { intent: "passkey-register", passkeyFlow: options.data.passkey.flowId, passkeyResponse: JSON.stringify(good.response) },
    });
    expect(reused.status).toBe(400);
    expect(reused.data.message).toMatch(/expired or was already used/);
    expect(h.db.select().from(staffPasskeys).all()).toHaveLength(0);
    expect(audits("staff.passkey_register_failed")).toHaveLength(2);
  });
});

describe("a passkey as the second factor", () => {
  it("opens a session with method password+passkey", async () => {
    const owner = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const cred = await registerPasskey(owner, authenticator);
    const c = new Client(h);
    const challenge = await secondFactorChallenge(c, "ops");
    expect(challenge.options.allowCredentials!.map((a) => a.id)).toEqual([cred.id.toString("base64url")]);
    const answer = authenticator.assert(cred, challenge.options);
    const res = await c.call(verify, "/login/verify", { form: { passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(answer) } });
    expect(res.status).toBe(302);
    expect((await c.call(home, "/")).status).toBe(200);
    expect(audits("staff.login").at(-1)!.details).toEqual({ method: "password+passkey" });
    expect(h.db.select().from(staffPasskeys).get()!.counter).toBe(1);
  });

  it("refuses a passkey of another account, audited and counted against the account signing in", async () => {
    const ops = await signedInAs("ops");
    const admin = await signedInAs("admin");
    const opsKey = new SoftAuthenticator();
    await registerPasskey(ops, opsKey);
    const adminKey = new SoftAuthenticator();
    const adminCred = await registerPasskey(admin, adminKey);
    const c = new Client(h);
    const challenge = await secondFactorChallenge(c, "ops");
    const before = failuresOf(h.users.ops.email);
    const answer = adminKey.assert(adminCred, challenge.options);
    const res = await c.call<{ message: string }>(verify, "/login/verify", { form: { passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(answer) } });
    expect(res.status).toBe(401);
    expect(res.data.message).toMatch(/another account/);
    expect(failuresOf(h.users.ops.email)).toBe(before + 1);
    expect(audits("staff.second_factor_failed").at(-1)).toMatchObject({ staffUserId: h.users.ops.id, details: { method: "passkey", reason: "passkey of another account" } });
    expect((await c.call(home, "/")).status).toBe(401);
  });

  it("refuses an answer made for another origin or RP ID", async () => {
    const owner = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const cred = await registerPasskey(owner, authenticator);
    for (const opts of [{ origin: "http://evil.test", rpId: "linkdesk.test" }, { rpId: "evil.test" }]) {
      const c = new Client(h);
      const challenge = await secondFactorChallenge(c, "ops");
      const answer = authenticator.assert(cred, challenge.options, opts);
      const res = await c.call<{ message: string }>(verify, "/login/verify", { form: { passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(answer) } });
      expect(res.status).toBe(401);
      expect(res.data.message).toMatch(/another site/);
    }
    expect(audits("staff.second_factor_failed").map((e) => (e.details as { reason: string }).reason)).toEqual(["passkey from another origin", "passkey from another origin"]);
  });

  it("refuses a missing, used or expired challenge", async () => {
    const owner = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const cred = await registerPasskey(owner, authenticator);
    const c = new Client(h);
    const challenge = await secondFactorChallenge(c, "ops");
    const answer = authenticator.assert(cred, challenge.options);
    const missing = await c.call<{ message: string }>(verify, "/login/verify", { form: { passkeyResponse: JSON.stringify(answer) } });
    expect(missing.status).toBe(400);
    expect(missing.data.message).toMatch(/expired or was already used/);
    // A missing flow id consumes nothing; the real one still works once.
    expect((await c.call(verify, "/login/verify", { form: { passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(answer) } })).status).toBe(302);

    const d = new Client(h);
    const second = await secondFactorChallenge(d, "ops");
    const again = await d.call<{ message: string }>(verify, "/login/verify", { form: { passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(authenticator.assert(cred, challenge.options)) } });
    expect(again.status).toBe(400);
    h.clock.advance(60_000 + 59_000);
    const late = authenticator.assert(cred, second.options);
    h.clock.advance(2_000);
    const expired = await d.call<{ message: string }>(verify, "/login/verify", { form: { passkeyFlow: second.flowId, passkeyResponse: JSON.stringify(late) } });
    expect(expired.status).toBe(400);
    expect(audits("staff.second_factor_failed").filter((e) => (e.details as { reason: string }).reason === "challenge expired or missing").length).toBe(3);
  });
});

describe("signing in with a passkey instead of the password", () => {
  it("signs in with a discoverable passkey and user verification (method passkey)", async () => {
    const owner = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const cred = await registerPasskey(owner, authenticator);
    const c = new Client(h);
    const challenge = await passwordlessChallenge(c);
    const res = await c.call(login, "/login?redirectTo=%2Fcustomers", { form: { intent: "passkey", passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(authenticator.assert(cred, challenge.options)) } });
    expect(res.status).toBe(302);
    expect(res.location).toBe("/customers");
    expect((await c.call(home, "/")).status).toBe(200);
    expect(audits("staff.login").at(-1)).toMatchObject({ staffUserId: h.users.ops.id, details: { method: "passkey" } });
  });

  it("requires user verification, refuses an unknown passkey and a second-factor challenge", async () => {
    const owner = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const cred = await registerPasskey(owner, authenticator);
    const c = new Client(h);
    let challenge = await passwordlessChallenge(c);
    const noUv = await c.call<{ message: string }>(login, "/login", { form: { intent: "passkey", passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(authenticator.assert(cred, challenge.options, { userVerified: false })) } });
    expect(noUv.status).toBe(401);
    expect(failuresOf(h.users.ops.email)).toBe(1);
    challenge = await passwordlessChallenge(c);
    const stranger = new SoftAuthenticator();
    const strangerCred = stranger.register({ challenge: "x", rp: { id: "linkdesk.test" }, user: { id: "nobody" } }).credential;
    const unknown = await c.call<{ message: string }>(login, "/login", { form: { intent: "passkey", passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(stranger.assert(strangerCred, challenge.options)) } });
    expect(unknown.status).toBe(401);
    expect(unknown.data.message).toMatch(/not registered/);
    // A challenge made for the second factor of an account is not a passwordless one.
    const d = new Client(h);
    const second = await secondFactorChallenge(d, "ops");
    const crossed = await d.call(login, "/login", { form: { intent: "passkey", passkeyFlow: second.flowId, passkeyResponse: JSON.stringify(authenticator.assert(cred, second.options)) } });
    expect(crossed.status).toBe(400);
    expect(audits("staff.login_failed").map((e) => (e.details as { reason: string }).reason)).toEqual(["passkey did not verify", "unknown passkey", "challenge expired or missing"]);
  });

  it("is refused when SSO is required, except for the break-glass administrator", async () => {
    const ops = await signedInAs("ops");
    const admin = await signedInAs("admin");
    const opsKey = new SoftAuthenticator();
    const opsCred = await registerPasskey(ops, opsKey);
    const adminKey = new SoftAuthenticator();
    const adminCred = await registerPasskey(admin, adminKey);
    saveAuthSettings(h.db, { mfaRequiredRoles: [], ssoRequired: true, breakGlassStaffId: h.users.admin.id }, { by: null, now: h.clock.now() });
    const c = new Client(h);
    let challenge = await passwordlessChallenge(c);
    const refused = await c.call<{ message: string }>(login, "/login", { form: { intent: "passkey", passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(opsKey.assert(opsCred, challenge.options)) } });
    expect(refused.status).toBe(403);
    expect(refused.data.message).toMatch(/single sign-on/);
    challenge = await passwordlessChallenge(c);
    const breakGlass = await c.call(login, "/login", { form: { intent: "passkey", passkeyFlow: challenge.flowId, passkeyResponse: JSON.stringify(adminKey.assert(adminCred, challenge.options)) } });
    expect(breakGlass.status).toBe(302);
  });
});

describe("verifyProof, the check the step-up page shares", () => {
  it("takes a passkey answer to a step-up challenge for the signed-in account, and refuses a sign-in challenge there", async () => {
    const owner = await signedInAs("ops");
    const authenticator = new SoftAuthenticator();
    const cred = await registerPasskey(owner, authenticator);
    const deps = h.context();
    const request = new Request("http://linkdesk.test/auth/step-up", { method: "POST", headers: { Origin: "http://linkdesk.test" } });
    const stepUp = await passkeyProofOptions(deps, request, h.users.ops.id, "webauthn_step_up");
    const form = new FormData();
    form.set("passkeyFlow", stepUp.passkey.flowId);
    form.set("passkeyResponse", JSON.stringify(authenticator.assert(cred, stepUp.passkey.options)));
    expect(await verifyProof(deps, h.users.ops.id, form, { purpose: "webauthn_step_up" })).toEqual({ ok: true, method: "passkey" });

    const signInChallenge = await passkeyProofOptions(deps, request, h.users.ops.id, "webauthn_login");
    const crossed = new FormData();
    crossed.set("passkeyFlow", signInChallenge.passkey.flowId);
    crossed.set("passkeyResponse", JSON.stringify(authenticator.assert(cred, signInChallenge.passkey.options)));
    const refused = await verifyProof(deps, h.users.ops.id, crossed, { purpose: "webauthn_step_up" });
    expect(refused).toMatchObject({ ok: false, status: 400 });
    expect(audits("staff.second_factor_failed").at(-1)!.details).toMatchObject({ method: "passkey", reason: "challenge expired or missing", stage: "step-up" });
    // An account without passkeys gets no challenge.
    await expect(passkeyProofOptions(deps, request, h.users.admin.id, "webauthn_step_up")).rejects.toThrow(/no passkey/);
  });
});
