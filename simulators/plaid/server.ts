import { timingSafeEqual } from "node:crypto";
import { SystemClock, type SimClock } from "../shared/clock";
import { FaultSet } from "../shared/faults";
import { header, safeJson, startSimServer, type RunningSim, type SimRequest, type SimResponse } from "../shared/http";
import type { PlaidSimSettings, SimContext } from "./context";
import { craHandlers } from "./cra";
import { invalidRequest, plaidError, PlaidFailure, invalidInput } from "./errors";
import { itemHandlers } from "./items";
import { linkHandlers, runLinkSession, type LinkSessionInput } from "./link";
import { PlaidState } from "./state";
import { KeyRing, WebhookSender } from "./webhooks";

export type PlaidSimulatorOptions = {
  port?: number;
  host?: string;
  clock?: SimClock;
  faults?: FaultSet;
  clientId: string;
  secret: string;
  settings?: Partial<PlaidSimSettings>;
};

export type PlaidSimulator = RunningSim & { context: SimContext; state: PlaidState; keys: KeyRing; webhooks: WebhookSender };

type Handler = (ctx: SimContext, body: Record<string, unknown>, headers: Record<string, string | undefined>) => object;
const HANDLERS: Record<string, Handler> = { ...itemHandlers, ...craHandlers, ...linkHandlers };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startPlaidSimulator(options: PlaidSimulatorOptions): Promise<PlaidSimulator> {
  const clock = options.clock ?? new SystemClock();
  const keys = new KeyRing(clock);
  const context: SimContext = {
    state: new PlaidState(),
    clock,
    keys,
    webhooks: new WebhookSender(clock, keys),
    settings: { reportDelayMs: 5_000, defaultUserApi: "new", craRateLimitPerMinute: 100, ...options.settings },
  };

  function authenticate(req: SimRequest, body: Record<string, unknown>): void {
    const clientId = typeof body.client_id === "string" ? body.client_id : header(req, "plaid-client-id");
    const secret = typeof body.secret === "string" ? body.secret : header(req, "plaid-secret");
    if (!clientId) invalidRequest("INVALID_FIELD", "client_id must be a properly formatted, non-empty string");
    if (!secret) invalidRequest("INVALID_FIELD", "secret must be a properly formatted, non-empty string");
    if (!sameSecret(clientId!, options.clientId) || !sameSecret(secret!, options.secret)) {
      invalidInput("INVALID_API_KEYS", "invalid client_id or secret provided");
    }
  }

  function handle(req: SimRequest): SimResponse {
    const handler = HANDLERS[req.path];
    if (!handler || req.method !== "POST") return plaidError(404, "INVALID_REQUEST", "NOT_FOUND", "not found");
    try {
      const body = safeJson(req.rawBody);
      if (!body || typeof body !== "object" || Array.isArray(body)) invalidRequest("INVALID_BODY", "body could not be parsed as JSON");
      const fields = body as Record<string, unknown>;
      authenticate(req, fields);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
      return { status: 200, body: handler(context, fields, headers) };
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
        return { status: 200, body: runLinkSession(context, (safeJson(req.rawBody) ?? {}) as LinkSessionInput) };
      } catch (failure) {
        if (failure instanceof PlaidFailure) return failure.response;
        throw failure;
      }
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
  return { ...running, context, state: context.state, keys, webhooks: context.webhooks };
}
