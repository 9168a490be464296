import { randomBytes, timingSafeEqual } from "node:crypto";
import type { SimClock } from "../shared/clock";
import { FaultSet } from "../shared/faults";
import { header, safeJson, startSimServer, type RunningSim, type SimRequest, type SimResponse } from "../shared/http";
import { connect, type PlaidUpstream } from "./connections";
import { CUSTOMER_HASH, customerControl } from "./control";
import { accountLinkBody, invalid, problem, Refusal, refuse, withRequestId } from "./responses";
import { seedCustomers, type SeededCustomer } from "./seed";
import { TransactionPuller } from "./pulls";
import { CardlyticsState, DEFAULT_CARDLYTICS_SETTINGS, readCardlyticsSettings, SESSION_LIFETIME_MS, type CardlyticsSimSettings, type SimAccount } from "./state";

export type CardlyticsSimulatorOptions = {
  /** 0 picks any free port. */
  port?: number;
  host?: string;
  clock: SimClock;
  faults?: FaultSet;
  clientId: string;
  secret: string;
  customerIdHmacKey: string;
  /** Seeds the demo customers; default true. */
  seed?: boolean;
  plaid: PlaidUpstream;
  /** Cardlytics answers bad credentials with a 500; 401 is there to test clients against a fixed vendor. */
  badCredentialsStatus?: 500 | 401;
  /** Where the documents are silent: see CardlyticsSimSettings; also SIM_CARDLYTICS_SETTINGS and /__sim/cardlytics/settings. */
  settings?: Partial<CardlyticsSimSettings>;
};

export type CardlyticsSimulator = RunningSim & { state: CardlyticsState; seeded: SeededCustomer[]; settings: CardlyticsSimSettings; puller: TransactionPuller };

// Printable ASCII, no spaces: what fits in a header as an id.
const ANY_CUSTOMER_ID = /^[\x21-\x7e]{1,256}$/;

type Handler = (req: SimRequest) => Promise<SimResponse> | SimResponse;

const NO_USER = "no-user-available";
const DAY = 86_400_000;
const UNLINK_PATH = /^\/v2\/data\/accountLink\/([^/]+)$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The documents call x-source-customer-id a string, obfuscated "preferably" with HMAC-SHA-256: by default any id
 * is taken, so a backend that sends the wrong hash (or a raw id) gets a silent 204. "hmac-hex" refuses anything but
 * 64 lowercase hex characters.
 */
function customerIdOf(req: SimRequest, settings: CardlyticsSimSettings): string {
  const id = header(req, "x-source-customer-id");
  if (!id) invalid("x-source-customer-id", "the x-source-customer-id header is required");
  if (id === NO_USER) return id;
  if (settings.customerIdFormat === "hmac-hex" && !CUSTOMER_HASH.test(id)) {
    invalid("x-source-customer-id", "must be the 64-character lowercase hex HMAC-SHA-256 of the customer id, or no-user-available");
  }
  if (!ANY_CUSTOMER_ID.test(id)) invalid("x-source-customer-id", "must be 1 to 256 printable characters without spaces");
  return id;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export async function startCardlyticsSimulator(options: CardlyticsSimulatorOptions): Promise<CardlyticsSimulator> {
  const { clock } = options;
  const state = new CardlyticsState();
  const faults = options.faults ?? new FaultSet();
  const seeded = options.seed === false ? [] : seedCustomers(state, options.customerIdHmacKey, clock.now());
  const settings: CardlyticsSimSettings = { ...DEFAULT_CARDLYTICS_SETTINGS, ...readCardlyticsSettings(options.settings ?? {}) };
  const puller = new TransactionPuller(state, clock, options.plaid, settings);
  puller.schedule();

  function startSession(req: SimRequest): SimResponse {
    const customerId = customerIdOf(req, settings);
    const body = safeJson(req.rawBody);
    if (!body || typeof body !== "object" || Array.isArray(body)) refuse(400, "HttpMessageNotReadable");
    const { clientId, secret } = body as Record<string, unknown>;
    if (typeof clientId !== "string" || !clientId) invalid("clientId", "clientId is required");
    if (typeof secret !== "string" || !secret) invalid("secret", "secret is required");
    if (!sameSecret(clientId, options.clientId) || !sameSecret(secret, options.secret)) {
      if (options.badCredentialsStatus === 401) refuse(401, "Unauthorized");
      refuse(500, "InternalServerError"); // what Cardlytics documents: nothing that says the credentials were wrong
    }
    const token = randomBytes(32).toString("base64url");
    const now = clock.now();
    state.addSession({ token, customerId, clientId, issuedAt: now, expiresAt: now + SESSION_LIFETIME_MS }, now);
    return { status: 200, body: { sessionToken: token } };
  }

  /** The bearer token must be live and issued for the same x-source-customer-id; a 401 never says "expired". */
  function authorize(req: SimRequest): string {
    const customerId = customerIdOf(req, settings);
    const token = /^bearer\s+(\S+)\s*$/i.exec(header(req, "authorization") ?? "")?.[1];
    const session = token ? state.sessions.get(token) : undefined;
    if (!session || session.expiresAt <= clock.now() || faults.effective(req.path).expireTokens) {
      refuse(401, "SessionValidationException", []);
    }
    // Not documented: by default the same 401 as any bad token; 403 CustomerMismatch as a setting.
    if (session.customerId !== customerId) {
      if (settings.otherCustomerToken === 403) refuse(403, "CustomerMismatch");
      refuse(401, "SessionValidationException", []);
    }
    return customerId;
  }

  const mockAccount = (): SimAccount => ({
    accountId: "mock-account-0001",
    status: "OPEN",
    last4: "1234",
    cardType: "checking",
    name: "Mock Checking",
    linkedDate: new Date(clock.now() - 30 * DAY).toISOString(),
    expirationDate: clock.now() + 335 * DAY,
    fiName: "Mock Bank",
    fiLogo: null,
  });

  function accountLink(req: SimRequest): SimResponse {
    const customerId = authorize(req);
    const accounts = (header(req, "x-mock-data") ?? "").toLowerCase() === "true" ? [mockAccount()] : state.accountsOf(customerId);
    return accounts.length ? { status: 200, body: accountLinkBody(accounts, settings.missingFiLogo) } : { status: 204 };
  }

  function unlink(req: SimRequest, accountId: string | undefined): SimResponse {
    const customerId = authorize(req);
    const accounts = state.accountsOf(customerId);
    const remaining = accounts.filter((a) => a.accountId !== accountId);
    if (remaining.length === accounts.length) refuse(404, "NotFound");
    state.customers.set(customerId, remaining);
    return { status: 204 };
  }

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    "/v2/session/startSession": { POST: startSession },
    "/v2/data/accountLink": { GET: accountLink },
    "/v2/data/connections": {
      POST: (req) => {
        const customerId = authorize(req);
        if (customerId === NO_USER) invalid("x-source-customer-id", "no-user-available cannot hold accounts");
        return connect({ state, clock, plaid: options.plaid, settings }, req, customerId);
      },
    },
  };

  function route(req: SimRequest): Partial<Record<string, Handler>> | undefined {
    const unlinkMatch = UNLINK_PATH.exec(req.path);
    if (unlinkMatch) return { DELETE: (r) => unlink(r, decodeSegment(unlinkMatch[1]!)) };
    return routes[req.path];
  }

  async function handle(req: SimRequest): Promise<SimResponse> {
    try {
      const methods = route(req);
      if (!methods) return withRequestId(req, problem(404, "NotFound"));
      const handler = methods[req.method];
      if (!handler) {
        const refused = problem(405, "MethodNotAllowed");
        return withRequestId(req, { ...refused, headers: { allow: Object.keys(methods).join(", ") } });
      }
      return withRequestId(req, await handler(req));
    } catch (error) {
      if (error instanceof Refusal) return withRequestId(req, error.response);
      throw error;
    }
  }

  const running = await startSimServer({
    port: options.port ?? 0,
    host: options.host,
    faults,
    clock,
    handle,
    control: async (req) => {
      if (req.path === "/__sim/cardlytics/settings") {
        if (req.method === "GET") return { status: 200, body: { settings } };
        if (req.method !== "POST") return { status: 405, body: { error: "GET or POST" }, headers: { allow: "GET, POST" } };
        try {
          Object.assign(settings, readCardlyticsSettings(safeJson(req.rawBody)));
        } catch (error) {
          return { status: 400, body: { error: (error as Error).message } };
        }
        puller.schedule();
        return { status: 200, body: { settings } };
      }
      if (req.path === "/__sim/cardlytics/pull" && req.method === "POST") {
        puller.pullAll();
        await puller.idle();
        const pulls = [...state.customers].flatMap(([customerId, accounts]) => accounts.filter((a) => a.processorToken).map((a) => ({ customerId, accountId: a.accountId, status: a.status, pull: a.pull ?? null })));
        return { status: 200, body: { pulls } };
      }
      return customerControl(state, clock, seeded)(req);
    },
    faultResponse: (decision, req) =>
      withRequestId(req, decision.outcome === "rate-limit" ? problem(429, "TooManyRequests") : problem(503, "ServiceUnavailable")),
  });
  return {
    ...running,
    state,
    seeded,
    settings,
    puller,
    close: async () => {
      puller.stop();
      await puller.idle();
      await running.close();
    },
  };
}
