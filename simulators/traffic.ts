import { Configuration, ConsumerReportPermissiblePurpose, CountryCode, PlaidApi, Products, ProcessorTokenCreateRequestProcessorEnum } from "plaid";
import { request } from "undici";
import { hashCustomerId } from "./cardlytics/seed";
import { postFunnelEvents, type PublisherEvent } from "./funnel-history";
import { mulberry32, pick } from "./shared/random";

export type TrafficOptions = {
  customers: number;
  plaid: { baseUrl: string; clientId: string; secret: string };
  cardlytics: { baseUrl: string; clientId: string; secret: string };
  customerIdHmacKey: string;
  /** Where the publisher's Plaid webhooks go: the console's receiver. */
  webhookUrl: string | null;
  /**
   * Where the publisher's backend reports to the console, if anywhere: its funnel events (POST /api/events) and what
   * it created for each customer (POST /api/customer-data), with one key allowed both.
   */
  events?: { baseUrl: string; apiKey: string } | null;
  seed?: number;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
};

export type CustomerOutcome = {
  rawId: string;
  hash: string;
  institutionId: string;
  reached: "OPEN" | "SELECT_INSTITUTION" | "SUBMIT_CREDENTIALS" | "ITEM_ADDED" | "PROCESSOR_TOKEN" | "CARDLYTICS_LINKED";
  linkError?: string;
  itemError?: string;
  report?: boolean;
  /** How the customer's consumer report came about: at the end of a Plaid Check Link session, or by /cra/check_report/create. */
  reportVia?: "link" | "check_report_create";
  /** The User API generation the customer's Plaid Check user was made in. */
  userApi?: "legacy" | "new";
  checkUserId?: string;
  linkSessionId?: string;
  itemId?: string;
};

const INSTITUTIONS: [string, number][] = [
  ["ins_109508", 0.34],
  ["ins_109511", 0.2],
  ["ins_109509", 0.15],
  ["ins_109512", 0.12],
  ["ins_109510", 0.1],
  ["ins_132363", 0.05],
  ["ins_132361", 0.04],
];

/**
 * Plays customers through the publisher's flow against the simulators (or any Plaid sandbox and Cardlytics API):
 * Link with realistic drop-off, exchange, a Cardlytics processor token, the Cardlytics connection, some Plaid Check
 * reports, some item errors. Customers are identified to the vendors only by their hash.
 */
export async function playTraffic(options: TrafficOptions): Promise<CustomerOutcome[]> {
  const random = mulberry32(options.seed ?? 42);
  const plaid = new PlaidApi(
    new Configuration({ basePath: options.plaid.baseUrl, baseOptions: { headers: { "PLAID-CLIENT-ID": options.plaid.clientId, "PLAID-SECRET": options.plaid.secret } } }),
  );
  // Decide every customer's path up front so the outcome does not depend on timing.
  const plans = Array.from({ length: options.customers }, (_, i) => {
    const rawId = `cust-${String(i + 1).padStart(5, "0")}`;
    return {
      rawId,
      hash: hashCustomerId(rawId, options.customerIdHmacKey),
      institutionId: pick(random, INSTITUTIONS),
      exitAfter: pick<string | null>(random, [["OPEN", 0.12], ["SELECT_INSTITUTION", 0.1], ["SUBMIT_CREDENTIALS", 0.06], [null, 0.72]]),
      password: pick(random, [["pass_good", 0.93], ["error_INVALID_CREDENTIALS", 0.04], ["error_ITEM_LOCKED", 0.03]]),
      connectCardlytics: random() < 0.88,
      report: random() < 0.25,
      // Half the reports start in Link (the guide's main flow), half from /cra/check_report/create afterwards; the
      // Check users are split between the client's own (older) generation and the new User API, by the header.
      reportVia: random() < 0.5 ? ("link" as const) : ("check_report_create" as const),
      userApi: random() < 0.5 ? ("legacy" as const) : ("new" as const),
      itemTrouble: pick<string | null>(random, [["reset_login", 0.05], ["USER_PERMISSION_REVOKED", 0.03], ["PENDING_DISCONNECT", 0.03], [null, 0.89]]),
      attributes: { platform: pick(random, [["ios", 0.45], ["android", 0.35], ["web", 0.2]] as const), entry_point: pick(random, [["onboarding", 0.5], ["rewards_tab", 0.35], ["email_campaign", 0.15]] as const) },
    };
  });

  const outcomes: CustomerOutcome[] = new Array(plans.length);
  let done = 0;
  let next = 0;
  async function worker() {
    while (next < plans.length) {
      const index = next++;
      outcomes[index] = await playOne(plans[index]!);
      options.onProgress?.(++done, plans.length);
    }
  }

  // The publisher's backend tells the console which Link session and Item are whose, and what it saw happen.
  async function playOne(plan: (typeof plans)[number]): Promise<CustomerOutcome> {
    const events: PublisherEvent[] = [];
    // As a publisher's backend does, each thing it creates is registered as soon as it exists.
    const register = async (...entries: Record<string, unknown>[]) => {
      if (options.events) await postCustomerData(options.events.baseUrl, options.events.apiKey, entries.map((e) => ({ customer_hash: plan.hash, ...e })));
    };
    const outcome = await playJourney(plan, (name, extra = {}) => events.push({ event_id: `${plan.hash.slice(0, 16)}-${name}-${Date.now()}`, name, occurred_at: Date.now(), customer_hash: plan.hash, ...extra }), register);
    if (options.events && events.length) await postFunnelEvents(options.events.baseUrl, options.events.apiKey, events);
    return outcome;
  }

  async function playJourney(plan: (typeof plans)[number], report: (name: string, extra?: Partial<PublisherEvent>) => void, register: (...entries: Record<string, unknown>[]) => Promise<void>): Promise<CustomerOutcome> {
    /**
     * The customer's Plaid Check user, in the client's own generation (the older API: user_token, kept) or, for the
     * others, the new User API by its header (user_id usr_… only). Registered with the console as soon as it exists.
     */
    const createCheckUser = async (p: typeof plan) => {
      const { data: user } = await plaid.userCreate({ client_user_id: p.hash }, p.userApi === "new" ? true : undefined);
      await register({ type: "check_user", user_id: user.user_id, ...(user.user_token ? { user_token: user.user_token } : {}) });
      return { ...user, ref: user.user_token ? { user_token: user.user_token } : { user_id: user.user_id } };
    };
    const startedAt = Date.now();
    const outcome: CustomerOutcome = { rawId: plan.rawId, hash: plan.hash, institutionId: plan.institutionId, reached: "OPEN" };
    const purpose = ConsumerReportPermissiblePurpose.AccountReviewCredit;
    // A customer whose report starts in Link gets a Plaid Check user first, and Check products on the link token.
    const checkInLink = plan.report && plan.reportVia === "link" && options.webhookUrl !== null;
    const checkUser = checkInLink ? await createCheckUser(plan) : null;
    const { data: link } = await plaid.linkTokenCreate({
      client_name: "Rewards Demo",
      language: "en",
      country_codes: [CountryCode.Us],
      user: { client_user_id: plan.hash },
      products: checkUser ? [Products.Transactions, Products.CraBaseReport, Products.CraIncomeInsights] : [Products.Transactions],
      ...(checkUser ? { ...checkUser.ref, cra_options: { days_requested: 365 }, consumer_report_permissible_purpose: purpose } : {}),
      ...(options.webhookUrl ? { webhook: options.webhookUrl } : {}),
    });
    if (checkUser) {
      outcome.reportVia = "link";
      outcome.userApi = plan.userApi;
      outcome.checkUserId = checkUser.user_id;
    }
    const session = await simControl<{ link_session_id: string; status: string; public_token: string | null; error: { error_code: string } | null }>(options.plaid.baseUrl, "/__sim/plaid/link/session", {
      link_token: link.link_token,
      institution_id: plan.institutionId,
      username: "user_good",
      password: plan.password,
      ...(plan.exitAfter ? { exit_after: plan.exitAfter } : {}),
    });
    if (session.error) outcome.linkError = session.error.error_code;
    outcome.linkSessionId = session.link_session_id;
    await register({ type: "link_session", link_session_id: session.link_session_id, link_token: link.link_token });
    report("link_started", { link_session_id: session.link_session_id, occurred_at: startedAt, attributes: plan.attributes });
    if (!session.public_token) {
      outcome.reached = (plan.exitAfter ?? "SUBMIT_CREDENTIALS") as CustomerOutcome["reached"];
      return outcome;
    }
    outcome.reached = "ITEM_ADDED";
    const { data: exchanged } = await plaid.itemPublicTokenExchange({ public_token: session.public_token });
    const { data: accounts } = await plaid.accountsGet({ access_token: exchanged.access_token });
    outcome.itemId = exchanged.item_id;
    await register(
      { type: "plaid_item", item_id: exchanged.item_id, institution_id: accounts.item.institution_id ?? plan.institutionId, institution_name: accounts.item.institution_name ?? null, access_token: exchanged.access_token, products: accounts.item.products ?? [] },
      { type: "link_session", link_session_id: session.link_session_id, item_id: exchanged.item_id },
    );
    const checking = accounts.accounts.find((a) => a.subtype === "checking") ?? accounts.accounts[0]!;
    const { data: processor } = await plaid.processorTokenCreate({ access_token: exchanged.access_token, account_id: checking.account_id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
    outcome.reached = "PROCESSOR_TOKEN";
    report("processor_token_created", { item_id: exchanged.item_id });
    const token = { type: "processor_token", item_id: exchanged.item_id, account_id: checking.account_id, processor: "cardlytics", processor_token: processor.processor_token };
    if (plan.connectCardlytics) {
      const connected = await connectCardlytics(options.cardlytics, plan.hash, processor.processor_token);
      await register({ ...token, cardlytics: { result: connected.ok ? "connected" : "failed", request_id: connected.requestId, ...(connected.ok ? {} : { message: `HTTP ${connected.status}` }) } });
      if (connected.ok) {
        outcome.reached = "CARDLYTICS_LINKED";
        report("account_linked", { item_id: exchanged.item_id });
      }
    } else {
      await register(token);
    }
    if (plan.itemTrouble === "reset_login") {
      await plaid.sandboxItemResetLogin({ access_token: exchanged.access_token });
      outcome.itemError = "ITEM_LOGIN_REQUIRED";
    } else if (plan.itemTrouble && options.webhookUrl) {
      await plaid.sandboxItemFireWebhook({ access_token: exchanged.access_token, webhook_code: plan.itemTrouble as never });
      outcome.itemError = plan.itemTrouble;
    }
    if (checkUser) {
      // Plaid generates the report once the Link session ends; the console records it from the CHECK_REPORT webhook.
      outcome.report = true;
    } else if (plan.report && options.webhookUrl) {
      const user = await createCheckUser(plan);
      await plaid.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions], ...user.ref, options: { override_username: "user_bank_income", override_password: "{}", webhook: options.webhookUrl } });
      const { data: requested } = await plaid.craCheckReportCreate({ ...user.ref, webhook: options.webhookUrl, days_requested: 365, consumer_report_permissible_purpose: purpose, products: [Products.CraIncomeInsights] });
      await register({ type: "check_report", request_id: requested.request_id, days_requested: 365, purpose, products: [Products.CraIncomeInsights] });
      outcome.report = true;
      outcome.reportVia = "check_report_create";
      outcome.userApi = plan.userApi;
      outcome.checkUserId = user.user_id;
    }
    return outcome;
  }

  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return outcomes;
}

async function simControl<T>(baseUrl: string, path: string, body: unknown): Promise<T> {
  const res = await request(`${baseUrl}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return (await res.body.json()) as T;
}

/** Registers what the publisher created with the console; every entry must be taken. */
async function postCustomerData(baseUrl: string, apiKey: string, entries: Record<string, unknown>[]): Promise<void> {
  const res = await request(`${baseUrl}/api/customer-data`, { method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }, body: JSON.stringify({ entries }) });
  const body = (await res.body.json()) as { refused?: number; results?: { errors?: unknown }[]; message?: string };
  if (res.statusCode !== 200 || body.refused) throw new Error(`POST /api/customer-data answered ${res.statusCode}: ${body.message ?? JSON.stringify(body.results).slice(0, 300)}`);
}

async function connectCardlytics(cardlytics: TrafficOptions["cardlytics"], hash: string, processorToken: string): Promise<{ ok: boolean; status: number; requestId: string | null }> {
  const session = await request(`${cardlytics.baseUrl}/v2/session/startSession`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-source-customer-id": hash },
    body: JSON.stringify({ clientId: cardlytics.clientId, secret: cardlytics.secret }),
  });
  if (session.statusCode !== 200) {
    await session.body.dump();
    return { ok: false, status: session.statusCode, requestId: headerOf(session.headers["x-cdlx-request-id"]) };
  }
  const { sessionToken } = (await session.body.json()) as { sessionToken: string };
  const res = await request(`${cardlytics.baseUrl}/v2/data/connections`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${sessionToken}`, "x-source-customer-id": hash },
    body: JSON.stringify({ processorToken }),
  });
  await res.body.dump();
  return { ok: res.statusCode === 200, status: res.statusCode, requestId: headerOf(res.headers["x-cdlx-request-id"]) };
}

const headerOf = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));

export function trafficSummary(outcomes: CustomerOutcome[]): string[] {
  const by = (reached: CustomerOutcome["reached"]) => outcomes.filter((o) => o.reached === reached).length;
  const leftLink = outcomes.length - by("CARDLYTICS_LINKED") - by("PROCESSOR_TOKEN") - by("ITEM_ADDED");
  return [
    `Traffic: ${outcomes.length} customers: ${by("CARDLYTICS_LINKED")} linked at Cardlytics, ${by("PROCESSOR_TOKEN")} stopped at the processor token, ${leftLink} left Link early; ${outcomes.filter((o) => o.report).length} consumer reports (${outcomes.filter((o) => o.reportVia === "link").length} started in Link, ${outcomes.filter((o) => o.reportVia === "check_report_create").length} by /cra/check_report/create; Check users: ${outcomes.filter((o) => o.userApi === "legacy").length} older API, ${outcomes.filter((o) => o.userApi === "new").length} new User API), ${outcomes.filter((o) => o.itemError).length} item errors.`,
    "A few of them to look up (internal id → hash):",
    ...outcomes.slice(0, 5).map((o) => `  ${o.rawId}  ${o.hash}  ${o.reached.toLowerCase().replaceAll("_", " ")}`),
    ...((linked) => (linked ? ["Or find one by a Plaid id in the search box:", `  item_id ${linked.itemId}  link_session_id ${linked.linkSessionId}  (${linked.rawId})`] : []))(outcomes.find((o) => o.itemId && o.linkSessionId)),
  ];
}
