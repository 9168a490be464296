import { type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { redirectWithFlash } from "~/lib/flash.server";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { useEffect, useState } from "react";
import { z } from "zod";
import { isCustomerHash } from "~/customers/customer-id";
import { cardlyticsIntegrationRefusal, exchangeAndStore, mintPublicToken } from "~/plaid/items.server";
import { plaidErrorResponse, requireSandbox } from "~/plaid/guards.server";
import { SANDBOX_INSTITUTIONS, SANDBOX_PERSONAS, SANDBOX_PRODUCTS } from "~/plaid/sandbox-options";
import { craUserOf, plaidUserRef, ReportRuleError } from "~/reports/check-reports.server";
import { readForm, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { parseForm } from "~/staff/forms";
import { IntegrationNote } from "~/ui/cardlytics-integration";
import { CopyButton } from "~/ui/copy-button";
import { FormError } from "~/ui/field";
import { PlaidErrorPanel } from "~/ui/plaid-error";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Plaid sandbox");

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "mint:sandbox-token");
  requireSandbox(context);
  const params = new URL(request.url).searchParams;
  const customer = params.get("customer")?.toLowerCase() ?? "";
  const refusal = cardlyticsIntegrationRefusal(context.db);
  return { customer: isCustomerHash(customer) ? customer : "", checkUser: params.get("cra") === "1", defaultWebhook: context.config.plaid.webhookUrl ?? "", integrationRefusal: refusal ? { at: refusal.at.getTime(), requestId: refusal.requestId } : null };
}

const customerField = z.string().trim().toLowerCase().regex(/^[0-9a-f]{64}$/, "Enter the customer's hash: 64 hex characters");

const mintForm = z.object({
  intent: z.literal("mint"),
  customer: customerField,
  institution: z.string().trim().regex(/^ins_\d+$/, "Pick a bank from the list"),
  products: z.string().transform((v) => v.split(",").filter(Boolean)).pipe(z.array(z.enum(SANDBOX_PRODUCTS, { error: "Choose products from the list" })).min(1, "Choose at least one product")),
  persona: z.enum(SANDBOX_PERSONAS.map((p) => p.id) as [string, ...string[]], { error: "Choose a test persona from the list" }),
  webhook: z.union([z.literal(""), z.url({ protocol: /^https?$/, error: "Enter an http(s) URL, or leave it empty" })]),
  checkUser: z.literal("yes").optional(),
});

const exchangeForm = z.object({
  intent: z.literal("exchange"),
  customer: customerField,
  publicToken: z.string().regex(/^public-(sandbox|production)-[\w-]+$/, "That is not a Plaid public token"),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "mint:sandbox-token");
  requireSandbox(context);
  const form = await readForm(request);
  const ctx = { actor: staff, clientAddress: context.clientAddress };
  try {
    if (form.get("intent") === "exchange") {
      const parsed = parseForm(exchangeForm, form);
      if (!parsed.ok) return data({ ok: false as const, fieldErrors: parsed.fieldErrors }, { status: 400 });
      const itemId = await exchangeAndStore(context, { customerHash: parsed.data.customer, publicToken: parsed.data.publicToken }, ctx);
      return redirectWithFlash(request, context, `/plaid/items/${itemId}`, { tone: "success", message: "Item exchanged and stored; its access token is encrypted and never shown." });
    }
    const parsed = parseForm(mintForm, form, ["products"]);
    if (!parsed.ok) return data({ ok: false as const, fieldErrors: parsed.fieldErrors }, { status: 400 });
    // The minted public token is shown on the page: a token revealed needs a fresh proof of identity.
    requireFreshProof(request, context, staff, form, "Mint a sandbox public token");
    const persona = SANDBOX_PERSONAS.find((p) => p.id === parsed.data.persona)!;
    const craUser = parsed.data.checkUser ? craUserOf(context.db, parsed.data.customer) : undefined;
    if (parsed.data.checkUser && !craUser) return data({ ok: false as const, fieldErrors: { checkUser: "This customer has no Plaid Check user yet: create one on the customer's Plaid Check page first." } as Record<string, string | undefined> }, { status: 400 });
    const minted = await mintPublicToken(
      context,
      { customerHash: parsed.data.customer, institutionId: parsed.data.institution, products: parsed.data.products, username: persona.username, password: persona.password, webhookUrl: parsed.data.webhook || null, checkUser: craUser ? plaidUserRef(context, craUser) : undefined },
      ctx,
    );
    return { ok: true as const, minted: { ...minted, customer: parsed.data.customer } };
  } catch (error) {
    if (error instanceof ReportRuleError) return data({ ok: false as const, fieldErrors: { checkUser: error.message } as Record<string, string | undefined> }, { status: 409 });
    return plaidErrorResponse(error);
  }
}

function TimeLeft({ until }: { until: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = Math.max(0, until - now);
  return <span>{left ? `${Math.floor(left / 60_000)}:${String(Math.floor((left % 60_000) / 1000)).padStart(2, "0")} left` : "expired: mint a new one"}</span>;
}

export default function PlaidSandbox() {
  const { customer, checkUser, defaultWebhook, integrationRefusal } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const mintPending = useIsPending({ match: { intent: "mint" } });
  const exchangePending = useIsPending({ match: { intent: "exchange" } });
  const busy = (intent: "mint" | "exchange") => (intent === "mint" ? mintPending : exchangePending);
  const errors = result && !result.ok && "fieldErrors" in result ? result.fieldErrors : {};
  const err = (k: string) => (errors[k] ? <p role="alert" className="mt-1 text-sm text-red-700">{errors[k]}</p> : null);
  return (
    <div className="max-w-3xl space-y-4">
      <h1 className="text-2xl font-bold">Plaid sandbox: mint an item</h1>
      <p className="text-sm text-slate-600">Calls /sandbox/public_token/create, then exchanges the token and stores the item for the customer. Sandbox only.</p>
      <IntegrationNote refusal={integrationRefusal} />
      {result && !result.ok && "plaidError" in result ? <PlaidErrorPanel error={result.plaidError} /> : null}
      {Object.keys(errors).length ? <FormError message="Check the highlighted fields." /> : null}
      <Form method="post" className="card space-y-4" noValidate>
        <input type="hidden" name="intent" value="mint" />
        <div>
          <label className="label" htmlFor="customer">
            Customer hash
          </label>
          <input id="customer" name="customer" className="input font-mono" defaultValue={customer} placeholder="64 hex characters" />
          {err("customer")}
        </div>
        <div>
          <label className="label" htmlFor="institution">
            Bank
          </label>
          <select id="institution" name="institution" className="input" defaultValue="ins_109508" aria-describedby="institution-hint">
            {SANDBOX_INSTITUTIONS.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name} ({i.id})
              </option>
            ))}
          </select>
          <p id="institution-hint" className="mt-1 text-xs text-slate-600">
            The sandbox institution the item is minted at; its Plaid id is beside the name.
          </p>
          {err("institution")}
        </div>
        <fieldset>
          <legend className="label">Initial products</legend>
          <div className="flex flex-wrap gap-3 text-sm">
            {SANDBOX_PRODUCTS.map((p) => (
              <label key={p} className="inline-flex items-center gap-1.5 whitespace-nowrap">
                <input type="checkbox" name="products" value={p} defaultChecked={p === "transactions"} /> {p}
              </label>
            ))}
          </div>
          {err("products")}
        </fieldset>
        <div>
          <label className="label" htmlFor="persona">
            Test persona
          </label>
          <select id="persona" name="persona" className="input" defaultValue={checkUser ? "user_bank_income" : "user_good"}>
            {SANDBOX_PERSONAS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
          {err("persona")}
        </div>
        <div>
          <label className="label" htmlFor="webhook">
            Webhook URL
          </label>
          <input id="webhook" name="webhook" className="input" defaultValue={defaultWebhook} />
          <p className="mt-1 text-xs text-slate-500">Defaults to this console's Plaid webhook receiver.</p>
          {err("webhook")}
        </div>
        <div>
          <label className="flex items-start gap-2 text-sm">
            <input type="checkbox" name="checkUser" value="yes" defaultChecked={checkUser} className="mt-0.5" /> Link to the customer's Plaid Check user (their consumer reports are built from it)
          </label>
          {err("checkUser")}
        </div>
        <StatusButton pending={busy("mint")} pendingText="Minting…">
          Mint public token
        </StatusButton>
      </Form>
      {result?.ok ? (
        <section className="card space-y-3" aria-labelledby="minted-heading">
          <h2 id="minted-heading" className="font-semibold">
            Public token
          </h2>
          <p className="flex flex-wrap items-center gap-2 font-mono text-sm">
            <span data-testid="public-token">{result.minted.publicToken}</span> <CopyButton value={result.minted.publicToken} />
          </p>
          <p className="text-sm text-slate-600">
            Single use, <TimeLeft until={result.minted.expiresAt} />. request_id {result.minted.requestId}
          </p>
          <Form method="post">
            <input type="hidden" name="intent" value="exchange" />
            <input type="hidden" name="customer" value={result.minted.customer} />
            <input type="hidden" name="publicToken" value={result.minted.publicToken} />
            <StatusButton pending={busy("exchange")} pendingText="Exchanging…">
              Exchange now
            </StatusButton>
          </Form>
        </section>
      ) : null}
    </div>
  );
}
