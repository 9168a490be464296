import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { redirectWithFlash } from "~/lib/flash.server";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { TableScroll } from "~/ui/table-scroll";
import { Notice } from "~/ui/notice";
import { StatusButton } from "~/ui/status-button";
import { environmentBadge } from "~/config/env.server";
import { requireAccessReason } from "~/customers/access-reason.server";
import { plaidErrorResponse, requireSandbox } from "~/plaid/guards.server";
import { PlaidCallError } from "~/plaid/client.server";
import { plaidErrorHelp } from "~/plaid/error-help";
import {
  accountsOfItem,
  cardlyticsIntegrationRefusal,
  createProcessorToken,
  fireWebhook,
  getItem,
  processorTokensOfItem,
  refreshItem,
  removeItem,
  resetLogin,
  sendToCardlytics,
  TokenUnavailable,
  updateWebhookUrl,
} from "~/plaid/items.server";
import { FIRE_WEBHOOK_CODES } from "~/plaid/sandbox-options";
import { webhooksOfItems } from "~/webhooks/history.server";
import { requireIntentPermission, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { parseForm } from "~/staff/forms";
import { can } from "~/staff/permissions";
import { ITEM_INTENT_PERMISSIONS } from "~/plaid/item-intents";
import { Badge } from "~/ui/badge";
import { IntegrationNote } from "~/ui/cardlytics-integration";
import { CopyButton } from "~/ui/copy-button";
import { PlaidErrorPanel } from "~/ui/plaid-error";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args, args.data?.item.institutionName ?? null, "Plaid item");

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const itemId = params.itemId ?? "";
  const stored = getItem(context.db, itemId);
  if (!stored) throw new Response("No Plaid item with that id is recorded here.", { status: 404 });
  // An item is one customer's accounts: the reason for opening that customer comes before Plaid is asked about it.
  requireAccessReason(request, context, staff, stored.customerHash);
  let liveError = null;
  try {
    await refreshItem(context, itemId);
  } catch (error) {
    if (error instanceof TokenUnavailable) {
      liveError = { httpStatus: null, errorType: "LINKDESK", errorCode: error.code, errorMessage: error.message, displayMessage: null, requestId: null, help: error.help };
    } else {
      if (!(error instanceof PlaidCallError)) throw error;
      liveError = { ...error.failure, help: plaidErrorHelp(error.failure.errorCode) };
    }
  }
  const item = getItem(context.db, itemId)!;
  return {
    item: { itemId: item.itemId, customerHash: item.customerHash, institutionName: item.institutionName, institutionId: item.institutionId, status: item.status, errorCode: item.errorCode, webhookUrl: item.webhookUrl, products: item.products, createdAt: item.createdAt.getTime(), removedAt: item.removedAt?.getTime() ?? null },
    accounts: accountsOfItem(context.db, itemId).map((a) => ({ accountId: a.accountId, name: a.name, mask: a.mask, type: a.type, subtype: a.subtype })),
    tokens: processorTokensOfItem(context.db, itemId).map((t) => ({ ...t, createdAt: t.createdAt.getTime(), sentToCardlyticsAt: t.sentToCardlyticsAt?.getTime() ?? null, revokedAt: t.revokedAt?.getTime() ?? null })),
    liveError,
    integrationRefusal: ((r) => (r ? { at: r.at.getTime(), requestId: r.requestId } : null))(cardlyticsIntegrationRefusal(context.db)),
    webhooks: webhooksOfItems(context.db, [itemId], 20).map((w) => ({ id: w.id, receivedAt: w.receivedAt.getTime(), type: w.webhookType, code: w.webhookCode, verdict: w.verdict, handlingStatus: w.handlingStatus })),
    sandbox: environmentBadge(context.config) !== "PRODUCTION",
    may: { token: can(staff.role, "create:processor-token"), sandbox: can(staff.role, "mint:sandbox-token"), manage: can(staff.role, "manage:plaid-item") },
    now: context.now().getTime(),
  };
}

const intents = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("processor-token"), accountId: z.string().min(1, "Pick an account") }),
  z.object({ intent: z.literal("send"), tokenId: z.coerce.number().int().positive() }),
  z.object({ intent: z.literal("reset-login") }),
  z.object({ intent: z.literal("fire-webhook"), code: z.enum(FIRE_WEBHOOK_CODES, { error: "Choose a webhook code from the list" }) }),
  z.object({ intent: z.literal("webhook-url"), url: z.union([z.literal(""), z.url({ protocol: /^https?$/, error: "Enter an http(s) URL, or leave it empty to clear it" })]) }),
  z.object({ intent: z.literal("remove"), confirm: z.literal("remove", { error: "Type remove to confirm" }) }),
]);

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { staff, form: submitted } = await requireIntentPermission(request, context, ITEM_INTENT_PERMISSIONS);
  const itemId = params.itemId ?? "";
  const parsed = parseForm(intents, submitted);
  if (!parsed.ok) return data({ ok: false as const, fieldErrors: parsed.fieldErrors }, { status: 400 });
  const form = parsed.data;
  // A processor token is shown once, and removing an item cannot be undone: both need a fresh proof of identity.
  if (form.intent === "processor-token") requireFreshProof(request, context, staff, submitted, "Create a processor token");
  if (form.intent === "remove") requireFreshProof(request, context, staff, submitted, "Remove a Plaid item");
  if (form.intent === "reset-login" || form.intent === "fire-webhook") requireSandbox(context);
  const item = getItem(context.db, itemId);
  if (!item) throw new Response("No Plaid item with that id is recorded here.", { status: 404 });
  requireAccessReason(request, context, staff, item.customerHash);
  const ctx = { actor: staff, clientAddress: context.clientAddress };
  try {
    switch (form.intent) {
      case "processor-token": {
        const created = await createProcessorToken(context, { itemId, accountId: form.accountId }, ctx);
        return { ok: true as const, message: "Processor token created. Copy it now: it is shown only this once.", newToken: created };
      }
      case "send": {
        const { result, check } = await sendToCardlytics(context, { itemId, tokenId: form.tokenId }, ctx);
        if (!result.ok) return data({ ok: false as const, message: `Cardlytics refused the token (${result.reason}${result.httpStatus ? `, HTTP ${result.httpStatus}` : ""}): ${result.message}. Request id ${result.requestId}.` }, { status: 502 });
        return { ok: true as const, message: `Sent to Cardlytics (request id ${result.requestId}). accountLink now answers ${check?.outcome === "linked" ? plural(check.accounts.length, "linked account") : check?.outcome ?? "nothing"}.`, customerHash: getItem(context.db, itemId)!.customerHash };
      }
      case "reset-login":
        await resetLogin(context, itemId, ctx);
        return { ok: true as const, message: "The item now needs the customer to log in again (ITEM_LOGIN_REQUIRED); Plaid sends an ITEM ERROR webhook." };
      case "fire-webhook":
        await fireWebhook(context, itemId, form.code, ctx);
        return { ok: true as const, message: `Plaid fired ${form.code}.` };
      case "webhook-url":
        await updateWebhookUrl(context, itemId, form.url || null, ctx);
        return { ok: true as const, message: form.url ? "Webhook URL updated; Plaid acknowledges it at the new URL." : "Webhook URL cleared." };
      case "remove":
        await removeItem(context, itemId, ctx);
        return redirectWithFlash(request, context, `/plaid/items/${itemId}`, { tone: "neutral", message: "Item removed. Its access token and processor tokens no longer work." });
    }
  } catch (error) {
    if (error instanceof TokenUnavailable) return data({ ok: false as const, message: `${error.message} ${error.help}` }, { status: 409 });
    return plaidErrorResponse(error);
  }
}

const STATUS_TONE = { active: "green", "login-required": "amber", "pending-disconnect": "amber", "permission-revoked": "red", removed: "slate" } as const;

export default function PlaidItem() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = (intent: string) => navigation.state === "submitting" && navigation.formData?.get("intent") === intent;
  // Each row's own button shows its own pending state; the others stay usable.
  const sending = busy("send") ? String(navigation.formData?.get("tokenId")) : null;
  const creatingFor = busy("processor-token") ? String(navigation.formData?.get("accountId")) : null;
  const removed = d.item.status === "removed";
  const fieldErrors = result && !result.ok && "fieldErrors" in result ? result.fieldErrors : {};
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link to={`/customers/${d.item.customerHash}`} className="link">
          ← Customer {d.item.customerHash.slice(0, 12)}…
        </Link>
      </p>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-bold">{d.item.institutionName ?? d.item.institutionId ?? "Plaid item"}</h1>
        <Badge tone={STATUS_TONE[d.item.status]}>{d.item.status.replace("-", " ")}</Badge>
        {d.item.errorCode ? <span className="font-mono text-sm">{d.item.errorCode}</span> : null}
      </div>
      <p className="font-mono text-sm">
        item_id {d.item.itemId} <CopyButton value={d.item.itemId} />
      </p>
      {d.liveError ? (
        <div>
          <p className="text-sm text-slate-700">Plaid could not be asked for this item's live status; showing what is stored.</p>
          <PlaidErrorPanel error={d.liveError} />
        </div>
      ) : null}
      {result && "plaidError" in result ? <PlaidErrorPanel error={result.plaidError} /> : null}
      {result && "message" in result ? (
        <Notice tone={result.ok ? "success" : "error"}>
          {result.message}{" "}
          {result.ok && "customerHash" in result ? (
            <Link className="link" to={`/customers/${result.customerHash}`}>
              See the customer's linked accounts
            </Link>
          ) : null}
        </Notice>
      ) : null}
      {result?.ok && "newToken" in result && result.newToken ? (
        <div className="card border-amber-300 bg-amber-50">
          <p className="text-sm font-semibold">New Cardlytics processor token (shown once)</p>
          <p className="mt-1 flex flex-wrap items-center gap-2 break-all font-mono text-sm">
            <span data-testid="new-processor-token">{result.newToken.token}</span> <CopyButton value={result.newToken.token} />
          </p>
        </div>
      ) : null}

      <section className="card p-0" aria-labelledby="accounts-heading">
        <h2 id="accounts-heading" className="px-4 pt-3 font-semibold">
          Accounts
        </h2>
        {d.may.token && d.item.status !== "removed" ? <IntegrationNote refusal={d.integrationRefusal} /> : null}
        <TableScroll label="Item accounts">
        <table className="table-basic" aria-label="Item accounts">
          <thead>
            <tr>
              <th>Name</th>
              <th>Mask</th>
              <th>Type</th>
              <th>account_id</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.accounts.map((a) => (
              <tr key={a.accountId}>
                <td>{a.name}</td>
                <td className="font-mono">{a.mask}</td>
                <td>
                  {a.type} / {a.subtype}
                </td>
                <td className="font-mono text-xs">{a.accountId}</td>
                <td>
                  {d.may.token && !removed ? (
                    <Form method="post">
                      <input type="hidden" name="intent" value="processor-token" />
                      <input type="hidden" name="accountId" value={a.accountId} />
                      <StatusButton className="btn whitespace-nowrap text-xs" pending={creatingFor === a.accountId} pendingText="Creating…">
                        Create Cardlytics processor token
                      </StatusButton>
                    </Form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableScroll>
      </section>

      <section className="card p-0" aria-labelledby="tokens-heading">
        <h2 id="tokens-heading" className="px-4 pt-3 font-semibold">
          Processor tokens
        </h2>
        <TableScroll label="Processor tokens">
        <table className="table-basic" aria-label="Processor tokens">
          <thead>
            <tr>
              <th>Token</th>
              <th>Processor</th>
              <th>Account</th>
              <th>Created</th>
              <th>Cardlytics</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.tokens.map((t) => (
              <tr key={t.id}>
                <td className="font-mono text-xs">{t.tokenHint}</td>
                <td>{t.processor}</td>
                <td className="font-mono text-xs">{t.accountId.slice(0, 10)}…</td>
                <td>
                  <Time value={t.createdAt} now={d.now} />
                </td>
                <td>
                  {t.revokedAt ? (
                    <Badge tone="slate">revoked</Badge>
                  ) : t.sentToCardlyticsAt ? (
                    <>
                      <Badge tone="green">sent</Badge> <Time value={t.sentToCardlyticsAt} now={d.now} />
                    </>
                  ) : (
                    <Badge tone="amber">not sent</Badge>
                  )}
                </td>
                <td>
                  {d.may.token && !t.revokedAt && t.held ? (
                    <Form method="post">
                      <input type="hidden" name="intent" value="send" />
                      <input type="hidden" name="tokenId" value={t.id} />
                      {/* A token already sent is offered again only as a re-send, which Cardlytics answers as a repeat. */}
                      <StatusButton className="btn whitespace-nowrap text-xs" pending={sending === String(t.id)} pendingText="Sending…">
                        {t.sentToCardlyticsAt ? "Re-send to Cardlytics" : "Send to Cardlytics"}
                      </StatusButton>
                    </Form>
                  ) : d.may.token && !t.revokedAt ? (
                    <span className="text-xs text-slate-600">Registered by the publisher by its hint; Linkdesk does not hold it to send.</span>
                  ) : null}
                </td>
              </tr>
            ))}
            <EmptyRow show={d.tokens.length === 0} colSpan={6}>
              No processor token yet.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </section>

      <section className="card" aria-labelledby="item-webhooks-heading">
        <h2 id="item-webhooks-heading" className="font-semibold">
          Webhooks for this item
        </h2>
        {d.webhooks.length ? (
          <ul className="mt-2 divide-y divide-slate-100 text-sm">
            {d.webhooks.map((w) => (
              <li key={w.id} className="flex justify-between gap-2 py-1.5">
                <Link className="font-mono text-xs link" to={`/webhooks/${w.id}`}>
                  {w.type}/{w.code}
                </Link>
                <span className="flex items-center gap-2 text-xs">
                  {w.verdict} {w.handlingStatus ?? ""} <Time value={w.receivedAt} now={d.now} />
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="mt-2 text-sm text-slate-600">None received yet.</p>
        )}
      </section>

      {!removed && (d.may.sandbox || d.may.manage) ? (
        <section className="card space-y-4" aria-labelledby="actions-heading">
          <h2 id="actions-heading" className="font-semibold">
            Actions
          </h2>
          {d.sandbox && d.may.sandbox ? (
            <div className="flex flex-wrap items-end gap-3">
              <Form method="post">
                <input type="hidden" name="intent" value="reset-login" />
                <StatusButton className="btn" pending={busy("reset-login")} pendingText="Resetting…">
                  Reset login (sandbox)
                </StatusButton>
              </Form>
              <Form method="post" className="flex items-end gap-2">
                <input type="hidden" name="intent" value="fire-webhook" />
                <div>
                  <label className="label" htmlFor="code">
                    Fire a sandbox webhook
                  </label>
                  <select id="code" name="code" className="input">
                    {FIRE_WEBHOOK_CODES.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                </div>
                <StatusButton className="btn" pending={busy("fire-webhook")} pendingText="Firing…">
                  Fire
                </StatusButton>
              </Form>
            </div>
          ) : null}
          {d.may.manage ? (
            <>
              <Form method="post" className="flex flex-wrap items-end gap-2">
                <input type="hidden" name="intent" value="webhook-url" />
                <div className="min-w-[24rem] flex-1">
                  <label className="label" htmlFor="url">
                    Webhook URL
                  </label>
                  <input id="url" name="url" className="input" defaultValue={d.item.webhookUrl ?? ""} />
                  {fieldErrors.url ? <p role="alert" className="mt-1 text-sm text-red-700">{fieldErrors.url}</p> : null}
                </div>
                <StatusButton className="btn" pending={busy("webhook-url")} pendingText="Updating…">
                  Update webhook URL
                </StatusButton>
              </Form>
              <Form method="post" className="flex flex-wrap items-end gap-2 border-t border-slate-100 pt-3">
                <input type="hidden" name="intent" value="remove" />
                <div>
                  <label className="label" htmlFor="confirm">
                    Remove this item: it revokes the access token and every processor token made from it, so Cardlytics stops receiving data. Type <code>remove</code> to confirm.
                  </label>
                  <input id="confirm" name="confirm" className="input w-40" autoComplete="off" />
                  {fieldErrors.confirm ? <p role="alert" className="mt-1 text-sm text-red-700">{fieldErrors.confirm}</p> : null}
                </div>
                <StatusButton className="btn-danger" pending={busy("remove")} pendingText="Removing…">
                  Remove item
                </StatusButton>
              </Form>
            </>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}
