import { Link } from "@remix-run/react";
import type { LiveItem } from "~/plaid/live-items.server";
import { Badge } from "~/ui/badge";
import { CopyButton } from "~/ui/copy-button";
import { PlaidErrorPanel } from "~/ui/plaid-error";
import { Time } from "~/ui/time";

type Token = { id: number; accountId: string; processor: string; tokenHint: string; createdAt: number; sentToCardlyticsAt: number | null; cardlyticsRequestId: string | null; cardlyticsResult: string | null; cardlyticsMessage: string | null; revokedAt: number | null; source: string; held: boolean };
export type StoredItem = { itemId: string; institutionName: string | null; status: string; errorCode: string | null; createdAt: number; removedAt: number | null; source: string; hasAccessToken: boolean; tokens: Token[] };

const statusTone = (s: string) => (s === "active" ? "green" : s === "removed" || s === "permission-revoked" ? "red" : "amber");

function TokenRow({ t, now }: { t: Token; now: number }) {
  return (
    <li className="flex flex-wrap items-center gap-2 text-xs">
      <span className="font-mono">{t.tokenHint}</span>
      <span>
        {t.processor} · account <span className="font-mono">{t.accountId.slice(0, 10)}…</span>
      </span>
      {t.revokedAt ? <Badge tone="red">revoked</Badge> : null}
      {t.cardlyticsResult === "connected" ? (
        <span>
          handed to Cardlytics <Time value={t.sentToCardlyticsAt} now={now} />
          {t.cardlyticsRequestId ? <span className="font-mono"> · requestId {t.cardlyticsRequestId}</span> : null}
        </span>
      ) : t.cardlyticsResult ? (
        <span className="text-red-800">
          Cardlytics {t.cardlyticsResult}: {t.cardlyticsMessage ?? "no message"}
        </span>
      ) : (
        <span className="text-slate-600">not handed to Cardlytics</span>
      )}
      {!t.held ? <span className="text-slate-600">(registered by its hint; the token is not held here)</span> : null}
    </li>
  );
}

/** One item as stored, with what Plaid says of it live once that answer arrives. */
export function ItemCard({ item, live, now }: { item: StoredItem; live: LiveItem | "waiting" | undefined; now: number }) {
  const status = live && live !== "waiting" && live.ok ? live.status : item.status;
  return (
    <li className="space-y-1.5 py-2" data-testid="plaid-item" data-item-id={item.itemId}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="flex flex-wrap items-center gap-2">
          <Link className="font-medium link" to={`/plaid/items/${item.itemId}`}>
            {item.institutionName ?? "Unknown institution"}
          </Link>
          <span className="font-mono text-xs">{item.itemId}</span>
          <CopyButton value={item.itemId} />
        </span>
        <span className="flex items-center gap-2 text-xs">
          <Badge tone={statusTone(status)}>{status.replace("-", " ")}</Badge>
          {item.source === "publisher" ? "registered by the publisher" : "made in this console"} <Time value={item.createdAt} now={now} />
        </span>
      </div>
      {!item.hasAccessToken ? (
        <p className="text-xs text-slate-700">Linkdesk holds no access token for this item: its state comes from its webhooks{item.errorCode ? ` (last error ${item.errorCode})` : ""}.</p>
      ) : item.status === "removed" ? null : live === undefined || live === "waiting" ? (
        <p className="text-xs text-slate-600" role="status">
          {live === "waiting" ? "Plaid has not answered yet; showing the stored state." : "Asking Plaid (/item/get, /accounts/get)…"}
        </p>
      ) : live.ok ? (
        <div className="space-y-1 text-xs" data-testid="plaid-item-live">
          <p>
            Live from Plaid: {live.errorCode ? <strong className="text-red-800">{live.errorCode}</strong> : "no item error"}
            {live.errorMessage ? ` (${live.errorMessage})` : ""}
            {live.consentExpiresAt ? (
              <>
                {" "}
                · consent expires <Time value={live.consentExpiresAt} now={now} />
              </>
            ) : null}
            <span className="font-mono"> · request_id {live.requestIds.join(", ")}</span>
          </p>
          {live.lastWebhook ? (
            live.lastWebhook.received ? (
              <p>
                Last webhook Plaid sent: {live.lastWebhook.code} <Time value={live.lastWebhook.sentAt} now={now} />, received here.
              </p>
            ) : (
              <p role="alert" className="rounded border border-amber-300 bg-amber-50 px-2 py-1">
                Plaid says it sent {live.lastWebhook.code} <Time value={live.lastWebhook.sentAt} now={now} />, but no delivery of it reached this console. Check the item&apos;s webhook URL and the receiver.
              </p>
            )
          ) : null}
          {live.accounts.length ? (
            <ul className="list-inside list-disc">
              {live.accounts.map((a) => (
                <li key={a.accountId}>
                  {a.name} ••{a.mask ?? "??"} ({a.subtype ?? a.type}){a.current !== null ? ` · balance ${a.current.toLocaleString("en-US", { style: "currency", currency: a.currency ?? "USD" })}` : ""}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : (
        <PlaidErrorPanel error={live.error} />
      )}
      {item.tokens.length ? <ul className="space-y-1">{item.tokens.map((t) => <TokenRow key={t.id} t={t} now={now} />)}</ul> : <p className="text-xs text-slate-600">No processor token is recorded for this item.</p>}
    </li>
  );
}
