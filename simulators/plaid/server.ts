import { timingSafeEqual } from "node:crypto";
import { SystemClock, type SimClock } from "../shared/clock";
import { FaultSet } from "../shared/faults";
import { header, safeJson, startSimServer, type RunningSim, type SimRequest, type SimResponse } from "../shared/http";
import { API_VERSIONS, DEFAULT_CLIENT_SETTINGS, type PlaidClient, type PlaidClientSettings, type PlaidSimSettings, type SimContext } from "./context";
import { craHandlers } from "./cra";
import { invalidRequest, plaidError, PlaidFailure, invalidInput } from "./errors";
import { itemHandlers } from "./items";
import { linkHandlers, runLinkSession, type LinkSessionInput } from "./link";
import { processorHandlers } from "./processor";
import { PlaidState } from "./state";
import { KeyRing, WebhookSender } from "./webhooks";

export type PlaidSimulatorOptions = {
  port?: number;
  host?: string;
  clock?: SimClock;
  faults?: FaultSet;
  /** The primary client's keys; `client` holds its Dashboard-side settings. */
  clientId: string;
  secret: string;
  client?: Partial<PlaidClientSettings>;
  /** Further clients (teams), each with its own keys and settings, e.g. one on each User API generation. */
  otherClients?: { clientId: string; secret: string; settings?: Partial<PlaidClientSettings> }[];
  settings?: Partial<PlaidSimSettings>;
};

export type PlaidSimulator = RunningSim & { context: Omit<SimContext, "client">; clients: Map<string, PlaidClient>; state: PlaidState; keys: KeyRing; webhooks: WebhookSender };

const CLIENT_SETTING_KINDS: Record<keyof PlaidClientSettings, (v: unknown) => boolean> = {
  userApi: (v) => v === "legacy" || v === "new",
  linkRequiresPermissiblePurpose: (v) => typeof v === "boolean",
  cardlyticsIntegration: (v) => typeof v === "boolean",
};

/** Checks a settings patch from the control surface or the environment; throws with what is wrong. */
export function readClientSettings(value: unknown): Partial<PlaidClientSettings> {
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("client settings are an object");
  for (const [key, v] of Object.entries(value)) {
    const check = CLIENT_SETTING_KINDS[key as keyof PlaidClientSettings];
    if (!check) throw new Error(`unknown client setting "${key}"; known: ${Object.keys(CLIENT_SETTING_KINDS).join(", ")}`);
    if (!check(v)) throw new Error(key === "userApi" ? 'userApi is "legacy" or "new"' : `${key} is true or false`);
  }
  return value as Partial<PlaidClientSettings>;
}

type Handler = (ctx: SimContext, body: Record<string, unknown>, headers: Record<string, string | undefined>) => object;
const HANDLERS: Record<string, Handler> = { ...itemHandlers, ...craHandlers, ...linkHandlers, ...processorHandlers };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startPlaidSimulator(options: PlaidSimulatorOptions): Promise<PlaidSimulator> {
  const clock = options.clock ?? new SystemClock();
  const keys = new KeyRing(clock);
  const context: Omit<SimContext, "client"> = {
    state: new PlaidState(),
    clock,
    keys,
    webhooks: new WebhookSender(clock, keys),
    settings: { reportDelayMs: 5_000, lateProductDelayMs: 10_000, craRateLimitPerMinute: 100, ...options.settings },
  };
  const clients = new Map<string, PlaidClient>();
  for (const c of [{ clientId: options.clientId, secret: options.secret, settings: options.client }, ...(options.otherClients ?? [])]) {
    clients.set(c.clientId, { clientId: c.clientId, secret: c.secret, settings: { ...DEFAULT_CLIENT_SETTINGS, ...readClientSettings(c.settings ?? {}) } });
  }

  function authenticate(req: SimRequest, body: Record<string, unknown>): PlaidClient {
    const clientId = typeof body.client_id === "string" ? body.client_id : header(req, "plaid-client-id");
    const secret = typeof body.secret === "string" ? body.secret : header(req, "plaid-secret");
    if (!clientId) invalidRequest("INVALID_FIELD", "client_id must be a properly formatted, non-empty string");
    if (!secret) invalidRequest("INVALID_FIELD", "secret must be a properly formatted, non-empty string");
    const client = [...clients.values()].find((c) => sameSecret(clientId!, c.clientId));
    if (!client || !sameSecret(secret!, client.secret)) invalidInput("INVALID_API_KEYS", "invalid client_id or secret provided");
    return client!;
  }

  // Plaid-Version absent means the team's default version; a value Plaid does not have is refused.
  function checkVersion(req: SimRequest): void {
    const version = header(req, "plaid-version");
    if (version !== undefined && !API_VERSIONS.includes(version.trim())) {
      invalidRequest("INVALID_HEADERS", `Plaid-Version ${JSON.stringify(version.slice(0, 40))} is not an API version; use one of: ${API_VERSIONS.join(", ")}`);
    }
  }

  function handle(req: SimRequest): SimResponse {
    const handler = HANDLERS[req.path];
    if (!handler || req.method !== "POST") return plaidError(404, "INVALID_REQUEST", "NOT_FOUND", "not found");
    try {
      const body = safeJson(req.rawBody);
      if (!body || typeof body !== "object" || Array.isArray(body)) invalidRequest("INVALID_BODY", "body could not be parsed as JSON");
      const fields = body as Record<string, unknown>;
      const client = authenticate(req, fields);
      checkVersion(req);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
      return { status: 200, body: handler({ ...context, client }, fields, headers) };
    } catch (failure) {
      if (failure instanceof PlaidFailure) return failure.response;
      throw failure;
    }
  }

  function control(req: SimRequest): SimResponse | undefined {
    if (req.path === "/__sim/plaid/keys/rotate" && req.method === "POST") return { status: 200, body: { key: keys.rotate() } };
    if (req.path === "/__sim/plaid/webhooks" && req.method === "GET") return { status: 200, body: { deliveries: context.webhooks.deliveries } };
    if (req.path === "/__sim/plaid/link/session" && req.method === "POST") {
      try {
        const input = (safeJson(req.rawBody) ?? {}) as LinkSessionInput;
        // The session runs for whichever client made the link token.
        const owner = clients.get(context.state.linkTokens.get(String(input.link_token))?.clientId ?? "") ?? clients.get(options.clientId)!;
        return { status: 200, body: runLinkSession({ ...context, client: owner }, input) };
      } catch (failure) {
        if (failure instanceof PlaidFailure) return failure.response;
        throw failure;
      }
    }
    if (req.path === "/__sim/plaid/clients") {
      const list = () => ({ clients: [...clients.values()].map((c) => ({ client_id: c.clientId, settings: c.settings })) });
      if (req.method === "GET") return { status: 200, body: list() };
      if (req.method === "POST") {
        const body = safeJson(req.rawBody) as { client_id?: unknown; settings?: unknown } | undefined;
        const client = clients.get(typeof body?.client_id === "string" ? body.client_id : options.clientId);
        if (!client) return { status: 404, body: { error: "no client with that client_id" } };
        try {
          Object.assign(client.settings, readClientSettings(body?.settings));
        } catch (error) {
          return { status: 400, body: { error: `${(error as Error).message}; send {"client_id"?: "...", "settings": {...}}` } };
        }
        return { status: 200, body: list() };
      }
      return { status: 405, body: { error: "GET or POST" }, headers: { allow: "GET, POST" } };
    }
    return undefined;
  }

  const running = await startSimServer({
    port: options.port ?? 0,
    host: options.host,
    faults: options.faults ?? new FaultSet(),
    clock,
    handle,
    control,
    faultResponse: (decision) =>
      decision.outcome === "rate-limit"
        ? plaidError(429, "RATE_LIMIT_EXCEEDED", "RATE_LIMIT", "rate limit exceeded for attempts to access this item. please try again later")
        : plaidError(500, "API_ERROR", "INTERNAL_SERVER_ERROR", "an unexpected error occurred"),
  });
  return { ...running, context, clients, state: context.state, keys, webhooks: context.webhooks };
}
