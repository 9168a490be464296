import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { request } from "undici";
import type { SimClock } from "../shared/clock";
import { FaultSet } from "../shared/faults";
import { header, safeJson, startSimServer, type RunningSim, type SimRequest, type SimResponse } from "../shared/http";
import { seedCustomers, type SeededCustomer } from "./seed";
import { CardlyticsState, type SimAccount } from "./state";

export type CardlyticsSimulatorOptions = {
  port?: number;
  host?: string;
  clock: SimClock;
  faults?: FaultSet;
  clientId: string;
  secret: string;
  customerIdHmacKey: string;
  seed?: boolean;
  /** Where processor tokens are checked, with Cardlytics' own Plaid credentials. */
  plaid: { baseUrl: string; clientId: string; secret: string };
  /** Cardlytics answers bad credentials with a 500; 401 is there to test clients against a fixed vendor. */
  badCredentialsStatus?: 500 | 401;
};

export type CardlyticsSimulator = RunningSim & { state: CardlyticsState; seeded: SeededCustomer[] };

const SESSION_LIFETIME_MS = 15 * 60_000;
const HASH = /^[0-9a-f]{64}$/;
const NO_USER = "no-user-available";
const DAY = 86_400_000;
const FI_NAMES: Record<string, string> = {
  ins_109508: "First Platypus Bank",
  ins_109509: "First Gingham Credit Union",
  ins_109510: "Tattersall Federal Credit Union",
  ins_109511: "Tartan Bank",
  ins_109512: "Houndstooth Bank",
};

class Refusal extends Error {
  constructor(readonly response: SimResponse) {
    super("refused");
  }
}

const TITLES: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" };

function problem(status: number, type: string, validationErrors?: { field: string; message: string }[]): SimResponse {
  return { status, body: { type, title: TITLES[status] ?? "Error", status, ...(validationErrors ? { validationErrors } : {}) } };
}
const refuse = (...args: Parameters<typeof problem>): never => {
  throw new Refusal(problem(...args));
};

function sameSecret(a: unknown, b: string): boolean {
  if (typeof a !== "string") return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startCardlyticsSimulator(options: CardlyticsSimulatorOptions): Promise<CardlyticsSimulator> {
  const state = new CardlyticsState();
  const faults = options.faults ?? new FaultSet();
  const seeded = options.seed === false ? [] : seedCustomers(state, options.customerIdHmacKey, options.clock.now());

  function customerIdOf(req: SimRequest): string {
    const id = header(req, "x-source-customer-id");
    if (!id) refuse(400, "ValidationException", [{ field: "x-source-customer-id", message: "x-source-customer-id header is required" }]);
    if (id !== NO_USER && !HASH.test(id!)) {
      refuse(400, "ValidationException", [{ field: "x-source-customer-id", message: "must be the 64-character lowercase hex digest of the customer id, or no-user-available" }]);
    }
    return id!;
  }

  /** The bearer token must be live and issued for the same x-source-customer-id. */
  function authorize(req: SimRequest): string {
    const customerId = customerIdOf(req);
    const token = /^Bearer (.+)$/.exec(header(req, "authorization") ?? "")?.[1];
    const session = token ? state.sessions.get(token) : undefined;
    if (!session || session.expiresAt <= options.clock.now() || faults.effective(req.path).expireTokens) {
      refuse(401, "SessionValidationException", []);
    }
    if (session!.customerId !== customerId) refuse(403, "CustomerMismatch");
    return customerId;
  }

  const wire = (a: SimAccount) => ({
    accountId: a.accountId,
    status: a.status,
    last4: a.last4,
    cardType: a.cardType,
    name: a.name,
    linkedDate: a.linkedDate,
    expirationDate: String(a.expirationDate),
    fiName: a.fiName,
    fiLogo: a.fiLogo,
  });

  function accountLinkResponse(accounts: SimAccount[]): SimResponse {
    return accounts.length ? { status: 200, body: { accountLinks: [], accounts: accounts.map(wire) } } : { status: 204 };
  }

  const mockAccount = (): SimAccount => ({
    accountId: "mock-account-0001",
    status: "OPEN",
    last4: "1234",
    cardType: "checking",
    name: "Mock Checking",
    linkedDate: new Date(options.clock.now() - 30 * DAY).toISOString(),
    expirationDate: options.clock.now() + 335 * DAY,
    fiName: "Mock Bank",
    fiLogo: "",
  });

  async function connect(req: SimRequest, customerId: string): Promise<SimResponse> {
    const body = safeJson(req.rawBody) as { processorToken?: unknown } | undefined;
    if (!body || typeof body !== "object") refuse(400, "HttpMessageNotReadable");
    const token = body!.processorToken;
    if (typeof token !== "string" || !/^processor-[a-z]+-/.test(token)) {
      refuse(400, "ValidationException", [{ field: "processorToken", message: "processorToken must be a Plaid processor token (processor-<environment>-<id>)" }]);
    }
    const boundTo = state.processorTokens.get(token as string);
    if (boundTo && boundTo !== customerId) refuse(409, "Conflict");
    let plaid: { statusCode: number; body: { json(): Promise<unknown>; dump(): Promise<void> } };
    try {
      plaid = await request(`${options.plaid.baseUrl}/processor/account/get`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: options.plaid.clientId, secret: options.plaid.secret, processor_token: token }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
    } catch {
      return refuse(502, "UpstreamUnavailable");
    }
    if (plaid.statusCode >= 500) {
      await plaid.body.dump();
      refuse(502, "UpstreamUnavailable");
    }
    const answer = (await plaid.body.json()) as { account?: { account_id: string; mask: string | null; name: string; subtype: string | null }; institution_id?: string; error_code?: string };
    if (plaid.statusCode !== 200 || !answer.account) {
      refuse(400, "ValidationException", [{ field: "processorToken", message: `Plaid refused the processor token (${answer.error_code ?? plaid.statusCode})` }]);
    }
    const accounts = state.customers.get(customerId) ?? [];
    if (!accounts.some((a) => a.processorToken === token)) {
      const now = options.clock.now();
      accounts.push({
        accountId: answer.account!.account_id,
        status: "OPEN",
        last4: answer.account!.mask ?? "",
        cardType: answer.account!.subtype ?? "checking",
        name: answer.account!.name,
        linkedDate: new Date(now).toISOString(),
        expirationDate: now + 365 * DAY,
        fiName: FI_NAMES[answer.institution_id ?? ""] ?? answer.institution_id ?? "Unknown institution",
        fiLogo: "",
        processorToken: token as string,
      });
      state.customers.set(customerId, accounts);
      state.processorTokens.set(token as string, customerId);
    }
    return { status: 200, body: { accountLinks: [], accounts: accounts.map(wire) } };
  }

  const routes: Record<string, Partial<Record<string, (req: SimRequest) => Promise<SimResponse> | SimResponse>>> = {
    "/v2/session/startSession": {
      POST: (req) => {
        const customerId = customerIdOf(req);
        const body = safeJson(req.rawBody);
        if (!body || typeof body !== "object" || Array.isArray(body)) refuse(400, "HttpMessageNotReadable");
        const { clientId, secret } = body as { clientId?: unknown; secret?: unknown };
        for (const [field, value] of [["clientId", clientId], ["secret", secret]] as const) {
          if (typeof value !== "string" || !value) refuse(400, "ValidationException", [{ field, message: `${field} is required` }]);
        }
        if (!sameSecret(clientId, options.clientId) || !sameSecret(secret, options.secret)) {
          refuse(options.badCredentialsStatus ?? 500, options.badCredentialsStatus === 401 ? "Unauthorized" : "InternalServerError");
        }
        const token = randomBytes(32).toString("base64url");
        state.sessions.set(token, { token, customerId, expiresAt: options.clock.now() + SESSION_LIFETIME_MS });
        return { status: 200, body: { sessionToken: token } };
      },
    },
    "/v2/data/accountLink": {
      GET: (req) => {
        const customerId = authorize(req);
        if ((header(req, "x-mock-data") ?? "").toLowerCase() === "true") return accountLinkResponse([mockAccount()]);
        if (customerId === NO_USER) return { status: 204 };
        return accountLinkResponse(state.customers.get(customerId) ?? []);
      },
    },
    "/v2/data/connections": { POST: (req) => connect(req, authorize(req)) },
  };

  function unlink(req: SimRequest): SimResponse | undefined {
    const match = /^\/v2\/data\/accountLink\/([^/]+)$/.exec(req.path);
    if (!match) return undefined;
    if (req.method !== "DELETE") refuse(405, "MethodNotAllowed");
    const customerId = authorize(req);
    const accounts = state.customers.get(customerId) ?? [];
    const remaining = accounts.filter((a) => a.accountId !== decodeURIComponent(match[1]!));
    if (remaining.length === accounts.length) refuse(404, "NotFound");
    state.customers.set(customerId, remaining);
    return { status: 204 };
  }

  // Every answer carries a requestId: the caller's X-CDLX-Request-Id when it sent one.
  function withRequestId(req: SimRequest, res: SimResponse): SimResponse {
    const requestId = header(req, "x-cdlx-request-id") ?? randomUUID();
    const body = res.body && typeof res.body === "object" ? { ...(res.body as object), requestId } : res.body;
    return { ...res, body, headers: { ...res.headers, "x-cdlx-request-id": requestId } };
  }

  async function handle(req: SimRequest): Promise<SimResponse> {
    try {
      const route = routes[req.path];
      if (route) {
        const handler = route[req.method];
        return withRequestId(req, handler ? await handler(req) : problem(405, "MethodNotAllowed"));
      }
      return withRequestId(req, unlink(req) ?? problem(404, "NotFound"));
    } catch (error) {
      if (error instanceof Refusal) return withRequestId(req, error.response);
      throw error;
    }
  }

  function control(req: SimRequest): SimResponse | undefined {
    if (req.path !== "/__sim/cardlytics/customers") return undefined;
    if (req.method === "GET") return { status: 200, body: { customers: Object.fromEntries(state.customers), seeded } };
    if (req.method === "POST") {
      const body = safeJson(req.rawBody) as { customerId?: unknown; accounts?: unknown } | undefined;
      if (!body || typeof body.customerId !== "string" || !HASH.test(body.customerId) || !Array.isArray(body.accounts)) {
        return { status: 400, body: { error: "send {customerId: <64 hex>, accounts: [{status, expirationDate (epoch ms), ...}]}" } };
      }
      const now = options.clock.now();
      const accounts = (body.accounts as Partial<SimAccount>[]).map((a) => ({ ...mockAccount(), accountId: randomBytes(12).toString("hex"), fiName: "First Platypus Bank", name: "Everyday Checking", linkedDate: new Date(now).toISOString(), ...a }));
      state.customers.set(body.customerId, accounts);
      return { status: 200, body: { customerId: body.customerId, accounts } };
    }
    return undefined;
  }

  const running = await startSimServer({
    port: options.port ?? 0,
    host: options.host,
    faults,
    clock: options.clock,
    handle,
    control,
    faultResponse: (decision, req) => withRequestId(req, decision.outcome === "rate-limit" ? problem(429, "TooManyRequests") : problem(503, "ServiceUnavailable")),
  });
  return { ...running, state, seeded };
}
