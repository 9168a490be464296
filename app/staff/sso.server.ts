import * as oidc from "openid-client";
import { and, eq } from "drizzle-orm";
import { staffUsers } from "../../db/schema";
import type { OidcConfig } from "../config/env.server";
import { recordAudit, type Actor } from "./audit.server";
import { authFlowCookie, consumeAuthFlow, createAuthFlow, type AuthFlowPurpose } from "./auth-flows.server";
import { safeRedirectPath, type AuthenticatedStaff, type LoginDeps } from "./auth.server";
import { isRole, ROLES, type Role } from "./permissions";
import { markSessionVerified, type CurrentStaff } from "./sessions.server";
import { checkLoginThrottle, clearLoginFailures, recordLoginFailure } from "./throttle.server";

// Single sign-on through the publisher's OpenID Connect provider, with openid-client: the authorization code flow
// with PKCE, state and nonce, and an ID token checked for its issuer, audience, expiry, nonce and, through the
// provider's published keys (JWKS), its signature. See docs/decisions/single-sign-on.md.

export const SSO_FLOW_TTL_MS = 10 * 60_000;
const SSO_COOKIE = "linkdesk_sso";

export const ssoFlowCookie = (secret: string) => authFlowCookie(SSO_COOKIE, secret, SSO_FLOW_TTL_MS / 1000);

/**
 * When someone is in several mapped groups, the most privileged of their mapped roles wins, in this order. Reading
 * customer data (support) counts as more than reading the funnel (pm); ops and admin include support's access.
 */
export const ROLE_PRECEDENCE: readonly Role[] = ["admin", "ops", "support", "pm"];
// Every role has its place in the order (a role added without one would never be chosen).
ROLES.forEach((role) => {
  if (!ROLE_PRECEDENCE.includes(role)) throw new Error(`ROLE_PRECEDENCE lacks ${role}`);
});

export type SsoRefusalReason =
  | "no_flow"
  | "state"
  | "nonce"
  | "signature"
  | "id_token"
  | "provider_error"
  | "token_refused"
  | "provider_unreachable"
  | "unmapped_group"
  | "no_email"
  | "email_unverified"
  | "not_invited"
  | "linked_elsewhere"
  | "disabled"
  | "throttled"
  | "other_account"
  | "not_sso_account"
  | "not_configured";

/** A refusal with a page of its own: a title, what happened and what to do, and the audited reason code. */
export class SsoRefused extends Error {
  constructor(
    public readonly status: 400 | 403 | 404 | 429 | 502,
    public readonly reason: SsoRefusalReason,
    public readonly title: string,
    message: string,
    public readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "SsoRefused";
  }
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Plain http is accepted only for an identity provider on this machine (the local one, a developer's); never otherwise. */
export function isLoopbackIssuer(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
}

// One discovered configuration per provider and client: the metadata and (inside openid-client) the JWKS cache. A
// failed discovery is forgotten, so the next sign-in tries again.
const configurations = new Map<string, Promise<oidc.Configuration>>();

function providerConfiguration(settings: OidcConfig): Promise<oidc.Configuration> {
  const key = JSON.stringify([settings.issuer, settings.clientId, settings.clientSecret ?? null]);
  let found = configurations.get(key);
  if (!found) {
    const insecure = isLoopbackIssuer(settings.issuer);
    found = oidc
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        settings.clientSecret ? { client_secret: settings.clientSecret } : undefined,
        settings.clientSecret ? oidc.ClientSecretBasic(settings.clientSecret) : oidc.None(),
        { timeout: 10, ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}) },
      )
      .then((configuration) => {
        // openid-client v6 checks the ID token's claims by itself but verifies its signature only when asked: this
        // makes authorizationCodeGrant verify it against the provider's JWKS (fetched from jwks_uri, cached, and
        // fetched again for a key id it does not know).
        oidc.enableNonRepudiationChecks(configuration);
        return configuration;
      });
    found.catch(() => configurations.delete(key));
    configurations.set(key, found);
  }
  return found;
}

async function configurationOrRefuse(settings: OidcConfig): Promise<oidc.Configuration> {
  try {
    return await providerConfiguration(settings);
  } catch {
    throw new SsoRefused(502, "provider_unreachable", "The identity provider could not be reached", `Linkdesk could not read the identity provider's configuration at ${settings.issuer}. Try again in a moment; if it keeps failing, tell an administrator.`);
  }
}

function requireOidc(deps: LoginDeps): OidcConfig {
  if (!deps.config.oidc) throw new SsoRefused(404, "not_configured", "Single sign-on is not set up", "This console has no identity provider configured. Sign in with your email and password.");
  return deps.config.oidc;
}

export type SsoPurpose = "sign-in" | "step-up";

/** Whether this staff member can re-authenticate at the identity provider (for a step-up): SSO is on and the account is linked to it. */
export function canReauthenticateWithSso(deps: Pick<LoginDeps, "db" | "config">, staffUserId: number): boolean {
  if (!deps.config.oidc) return false;
  const account = deps.db.select({ ssoIssuer: staffUsers.ssoIssuer, ssoSubject: staffUsers.ssoSubject }).from(staffUsers).where(eq(staffUsers.id, staffUserId)).get();
  return Boolean(account?.ssoSubject) && account?.ssoIssuer === deps.config.oidc.issuer;
}

type FlowData = { state: string; nonce: string; codeVerifier: string; redirectUri: string; redirectTo: string };

/**
 * Starts a sign-in (or, for `step-up`, a re-authentication of the signed-in `staff`): stores the state, nonce and
 * PKCE verifier in a single-use flow and gives back the provider's authorization URL and the flow's id (for the
 * cookie). A step-up asks the provider for a fresh login (prompt=login, max_age=0).
 */
export async function startSso(
  deps: LoginDeps,
  input: { purpose: SsoPurpose; redirectUri: string; redirectTo: string; staff?: CurrentStaff | null },
): Promise<{ authorizationUrl: URL; flowId: string }> {
  const settings = requireOidc(deps);
  let staffUserId: number | null = null;
  if (input.purpose === "step-up") {
    if (!input.staff) throw new SsoRefused(400, "no_flow", "Sign in first", "Re-authentication through single sign-on is for a signed-in staff member. Sign in, then try the action again.");
    if (!canReauthenticateWithSso(deps, input.staff.id)) {
      throw new SsoRefused(400, "not_sso_account", "This account does not use single sign-on", "Your account is not linked to the identity provider, so it cannot re-authenticate there. Confirm with your second factor instead.");
    }
    staffUserId = input.staff.id;
  }
  const configuration = await configurationOrRefuse(settings);
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const data: FlowData = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier, redirectUri: input.redirectUri, redirectTo: safeRedirectPath(input.redirectTo) };
  const parameters: Record<string, string> = {
    redirect_uri: data.redirectUri,
    scope: `openid email profile${settings.roleClaim === "groups" ? " groups" : ""}`,
    response_type: "code",
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state: data.state,
    nonce: data.nonce,
    ...(input.purpose === "step-up" ? { prompt: "login", max_age: "0" } : {}),
  };
  const flowId = createAuthFlow(deps.db, { purpose: flowPurpose(input.purpose), staffUserId, data, ttlMs: SSO_FLOW_TTL_MS, now: deps.now() });
  return { authorizationUrl: oidc.buildAuthorizationUrl(configuration, parameters), flowId };
}

const flowPurpose = (purpose: SsoPurpose): AuthFlowPurpose => (purpose === "step-up" ? "oidc_step_up" : "oidc");

/** The role the provider's groups give, the most privileged mapped one winning (ROLE_PRECEDENCE); null for none. */
export function mappedRole(groups: readonly string[], roleMap: Readonly<Record<string, Role>>): Role | null {
  const roles = new Set(groups.filter((g) => Object.hasOwn(roleMap, g)).map((g) => roleMap[g]!));
  return ROLE_PRECEDENCE.find((role) => roles.has(role)) ?? null;
}

/** The claim's groups: a list of strings, or one string (some providers send a single value). */
export function groupsOf(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** What a failed exchange or check means, in the refusal the staff member sees. */
function refusalOf(error: unknown, issuer: string): SsoRefused {
  if (error instanceof oidc.AuthorizationResponseError) {
    const said = error.error_description ? `: ${error.error_description}` : ` (${error.error})`;
    return new SsoRefused(400, "provider_error", "The identity provider did not sign you in", `The identity provider answered with an error${said}. Start again from the sign-in page.`);
  }
  if (error instanceof oidc.ResponseBodyError) {
    return new SsoRefused(400, "token_refused", "The identity provider refused the sign-in", `The identity provider would not exchange this sign-in for tokens (${error.error}). Start again from the sign-in page.`);
  }
  // openid-client wraps the check that failed (its message names the claim or parameter) in a generic error.
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = inner instanceof Error ? inner.message : String(inner);
  const code = (error as { code?: string }).code;
  const startAgain = "Start again from the sign-in page.";
  if (message.includes('"state"')) return new SsoRefused(400, "state", "This sign-in could not be matched", `The answer from the identity provider does not belong to the sign-in this browser started (its state does not match). ${startAgain}`);
  if (message.includes('"nonce"')) return new SsoRefused(400, "nonce", "This sign-in could not be matched", `The identity provider's ID token was not issued for the sign-in this browser started (its nonce does not match). ${startAgain}`);
  if (message.includes("signature verification failed") || code === "OAUTH_KEY_SELECTION_FAILED") {
    return new SsoRefused(400, "signature", "The ID token could not be trusted", `The ID token's signature does not verify with the identity provider's published keys, so it was altered or not issued by ${issuer}. ${startAgain}`);
  }
  if (code === "OAUTH_INVALID_RESPONSE" || code === "OAUTH_JWT_CLAIM_COMPARISON_FAILED" || code === "OAUTH_JWT_TIMESTAMP_CHECK_FAILED" || code === "OAUTH_RESPONSE_IS_NOT_JSON" || code === "OAUTH_RESPONSE_IS_NOT_CONFORM" || code === "OAUTH_PARSE_ERROR") {
    return new SsoRefused(400, "id_token", "The ID token could not be accepted", `The identity provider's answer failed a check (${message}). ${startAgain}`);
  }
  return new SsoRefused(502, "provider_unreachable", "The identity provider could not be reached", `Linkdesk could not complete the sign-in with the identity provider (${message.slice(0, 200)}). Try again in a moment.`);
}

export type SsoOutcome =
  | { kind: "signed-in"; user: AuthenticatedStaff; redirectTo: string }
  | { kind: "stepped-up"; staffUserId: number; redirectTo: string };

type Claims = { sub: string; email: string | null; emailVerified: boolean | null; name: string | null; groups: string[] };

/**
 * Finishes the flow whose id the browser's cookie holds, with the provider's answer (`callbackQuery`, the query
 * string of the callback). The flow is used up whatever happens, so a replayed answer finds nothing. Every refusal is
 * an SsoRefused, audited (and counted by the sign-in throttle when the account's email is known).
 */
export async function finishSso(
  deps: LoginDeps,
  input: { flowId: string | null; callbackQuery: string; currentStaff: CurrentStaff | null },
): Promise<SsoOutcome> {
  const now = deps.now();
  const refuse = (refusal: SsoRefused, audit: { actor?: Actor; email?: string | null; details?: Record<string, unknown> } = {}): never => {
    recordAudit(deps.db, {
      actor: audit.actor ?? null,
      action: "staff.sso_refused",
      clientAddress: deps.clientAddress,
      details: { reason: refusal.reason, ...(audit.email ? { email: audit.email } : {}), ...audit.details },
      at: now,
    });
    if (audit.email && refusal.reason !== "throttled") recordLoginFailure(deps.db, { email: audit.email, clientAddress: deps.clientAddress, now, limits: deps.config.loginThrottle });
    throw refusal;
  };
  let settings: OidcConfig;
  try {
    settings = requireOidc(deps);
  } catch (error) {
    return refuse(error as SsoRefused);
  }
  let purpose: SsoPurpose = "sign-in";
  let flow = consumeAuthFlow(deps.db, input.flowId, "oidc", now);
  if (!flow) {
    flow = consumeAuthFlow(deps.db, input.flowId, "oidc_step_up", now);
    purpose = "step-up";
  }
  if (!flow) {
    return refuse(
      new SsoRefused(400, "no_flow", "This sign-in has expired or was already used", "Linkdesk has no sign-in in progress for this browser: it expired (after 10 minutes), was already completed, or was started in another browser. Start again from the sign-in page."),
    );
  }
  const data = flow.data as FlowData;
  const callbackUrl = new URL(data.redirectUri);
  callbackUrl.search = input.callbackQuery;
  let claims: Claims;
  try {
    const configuration = await configurationOrRefuse(settings);
    const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: data.codeVerifier,
      expectedState: data.state,
      expectedNonce: data.nonce,
      idTokenExpected: true,
      ...(purpose === "step-up" ? { maxAge: 0 } : {}),
    });
    const c = tokens.claims()!;
    claims = {
      sub: c.sub,
      email: typeof c.email === "string" ? c.email.trim().toLowerCase() : null,
      emailVerified: typeof c.email_verified === "boolean" ? c.email_verified : null,
      name: typeof c.name === "string" && c.name.trim() ? c.name.trim().slice(0, 200) : null,
      groups: groupsOf(c, settings.roleClaim),
    };
  } catch (error) {
    const refusal = error instanceof SsoRefused ? error : refusalOf(error, settings.issuer);
    return refuse(refusal, { details: { purpose, ...(refusal.reason === "provider_error" && error instanceof oidc.AuthorizationResponseError ? { code: error.error } : {}) } });
  }
  const identity = { issuer: settings.issuer, subject: claims.sub };

  if (purpose === "step-up") {
    const account = flow.staffUserId === null ? undefined : deps.db.select().from(staffUsers).where(eq(staffUsers.id, flow.staffUserId)).get();
    const actor = account && isRole(account.role) ? { id: account.id, email: account.email, role: account.role } : null;
    if (!account || !input.currentStaff || input.currentStaff.id !== account.id) {
      return refuse(new SsoRefused(400, "no_flow", "Sign in again", "The session that started this re-authentication is no longer signed in here. Sign in, then try the action again."), { actor, details: { purpose } });
    }
    if (account.ssoIssuer !== identity.issuer || account.ssoSubject !== identity.subject) {
      return refuse(
        new SsoRefused(403, "other_account", "That was a different account", `You re-authenticated at the identity provider as someone other than ${account.email}. Confirm as yourself: sign in at the identity provider with your own account.`),
        { actor, email: account.email, details: { purpose, subject: identity.subject } },
      );
    }
    markSessionVerified(deps.db, input.currentStaff.sessionIdHash, now);
    recordAudit(deps.db, { actor, action: "staff.sso_step_up", clientAddress: deps.clientAddress, at: now });
    return { kind: "stepped-up", staffUserId: account.id, redirectTo: data.redirectTo };
  }

  const linked = deps.db.select().from(staffUsers).where(and(eq(staffUsers.ssoIssuer, identity.issuer), eq(staffUsers.ssoSubject, identity.subject))).get();
  const email = linked?.email ?? claims.email;
  const base = { email, details: { subject: identity.subject, groups: claims.groups } };
  if (email) {
    const throttle = checkLoginThrottle(deps.db, { email, clientAddress: deps.clientAddress, now, limits: deps.config.loginThrottle });
    if (throttle.limited) {
      const minutes = Math.ceil(throttle.retryAfterSeconds / 60);
      return refuse(new SsoRefused(429, "throttled", "Too many refused sign-ins", `Too many sign-ins for this account were refused recently. Wait ${minutes} minute${minutes === 1 ? "" : "s"} and try again.`, throttle.retryAfterSeconds), base);
    }
  }
  const role = mappedRole(claims.groups, settings.roleMap);
  if (!role) {
    const mapped = Object.keys(settings.roleMap).join(", ");
    return refuse(
      new SsoRefused(403, "unmapped_group", "Your account has no Linkdesk role", `The identity provider signed you in${email ? ` as ${email}` : ""}, but none of your groups gives a Linkdesk role. Ask your identity provider's administrator to add you to one of these groups: ${mapped}.`),
      base,
    );
  }
  let user = linked;
  if (!user) {
    if (!claims.email) {
      return refuse(new SsoRefused(403, "no_email", "The identity provider did not share your email", "Linkdesk needs your email address from the identity provider to find or create your staff account. Ask your identity provider's administrator to release the email claim to Linkdesk."), base);
    }
    if (claims.emailVerified === false) {
      return refuse(new SsoRefused(403, "email_unverified", "Your email address is not verified", `The identity provider says ${claims.email} is not verified, so it cannot be matched to a staff account. Verify it with your identity provider, then sign in again.`), base);
    }
    const byEmail = deps.db.select().from(staffUsers).where(eq(staffUsers.email, claims.email)).get();
    if (byEmail?.ssoSubject) {
      return refuse(
        new SsoRefused(403, "linked_elsewhere", "This email belongs to another sign-in", `The staff account ${claims.email} is already linked to a different identity at the identity provider. Ask a Linkdesk administrator to check the account.`),
        base,
      );
    }
    if (!byEmail && settings.provisioning === "invite") {
      return refuse(
        new SsoRefused(403, "not_invited", "You have not been invited to Linkdesk", `There is no staff account for ${claims.email}. Ask a Linkdesk administrator to invite you (create a staff account with this email); then sign in with SSO again.`),
        base,
      );
    }
    user = deps.db.transaction((tx) => {
      if (byEmail) {
        tx.update(staffUsers).set({ ssoIssuer: identity.issuer, ssoSubject: identity.subject, updatedAt: now }).where(eq(staffUsers.id, byEmail.id)).run();
        const actor = isRole(byEmail.role) ? { id: byEmail.id, email: byEmail.email, role: byEmail.role } : null;
        recordAudit(tx, { actor, action: "staff.sso_link", targetType: "staff", targetId: byEmail.id, clientAddress: deps.clientAddress, details: { email: byEmail.email, subject: identity.subject }, at: now });
        return { ...byEmail, ssoIssuer: identity.issuer, ssoSubject: identity.subject };
      }
      const created = tx
        .insert(staffUsers)
        .values({ email: claims.email!, name: claims.name ?? claims.email!, role, passwordHash: "", passwordChangedAt: now, ssoIssuer: identity.issuer, ssoSubject: identity.subject, createdAt: now, updatedAt: now })
        .returning()
        .get();
      recordAudit(tx, { actor: { id: created.id, email: created.email, role }, action: "staff.sso_create", targetType: "staff", targetId: created.id, clientAddress: deps.clientAddress, details: { email: created.email, role, groups: claims.groups }, at: now });
      return created;
    });
  }
  if (user.disabledAt) {
    return refuse(new SsoRefused(403, "disabled", "This staff account is disabled", `The staff account ${user.email} has been disabled in Linkdesk. Ask a Linkdesk administrator if you think it should not be.`), { ...base, email: user.email });
  }
  if (user.role !== role) {
    const from = user.role;
    deps.db.transaction((tx) => {
      tx.update(staffUsers).set({ role, updatedAt: now }).where(eq(staffUsers.id, user.id)).run();
      recordAudit(tx, { actor: { id: user.id, email: user.email, role }, action: "staff.sso_role_change", targetType: "staff", targetId: user.id, clientAddress: deps.clientAddress, details: { email: user.email, from, to: role, groups: claims.groups }, at: now });
    });
  }
  clearLoginFailures(deps.db, user.email, deps.clientAddress);
  return { kind: "signed-in", user: { id: user.id, email: user.email, role }, redirectTo: data.redirectTo };
}

/** The callback address for this request: on the public origin the browser is on, so the flow's cookie comes back. */
export function redirectUriFor(request: Request, publicOrigins: readonly string[], callbackPath: string): string {
  const origin = new URL(request.url).origin.toLowerCase();
  return `${publicOrigins.includes(origin) ? origin : (publicOrigins[0] ?? origin)}${callbackPath}`;
}
