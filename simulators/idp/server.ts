import { generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { interactionPolicy } from "oidc-provider";
import type { Role } from "../../app/staff/permissions";

// The local identity provider: a real OpenID Connect provider (the `oidc-provider` package) on loopback, with a few
// demo identities in different groups and a sign-in form of its own. The demo and the tests sign in to the console
// through it exactly as through Okta or Entra ID: the authorization code flow, PKCE, signed ID tokens, its JWKS.

export type IdpIdentity = { username: string; password: string; name: string; email: string; groups: string[]; emailVerified?: boolean };

/** Demo identities: one per role group, one in two groups (the more privileged role wins), one in no mapped group. */
export const DEMO_IDENTITIES: readonly IdpIdentity[] = [
  { username: "ada", password: "ada-sso-pass", name: "Ada Admin", email: "ada@sso.linkdesk.test", groups: ["linkdesk-admins", "everyone"] },
  { username: "otto", password: "otto-sso-pass", name: "Otto Ops", email: "otto@sso.linkdesk.test", groups: ["linkdesk-ops", "everyone"] },
  { username: "sam", password: "sam-sso-pass", name: "Sam Support", email: "sam@sso.linkdesk.test", groups: ["linkdesk-support", "everyone"] },
  { username: "pia", password: "pia-sso-pass", name: "Pia Product", email: "pia@sso.linkdesk.test", groups: ["linkdesk-product", "everyone"] },
  { username: "max", password: "max-sso-pass", name: "Max Multi", email: "max@sso.linkdesk.test", groups: ["linkdesk-support", "linkdesk-ops", "everyone"] },
  { username: "nora", password: "nora-sso-pass", name: "Nora Nobody", email: "nora@sso.linkdesk.test", groups: ["everyone"] },
];

/** The console's OIDC_ROLE_MAP for the demo groups ("everyone" is mapped to nothing). */
export const DEMO_ROLE_MAP: Readonly<Record<string, Role>> = {
  "linkdesk-admins": "admin",
  "linkdesk-ops": "ops",
  "linkdesk-support": "support",
  "linkdesk-product": "pm",
};

export type IdpClient = { clientId: string; clientSecret: string; redirectUris: string[] };

export type RunningIdp = {
  url: string;
  /** The issuer identifier (its own address unless one was given, e.g. a proxy's in front of it). */
  issuer: string;
  client: IdpClient;
  /** Live: a test may change an identity's groups or add one, and the next sign-in sees it. */
  identities: IdpIdentity[];
  close: () => Promise<void>;
};

// The provider's stored artifacts (interactions, codes, sessions, grants), in memory: the simulator keeps nothing
// across restarts, and a restart is a fresh provider with a fresh key anyway.
type Stored = { payload: Record<string, unknown>; expiresAt: number };
function memoryAdapter() {
  const store = new Map<string, Stored>();
  const live = (key: string) => {
    const found = store.get(key);
    if (found && found.expiresAt <= Date.now()) store.delete(key);
    return found && found.expiresAt > Date.now() ? found : undefined;
  };
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    private key = (id: string) => `${this.model}:${id}`;
    async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
      store.set(this.key(id), { payload, expiresAt: Date.now() + expiresIn * 1000 });
    }
    async find(id: string) {
      return live(this.key(id))?.payload;
    }
    async findByUid(uid: string) {
      for (const [key, value] of store) if (key.startsWith(`${this.model}:`) && value.payload.uid === uid) return live(key)?.payload;
      return undefined;
    }
    async findByUserCode(userCode: string) {
      for (const [key, value] of store) if (key.startsWith(`${this.model}:`) && value.payload.userCode === userCode) return live(key)?.payload;
      return undefined;
    }
    async consume(id: string) {
      const found = live(this.key(id));
      if (found) found.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key, value] of store) if (value.payload.grantId === grantId) store.delete(key);
    }
  };
}

const subjectOf = (username: string) => `idp-${username}`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Linkdesk demo identity provider</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#0f172a}
label{display:block;margin-top:1rem;font-weight:600}input{display:block;width:100%;padding:.5rem;margin-top:.25rem;box-sizing:border-box;border:1px solid #64748b;border-radius:.25rem}
.buttons{display:flex;gap:.5rem;margin-top:1.5rem}button{padding:.5rem 1rem;border-radius:.25rem;border:1px solid #334155;background:#fff;font-size:1rem}
button.primary{background:#4338ca;color:#fff;border-color:#4338ca}.error{color:#b91c1c;border:1px solid #b91c1c;padding:.5rem;border-radius:.25rem}.hint{color:#475569;font-size:.9rem}</style>
</head><body><main>${body}</main></body></html>`;
}

function loginPage(uid: string, clientId: string, opts: { error?: string; username?: string; reauth?: boolean }): string {
  return page(
    "Sign in",
    `<h1>Demo identity provider</h1>
<p>Sign in to continue to <strong>${escapeHtml(clientId)}</strong>${opts.reauth ? " (confirm it is you)" : ""}.</p>
${opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus value="${escapeHtml(opts.username ?? "")}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="buttons"><button class="primary" type="submit">Sign in</button><button type="submit" formaction="/interaction/${escapeHtml(uid)}/cancel" formnovalidate>Cancel</button></div>
</form>
<p class="hint">The demo identities and their passwords are listed in the console's start-up banner.</p>`,
  );
}

function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) reject(new Error("body too large"));
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "X-Frame-Options": "DENY" }).end(html);
}

/**
 * Starts the provider on loopback (a random port unless one is given). Its signing key and cookie keys are made at
 * start. The one client is the console, registered with the given redirect URIs (a secret is made unless given).
 * It keeps no sign-in session of its own: every authorization asks for the username and password again, so the
 * demo can switch identities after signing out of the console.
 */
export async function startIdentityProvider(options: {
  redirectUris: string[];
  port?: number;
  host?: string;
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
  identities?: IdpIdentity[];
}): Promise<RunningIdp> {
  const identities = (options.identities ?? DEMO_IDENTITIES).map((i) => ({ ...i, groups: [...i.groups] }));
  const client: IdpClient = { clientId: options.clientId ?? "linkdesk-console", clientSecret: options.clientSecret ?? randomBytes(24).toString("base64url"), redirectUris: [...options.redirectUris] };
  const host = options.host ?? "127.0.0.1";
  let provider: Provider | null = null;
  const server = createServer((req, res) => {
    if (!provider) return send(res, 503, page("Starting", "<p>The identity provider is starting.</p>"));
    const p = provider;
    const path = new URL(req.url ?? "/", "http://idp.invalid").pathname;
    const interaction = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/cancel)?$/.exec(path);
    if (!interaction) return p.callback()(req, res);
    void handleInteraction(p, req, res, interaction[2] ?? "").catch(() => {
      if (!res.headersSent) send(res, 400, page("Sign-in expired", '<h1>This sign-in has expired</h1><p role="alert">Go back to Linkdesk and start the sign-in again.</p>'));
    });
  });

  async function handleInteraction(p: Provider, req: IncomingMessage, res: ServerResponse, step: string): Promise<void> {
    const details = await p.interactionDetails(req, res);
    const clientId = String(details.params.client_id ?? "");
    if (step === "" && req.method === "GET") {
      if (details.prompt.name === "consent") return consent(p, req, res, details.session?.accountId ?? "", details);
      return send(res, 200, loginPage(details.uid, clientId, { reauth: details.params.prompt === "login" }));
    }
    if (req.method !== "POST") return send(res, 405, page("Not allowed", "<p>Use the sign-in form.</p>"));
    const form = await readBody(req);
    if (step === "/cancel") {
      return p.interactionFinished(req, res, { error: "access_denied", error_description: "The sign-in was cancelled at the identity provider" }, { mergeWithLastSubmission: false });
    }
    const username = (form.get("username") ?? "").trim().toLowerCase();
    const identity = identities.find((i) => i.username === username);
    if (!identity || !sameSecret(form.get("password") ?? "", identity.password)) {
      return send(res, 401, loginPage(details.uid, clientId, { error: "That username and password do not match a demo identity.", username }));
    }
    const grant = new p.Grant({ accountId: subjectOf(identity.username), clientId });
    grant.addOIDCScope(String(details.params.scope ?? "openid"));
    const grantId = await grant.save();
    return p.interactionFinished(req, res, { login: { accountId: subjectOf(identity.username) }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  // The console is this provider's own first-party client: what it asks for is granted without a consent screen.
  async function consent(p: Provider, req: IncomingMessage, res: ServerResponse, accountId: string, details: Awaited<ReturnType<Provider["interactionDetails"]>>) {
    const clientId = String(details.params.client_id ?? "");
    const grant = (details.grantId ? await p.Grant.find(details.grantId) : undefined) ?? new p.Grant({ accountId, clientId });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(" "));
    const grantId = await grant.save();
    return p.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const issuer = options.issuer ?? url;

  const signingKey = { ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), kid: randomBytes(8).toString("hex"), use: "sig", alg: "RS256" };
  const policy = interactionPolicy.base();
  policy.get("login")!.checks.add(
    new interactionPolicy.Check("login_every_time", "This identity provider asks for a login on every authorization", (ctx) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: client.redirectUris,
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    adapter: memoryAdapter(),
    jwks: { keys: [signingKey] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    scopes: ["openid", "email", "profile", "groups"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
    // Groups, email and name in the ID token itself, as Okta and Entra ID can be set up to send them.
    conformIdTokenClaims: false,
    responseTypes: ["code"],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: false } },
    interactions: { policy, url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    clientBasedCORS: () => false,
    findAccount: (_ctx: unknown, sub: string) => {
      const identity = identities.find((i) => subjectOf(i.username) === sub);
      if (!identity) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, email: identity.email, email_verified: identity.emailVerified ?? true, name: identity.name, groups: [...identity.groups] }),
      };
    },
    renderError: (ctx: { type: string; body: string; status: number }, out: { error?: string; error_description?: string }) => {
      ctx.type = "html";
      ctx.body = page("Error", `<h1>The identity provider refused this request</h1><p role="alert">${escapeHtml(out.error_description ?? out.error ?? "Unknown error")}</p>`);
    },
  });

  return {
    url,
    issuer,
    client,
    identities,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
