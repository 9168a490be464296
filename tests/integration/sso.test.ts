import { generateKeyPairSync } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as ssoStart from "../../app/routes/auth.sso";
import * as ssoCallback from "../../app/routes/auth.sso_.callback";
import * as login from "../../app/routes/login";
import * as home from "../../app/routes/_index";
import { BAD_CREDENTIALS, passwordSignInAllowed, SSO_REQUIRED_MESSAGE } from "../../app/staff/auth.server";
import { saveAuthSettings } from "../../app/staff/auth-settings.server";
import { resolveSession } from "../../app/staff/sessions.server";
import { canReauthenticateWithSso, isLoopbackIssuer, mappedRole } from "../../app/staff/sso.server";
import { ssoStepUpHref } from "../../app/staff/paths";
import { hashPassword } from "../../app/staff/password.server";
import { setStaffDisabled } from "../../app/staff/staff-users.server";
import { auditLog, loginFailures, staffSessions, staffUsers } from "../../db/schema";
import { DEMO_ROLE_MAP, startIdentityProvider, type RunningIdp } from "../../simulators/idp/server";
import { cookieHeader, createHarness, form, ORIGIN, statusOf, type Harness } from "../support/context";
import { signInAtIdp } from "../support/idp-browser";
import { startTamperingProxy, type TamperingProxy } from "../support/tampering-proxy";

// The console against the real local identity provider over HTTP, reached through a loopback proxy that passes
// everything through unless a test makes it tamper with the ID token.

let idp: RunningIdp;
let proxy: TamperingProxy;
const PASSWORDS = { ada: "ada-sso-pass", otto: "otto-sso-pass", sam: "sam-sso-pass", pia: "pia-sso-pass", max: "max-sso-pass", nora: "nora-sso-pass" } as const;
type Who = keyof typeof PASSWORDS;

beforeAll(async () => {
  proxy = await startTamperingProxy(() => idp.url);
  idp = await startIdentityProvider({ redirectUris: [`${ORIGIN}/auth/sso/callback`], issuer: proxy.url });
});
afterAll(async () => {
  await proxy.close();
  await idp.close();
});

const ROLE_MAP = Object.entries(DEMO_ROLE_MAP).map(([g, r]) => `${g}=${r}`).join(",");
const harness = (overrides: Record<string, string> = {}) =>
  createHarness({ OIDC_ISSUER: proxy.url, OIDC_CLIENT_ID: idp.client.clientId, OIDC_CLIENT_SECRET: idp.client.clientSecret, OIDC_ROLE_MAP: ROLE_MAP, OIDC_PROVISIONING: "create", ...overrides });

let h: Harness;
beforeEach(async () => {
  proxy.tamperIdToken = null;
  h = await harness();
});

type Refusal = { data: { refusal: { status: number; title: string; message: string } }; init: { status: number } };

async function run(handler: (args: never) => unknown, request: Request): Promise<Response | Refusal> {
  try {
    return (await handler({ request, context: h.context(), params: {} } as never)) as Response | Refusal;
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

/** Presses "Sign in with SSO" (or starts a step-up): the provider's authorization URL and the flow cookie. */
async function start(opts: { redirectTo?: string; cookie?: string; stepUp?: boolean } = {}) {
  const query = new URLSearchParams({ ...(opts.redirectTo ? { redirectTo: opts.redirectTo } : {}), ...(opts.stepUp ? { purpose: "step-up" } : {}) });
  const request = opts.stepUp ? await h.request(`/auth/sso?${query}`, { cookie: opts.cookie }) : await h.request(`/auth/sso?${query}`, { method: "POST", body: form({}), cookie: opts.cookie });
  const res = (await run(opts.stepUp ? ssoStart.loader : ssoStart.action, request)) as Response;
  expect(res.status).toBe(302);
  return { authorizationUrl: new URL(res.headers.get("Location")!), flowCookie: cookieHeader(res.headers.get("Set-Cookie")!) };
}

/** The browser back at the console with the provider's answer. */
function callback(callbackUrl: URL, cookie: string) {
  expect(callbackUrl.origin).toBe(ORIGIN);
  return run(ssoCallback.loader, new Request(`${ORIGIN}/auth/sso/callback${callbackUrl.search}`, { headers: { Cookie: cookie } }));
}

async function signInAs(who: Who, opts: { redirectTo?: string } = {}) {
  const { authorizationUrl, flowCookie } = await start(opts);
  const visit = await signInAtIdp(authorizationUrl, who, PASSWORDS[who]);
  expect(visit.callbackUrl, visit.body).not.toBeNull();
  return { answer: await callback(visit.callbackUrl!, flowCookie), callbackUrl: visit.callbackUrl!, flowCookie };
}

function refusalOf(answer: Response | Refusal): Refusal["data"]["refusal"] {
  expect(answer).not.toBeInstanceOf(Response);
  return (answer as Refusal).data.refusal;
}

const sessionCookieOf = (res: Response) => res.headers.getSetCookie().map(cookieHeader).find((c) => c.startsWith("linkdesk_session="))!;
const refusals = () => h.db.select().from(auditLog).where(eq(auditLog.action, "staff.sso_refused")).all();
const account = (email: string) => h.db.select().from(staffUsers).where(eq(staffUsers.email, email)).get();

describe("signing in through the identity provider", () => {
  it("creates the account on first sign-in with the role its groups map to (the most privileged winning) and opens an SSO session", async () => {
    const { answer } = await signInAs("max", { redirectTo: "/customers?q=1" });
    const res = answer as Response;
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/customers?q=1");
    const user = account("max@sso.linkdesk.test")!;
    // max is in linkdesk-support and linkdesk-ops: ops wins.
    expect(user).toMatchObject({ name: "Max Multi", role: "ops", passwordHash: "", ssoIssuer: proxy.url, ssoSubject: "idp-max" });
    const cookie = sessionCookieOf(res);
    expect(await statusOf(async () => home.loader({ request: await h.request("/", { cookie }), context: h.context(), params: {} }))).toBe(200);
    expect(h.db.select().from(staffSessions).where(eq(staffSessions.staffUserId, user.id)).all()).toMatchObject([{ method: "sso" }]);
    const actions = h.db.select().from(auditLog).where(eq(auditLog.staffUserId, user.id)).all().map((a) => [a.action, a.details]);
    expect(actions).toContainEqual(["staff.sso_create", { email: user.email, role: "ops", groups: ["linkdesk-support", "linkdesk-ops", "everyone"] }]);
    expect(actions).toContainEqual(["staff.login", { method: "sso" }]);
    // The flow cookie is cleared.
    expect(res.headers.getSetCookie().find((c) => c.startsWith("linkdesk_sso="))).toMatch(/Max-Age=0/);
  });

  it("maps each demo group to its role", async () => {
    for (const [who, role] of [["ada", "admin"], ["otto", "ops"], ["sam", "support"], ["pia", "pm"]] as const) {
      expect(((await signInAs(who)).answer as Response).status).toBe(302);
      expect(account(`${who}@sso.linkdesk.test`)?.role, who).toBe(role);
    }
    expect(mappedRole(["linkdesk-product", "linkdesk-support"], DEMO_ROLE_MAP)).toBe("support");
    expect(mappedRole(["linkdesk-product", "linkdesk-admins"], DEMO_ROLE_MAP)).toBe("admin");
    expect(mappedRole(["everyone"], DEMO_ROLE_MAP)).toBeNull();
  });

  it("follows the provider's groups on every sign-in, and audits a role change", async () => {
    await signInAs("sam");
    const sam = idp.identities.find((i) => i.username === "sam")!;
    const groups = sam.groups;
    sam.groups = ["linkdesk-ops"];
    try {
      expect(((await signInAs("sam")).answer as Response).status).toBe(302);
    } finally {
      sam.groups = groups;
    }
    const user = account("sam@sso.linkdesk.test")!;
    expect(user.role).toBe("ops");
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.sso_role_change")).all()).toMatchObject([{ staffUserId: user.id, details: { from: "support", to: "ops", groups: ["linkdesk-ops"] } }]);
  });

  it("refuses someone in no mapped group with a page that names the groups to ask for, creates nothing, and counts the refusal", async () => {
    const refusal = refusalOf((await signInAs("nora")).answer);
    expect(refusal.status).toBe(403);
    expect(refusal.title).toBe("Your account has no Linkdesk role");
    expect(refusal.message).toContain("nora@sso.linkdesk.test");
    expect(refusal.message).toContain("linkdesk-admins, linkdesk-ops, linkdesk-support, linkdesk-product");
    expect(account("nora@sso.linkdesk.test")).toBeUndefined();
    expect(h.db.select().from(staffSessions).all()).toHaveLength(0);
    expect(refusals()).toMatchObject([{ details: { reason: "unmapped_group", email: "nora@sso.linkdesk.test", groups: ["everyone"] } }]);
    expect(h.db.select().from(loginFailures).where(eq(loginFailures.email, "nora@sso.linkdesk.test")).all()).toHaveLength(1);
  });

  it("counts refusals with the sign-in throttle: after too many, the account is refused with a 429 for a while", async () => {
    const limit = h.config.loginThrottle.maxPerAccountAddress;
    for (let i = 0; i < limit; i++) expect(refusalOf((await signInAs("nora")).answer).status).toBe(403);
    const throttled = (await signInAs("nora")).answer as Refusal;
    expect(throttled.data.refusal).toMatchObject({ status: 429, title: "Too many refused sign-ins" });
    expect(h.db.select().from(loginFailures).where(eq(loginFailures.email, "nora@sso.linkdesk.test")).all()).toHaveLength(limit);
  });

  it("refuses a disabled account", async () => {
    await signInAs("pia");
    const pia = account("pia@sso.linkdesk.test")!;
    setStaffDisabled(h.db, pia.id, true, { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: h.clock.now() });
    const refusal = refusalOf((await signInAs("pia")).answer);
    expect(refusal).toMatchObject({ status: 403, title: "This staff account is disabled" });
    expect(refusals()).toMatchObject([{ details: { reason: "disabled", email: pia.email } }]);
  });

  it("turns the provider's error (a cancelled sign-in) into a clear 400 page", async () => {
    const { authorizationUrl, flowCookie } = await start();
    const visit = await signInAtIdp(authorizationUrl, "sam", "", { cancel: true });
    expect(visit.callbackUrl?.searchParams.get("error")).toBe("access_denied");
    const refusal = refusalOf(await callback(visit.callbackUrl!, flowCookie));
    expect(refusal.status).toBe(400);
    expect(refusal.message).toContain("The sign-in was cancelled at the identity provider");
    expect(refusals()).toMatchObject([{ details: { reason: "provider_error", code: "access_denied" } }]);
  });

  it("answers 502 with a page when the provider cannot be reached", async () => {
    h = await harness({ OIDC_ISSUER: "http://127.0.0.1:9" });
    const refusal = refusalOf(await run(ssoStart.action, await h.request("/auth/sso", { method: "POST", body: form({}) })));
    expect(refusal).toMatchObject({ status: 502, title: "The identity provider could not be reached" });
  });

  it("accepts plain http only for a provider on loopback", async () => {
    expect(isLoopbackIssuer(proxy.url)).toBe(true);
    expect(isLoopbackIssuer("http://localhost:8080/realms/x")).toBe(true);
    expect(isLoopbackIssuer("http://idp.example.test")).toBe(false);
    expect(isLoopbackIssuer("https://127.0.0.1")).toBe(false);
    // openid-client refuses the http discovery itself (no request is made): the page says the provider is unusable.
    h = await harness({ OIDC_ISSUER: "http://idp.example.test" });
    const refusal = refusalOf(await run(ssoStart.action, await h.request("/auth/sso", { method: "POST", body: form({}) })));
    expect(refusal.status).toBe(502);
  });
});

describe("invite-only provisioning", () => {
  beforeEach(async () => {
    h = await harness({ OIDC_PROVISIONING: "invite" });
  });

  it("refuses an email with no staff account, saying whom to ask", async () => {
    const refusal = refusalOf((await signInAs("sam")).answer);
    expect(refusal.status).toBe(403);
    expect(refusal.message).toContain("There is no staff account for sam@sso.linkdesk.test");
    expect(refusal.message).toContain("Ask a Linkdesk administrator to invite you");
    expect(account("sam@sso.linkdesk.test")).toBeUndefined();
    expect(refusals()).toMatchObject([{ details: { reason: "not_invited", email: "sam@sso.linkdesk.test" } }]);
    expect(h.db.select().from(loginFailures).where(eq(loginFailures.email, "sam@sso.linkdesk.test")).all()).toHaveLength(1);
  });

  it("links an invited account on its first SSO sign-in", async () => {
    const now = h.clock.now();
    const { id } = h.db.insert(staffUsers).values({ email: "sam@sso.linkdesk.test", name: "Sam", role: "pm", passwordHash: await hashPassword("an invited account"), passwordChangedAt: now, createdAt: now, updatedAt: now }).returning().get();
    expect(((await signInAs("sam")).answer as Response).status).toBe(302);
    expect(account("sam@sso.linkdesk.test")).toMatchObject({ id, ssoIssuer: proxy.url, ssoSubject: "idp-sam", role: "support" });
    expect(h.db.select().from(auditLog).where(and(eq(auditLog.action, "staff.sso_link"), eq(auditLog.staffUserId, id))).all()).toHaveLength(1);
  });
});

describe("refusing answers that do not belong to this browser's sign-in", () => {
  it("refuses a wrong or missing state, and the flow is then used up", async () => {
    const { authorizationUrl, flowCookie } = await start();
    const visit = await signInAtIdp(authorizationUrl, "sam", PASSWORDS.sam);
    const wrong = new URL(visit.callbackUrl!);
    wrong.searchParams.set("state", "not-the-state");
    expect(refusalOf(await callback(wrong, flowCookie))).toMatchObject({ status: 400, title: "This sign-in could not be matched" });
    // The right answer afterwards finds no flow: a wrong state used it up.
    expect(refusalOf(await callback(visit.callbackUrl!, flowCookie))).toMatchObject({ status: 400, title: "This sign-in has expired or was already used" });

    const second = await start();
    const visit2 = await signInAtIdp(second.authorizationUrl, "sam", PASSWORDS.sam);
    const missing = new URL(visit2.callbackUrl!);
    missing.searchParams.delete("state");
    expect(refusalOf(await callback(missing, second.flowCookie)).status).toBe(400);
    expect(refusals().map((r) => (r.details as { reason: string }).reason)).toEqual(["state", "no_flow", "state"]);
    expect(account("sam@sso.linkdesk.test")).toBeUndefined();
  });

  it("refuses an answer that comes back after the flow's 10 minutes", async () => {
    const { authorizationUrl, flowCookie } = await start();
    const visit = await signInAtIdp(authorizationUrl, "sam", PASSWORDS.sam);
    h.clock.advance(10 * 60_000 + 1);
    expect(refusalOf(await callback(visit.callbackUrl!, flowCookie))).toMatchObject({ status: 400, title: "This sign-in has expired or was already used" });
  });

  it("refuses a callback without the flow cookie", async () => {
    const { authorizationUrl } = await start();
    const visit = await signInAtIdp(authorizationUrl, "sam", PASSWORDS.sam);
    expect(refusalOf(await callback(visit.callbackUrl!, "")).status).toBe(400);
  });

  it("refuses an ID token whose nonce is not this flow's", async () => {
    const { authorizationUrl, flowCookie } = await start();
    // The request reaches the provider with another nonce (as if another sign-in's link were substituted).
    authorizationUrl.searchParams.set("nonce", "a-nonce-of-another-sign-in");
    const visit = await signInAtIdp(authorizationUrl, "sam", PASSWORDS.sam);
    const refusal = refusalOf(await callback(visit.callbackUrl!, flowCookie));
    expect(refusal).toMatchObject({ status: 400, title: "This sign-in could not be matched" });
    expect(refusal.message).toContain("nonce");
    expect(refusals()).toMatchObject([{ details: { reason: "nonce" } }]);
    expect(account("sam@sso.linkdesk.test")).toBeUndefined();
  });

  it("refuses an ID token altered in transit (groups raised to admin, signature kept)", async () => {
    proxy.tamperIdToken = (token) => {
      const [header, payload, signature] = token.split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Record<string, unknown>;
      const raised = Buffer.from(JSON.stringify({ ...claims, groups: ["linkdesk-admins"] })).toString("base64url");
      return `${header}.${raised}.${signature}`;
    };
    const refusal = refusalOf((await signInAs("sam")).answer);
    expect(refusal).toMatchObject({ status: 400, title: "The ID token could not be trusted" });
    expect(account("sam@sso.linkdesk.test")).toBeUndefined();
    expect(h.db.select().from(staffSessions).all()).toHaveLength(0);
    expect(refusals()).toMatchObject([{ details: { reason: "signature" } }]);
  });

  it("refuses an ID token signed by a key the provider does not publish, even with the provider's key id", async () => {
    const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }) as JWK;
    const key = await importJWK(attacker, "RS256");
    proxy.tamperIdToken = async (token) => {
      const { kid } = decodeProtectedHeader(token);
      return new SignJWT({ ...decodeJwt(token), groups: ["linkdesk-admins"] }).setProtectedHeader({ alg: "RS256", kid }).sign(key);
    };
    const refusal = refusalOf((await signInAs("sam")).answer);
    expect(refusal).toMatchObject({ status: 400, title: "The ID token could not be trusted" });
    expect(account("sam@sso.linkdesk.test")).toBeUndefined();
  });

  it("refuses a replayed callback: the flow is used once", async () => {
    const { answer, callbackUrl, flowCookie } = await signInAs("otto");
    expect((answer as Response).status).toBe(302);
    const replay = refusalOf(await callback(callbackUrl, flowCookie));
    expect(replay).toMatchObject({ status: 400, title: "This sign-in has expired or was already used" });
    expect(h.db.select().from(staffSessions).all()).toHaveLength(1);
    expect(refusals()).toMatchObject([{ details: { reason: "no_flow" } }]);
  });
});

describe("SSO required", () => {
  async function passwordSignIn(email: string, password: string) {
    const request = await h.request("/login", { method: "POST", body: form({ email, password }) });
    return (await run(login.action as never, request)) as Response | { data: { message: string }; init: { status: number } };
  }

  it("refuses password sign-in with a message pointing at SSO, except for the break-glass account", async () => {
    saveAuthSettings(h.db, { mfaRequiredRoles: [], ssoRequired: true, breakGlassStaffId: h.users.admin.id }, { by: null, now: h.clock.now() });
    const refused = (await passwordSignIn(h.users.ops.email, h.users.ops.password)) as { data: { message: string }; init: { status: number } };
    expect(refused.init.status).toBe(403);
    expect(refused.data.message).toBe(SSO_REQUIRED_MESSAGE);
    expect(refused.data.message).toContain("Sign in with SSO");
    // A wrong password still gets the one generic answer: the policy reveals no more about who exists.
    const wrong = (await passwordSignIn(h.users.ops.email, "not the password")) as { data: { message: string }; init: { status: number } };
    expect([wrong.init.status, wrong.data.message]).toEqual([401, BAD_CREDENTIALS]);
    expect(h.db.select().from(staffSessions).all()).toHaveLength(0);
    const breakGlass = (await passwordSignIn(h.users.admin.email, h.users.admin.password)) as Response;
    expect(breakGlass.status).toBe(302);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.login_failed")).all().map((a) => (a.details as { reason: string }).reason)).toEqual(["sso required", "wrong password"]);
    // The login page says so to everyone, beside the SSO button.
    const page = await login.loader({ request: await h.request("/login"), context: h.context(), params: {} });
    expect(page).toMatchObject({ sso: { required: true } });
  });

  it("passwordSignInAllowed: everyone without the policy, only the break-glass account with it", () => {
    expect(passwordSignInAllowed({ ssoRequired: false, breakGlassStaffId: null }, { id: 3 })).toBe(true);
    expect(passwordSignInAllowed({ ssoRequired: true, breakGlassStaffId: 3 }, { id: 3 })).toBe(true);
    expect(passwordSignInAllowed({ ssoRequired: true, breakGlassStaffId: 3 }, { id: 4 })).toBe(false);
    expect(passwordSignInAllowed({ ssoRequired: true, breakGlassStaffId: null }, { id: 4 })).toBe(false);
  });

  it("still lets SSO sign in while it is required", async () => {
    saveAuthSettings(h.db, { mfaRequiredRoles: [], ssoRequired: true, breakGlassStaffId: h.users.admin.id }, { by: null, now: h.clock.now() });
    expect(((await signInAs("sam")).answer as Response).status).toBe(302);
  });
});

describe("re-authentication through SSO for step-up", () => {
  async function ssoSession(who: Who) {
    const { answer } = await signInAs(who);
    return sessionCookieOf(answer as Response);
  }
  const verifiedAt = (cookie: string) => {
    const sessionId = JSON.parse(Buffer.from(decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1)).split(".")[0]!, "base64").toString("utf8")) as string;
    return resolveSession(h.db, sessionId, h.clock.now(), h.config.session)!.verifiedAt;
  };

  it("asks the provider for a fresh login and marks the session verified when the same account comes back", async () => {
    const cookie = await ssoSession("otto");
    const signedInAt = verifiedAt(cookie);
    h.clock.advance(5 * 60_000);
    const otto = account("otto@sso.linkdesk.test")!;
    expect(canReauthenticateWithSso(h.context(), otto.id)).toBe(true);
    expect(canReauthenticateWithSso(h.context(), h.users.ops.id)).toBe(false);
    expect(ssoStepUpHref("/admin/staff")).toBe("/auth/sso?purpose=step-up&redirectTo=%2Fadmin%2Fstaff");
    const { authorizationUrl, flowCookie } = await start({ stepUp: true, redirectTo: "/admin/staff", cookie });
    expect(authorizationUrl.searchParams.get("prompt")).toBe("login");
    expect(authorizationUrl.searchParams.get("max_age")).toBe("0");
    const visit = await signInAtIdp(authorizationUrl, "otto", PASSWORDS.otto);
    const res = (await callback(visit.callbackUrl!, `${cookie}; ${flowCookie}`)) as Response;
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/admin/staff");
    expect(verifiedAt(cookie).getTime()).toBe(signedInAt.getTime() + 5 * 60_000);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.sso_step_up")).all()).toHaveLength(1);
    // No second session: the step-up verified the one there was.
    expect(h.db.select().from(staffSessions).all()).toHaveLength(1);
  });

  it("refuses a re-authentication as someone else, leaving the session unverified", async () => {
    const cookie = await ssoSession("otto");
    const signedInAt = verifiedAt(cookie);
    h.clock.advance(5 * 60_000);
    const { authorizationUrl, flowCookie } = await start({ stepUp: true, redirectTo: "/admin/staff", cookie });
    await signInAs("sam");
    const visit = await signInAtIdp(authorizationUrl, "sam", PASSWORDS.sam);
    const refusal = refusalOf(await callback(visit.callbackUrl!, `${cookie}; ${flowCookie}`));
    expect(refusal).toMatchObject({ status: 403, title: "That was a different account" });
    expect(verifiedAt(cookie).getTime()).toBe(signedInAt.getTime());
    expect(refusals()).toMatchObject([{ details: { reason: "other_account", purpose: "step-up" } }]);
  });

  it("refuses to start for an account that does not use SSO, and needs a signed-in session", async () => {
    const cookie = await h.cookieFor("ops");
    const request = await h.request("/auth/sso?purpose=step-up&redirectTo=/jobs", { cookie });
    expect(refusalOf(await run(ssoStart.loader, request))).toMatchObject({ status: 400, title: "This account does not use single sign-on" });
    expect(await statusOf(async () => ssoStart.loader({ request: await h.request("/auth/sso?purpose=step-up"), context: h.context(), params: {} }))).toBe(401);
  });
});
