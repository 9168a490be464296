import { request } from "undici";
import type { SimClock } from "../shared/clock";
import { safeJson, type SimRequest, type SimResponse } from "../shared/http";
import { accountLinkBody, invalid, refuse } from "./responses";
import { randomBytes } from "node:crypto";
import type { CardlyticsSimSettings, CardlyticsState, SimAccount } from "./state";

const DAY = 86_400_000;
const LINK_LIFETIME_MS = 365 * DAY;
const PLAID_TIMEOUT_MS = 10_000;
const PROCESSOR_TOKEN = /^processor-[a-z]+-\S+$/;

const FI_NAMES: Record<string, string> = {
  ins_109508: "First Platypus Bank",
  ins_109509: "First Gingham Credit Union",
  ins_109510: "Tattersall Federal Credit Union",
  ins_109511: "Tartan Bank",
  ins_109512: "Houndstooth Bank",
};

/** Where processor tokens are checked, with Cardlytics' own Plaid credentials. */
export type PlaidUpstream = { baseUrl: string; clientId: string; secret: string };

type PlaidAccount = { account_id: string; mask: string | null; name: string; subtype: string | null; type?: string };
type PlaidVerdict = { account: PlaidAccount; institutionId: string | null } | { refusedWith: string };

function readBody(req: SimRequest): { processorToken: string; accountIds: string[] } {
  const body = safeJson(req.rawBody);
  if (!body || typeof body !== "object" || Array.isArray(body)) refuse(400, "HttpMessageNotReadable");
  const { processorToken, accounts } = body as Record<string, unknown>;
  if (typeof processorToken !== "string" || !PROCESSOR_TOKEN.test(processorToken)) {
    invalid("processorToken", "processorToken must be a Plaid processor token (processor-<environment>-<id>)");
  }
  if (accounts === undefined || accounts === null) return { processorToken, accountIds: [] };
  if (!Array.isArray(accounts)) invalid("accounts", "accounts is a list of {accountId}");
  const accountIds = accounts.map((a: unknown, i) => {
    const id = a && typeof a === "object" ? (a as { accountId?: unknown }).accountId : undefined;
    if (typeof id !== "string" || !id) invalid(`accounts[${i}].accountId`, "accountId is a non-empty string");
    return id;
  });
  return { processorToken, accountIds };
}

function isPlaidAccount(value: unknown): value is PlaidAccount {
  const a = value as Partial<Record<keyof PlaidAccount, unknown>> | null | undefined;
  return (
    !!a &&
    typeof a.account_id === "string" &&
    typeof a.name === "string" &&
    (a.mask === null || typeof a.mask === "string") &&
    (a.subtype === null || a.subtype === undefined || typeof a.subtype === "string")
  );
}

/** POST /processor/account/get, as Cardlytics would call it. Plaid being unusable is a 502, never the caller's fault. */
async function askPlaid(plaid: PlaidUpstream, processorToken: string): Promise<PlaidVerdict> {
  let status: number;
  let raw: Buffer;
  try {
    const res = await request(`${plaid.baseUrl}/processor/account/get`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: plaid.clientId, secret: plaid.secret, processor_token: processorToken }),
      headersTimeout: PLAID_TIMEOUT_MS,
      bodyTimeout: PLAID_TIMEOUT_MS,
    });
    status = res.statusCode;
    raw = Buffer.from(await res.body.arrayBuffer());
  } catch {
    refuse(502, "UpstreamUnavailable");
  }
  const answer = safeJson(raw) as Record<string, unknown> | undefined;
  if (status === 200 && isPlaidAccount(answer?.account)) {
    return { account: answer.account, institutionId: typeof answer.institution_id === "string" ? answer.institution_id : null };
  }
  const code = answer?.error_code;
  // A 400 is Plaid's verdict on the token or its Item; Plaid refusing Cardlytics' own keys is not the caller's problem.
  if (status === 400 && typeof code === "string" && code !== "INVALID_API_KEYS") return { refusedWith: code };
  refuse(502, "UpstreamUnavailable");
}

function refuseIfBoundElsewhere(state: CardlyticsState, processorToken: string, customerId: string): void {
  const boundTo = state.processorTokens.get(processorToken);
  if (boundTo && boundTo !== customerId) refuse(409, "Conflict");
}

function linkedAccount(plaid: PlaidAccount, institutionId: string | null, processorToken: string, now: number, settings: CardlyticsSimSettings): SimAccount {
  return {
    // Cardlytics' own id, as in its documents; or, as a setting, Plaid's account_id passed through.
    accountId: settings.accountIds === "plaid" ? plaid.account_id : randomBytes(12).toString("hex"),
    plaidAccountId: plaid.account_id,
    status: "OPEN",
    last4: plaid.mask ?? "",
    cardType: plaid.subtype ?? plaid.type ?? "other",
    name: plaid.name,
    linkedDate: new Date(now).toISOString(),
    expirationDate: now + LINK_LIFETIME_MS,
    fiName: institutionId ? (FI_NAMES[institutionId] ?? institutionId) : "Unknown institution",
    fiLogo: null,
    processorToken,
  };
}

/**
 * POST /v2/data/connections: binds a Plaid processor token to the customer and links the account behind it.
 * Posting the same token again for the same customer changes nothing; a new token for an account already there
 * relinks it (fresh expiry), as a Plaid update-mode flow would.
 */
export async function connect(
  ctx: { state: CardlyticsState; clock: SimClock; plaid: PlaidUpstream; settings: CardlyticsSimSettings },
  req: SimRequest,
  customerId: string,
): Promise<SimResponse> {
  const { processorToken, accountIds } = readBody(req);
  refuseIfBoundElsewhere(ctx.state, processorToken, customerId);
  const verdict = await askPlaid(ctx.plaid, processorToken);
  if ("refusedWith" in verdict) invalid("processorToken", `Plaid refused the processor token (${verdict.refusedWith})`);
  const { account, institutionId } = verdict;
  if (accountIds.length && !accountIds.includes(account.account_id)) {
    invalid("accounts", `the processor token is for account ${account.account_id}, which is not among accounts`);
  }
  // Another request may have bound the token while Plaid was answering.
  refuseIfBoundElsewhere(ctx.state, processorToken, customerId);
  ctx.state.processorTokens.set(processorToken, customerId);
  const accounts = ctx.state.accountsOf(customerId);
  if (!accounts.some((a) => a.processorToken === processorToken)) {
    const fresh = linkedAccount(account, institutionId, processorToken, ctx.clock.now(), ctx.settings);
    const relinked = accounts.find((a) => a.plaidAccountId === account.account_id);
    // A relink keeps the account's id; its feed starts over with the new token.
    if (relinked) Object.assign(relinked, { ...fresh, accountId: relinked.accountId, pull: undefined });
    else accounts.push(fresh);
    ctx.state.customers.set(customerId, accounts);
  }
  return { status: 200, body: accountLinkBody(accounts, ctx.settings.missingFiLogo) };
}
