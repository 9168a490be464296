import type { AccountState } from "~/cardlytics/expiry";
import type { CardlyticsAccount } from "~/cardlytics/client.server";
import { Badge, type Tone } from "~/ui/badge";
import { CopyButton } from "~/ui/copy-button";
import { Time } from "~/ui/time";
import { TableScroll } from "~/ui/table-scroll";

const STATE_BADGE: Record<AccountState, { tone: Tone; label: string }> = {
  active: { tone: "green", label: "Active" },
  expiring: { tone: "amber", label: "Expiring soon" },
  expired: { tone: "red", label: "Expired" },
  "not-open": { tone: "slate", label: "Not OPEN" },
};

export type ShownAccount = CardlyticsAccount & { state: AccountState };

/** The customer's Cardlytics linked accounts, from the live answer or the last stored one. */
export function AccountsTable({ accounts, now, empty }: { accounts: ShownAccount[]; now: number; empty: string }) {
  if (!accounts.length) return <p className="px-4 pb-4 pt-2 text-sm text-slate-600">{empty}</p>;
  return (
    <TableScroll label="Linked accounts">
      <table className="table-basic" aria-label="Linked accounts">
        <thead>
          <tr>
            <th>Institution</th>
            <th>Name</th>
            <th>Last 4</th>
            <th>State</th>
            <th>Status</th>
            <th>Linked</th>
            <th>Expires</th>
            <th>Account id</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {accounts.map((a) => (
            <tr key={a.accountId}>
              <td>{a.fiName}</td>
              <td>
                {a.name}
                {a.cardType ? <span className="block text-xs text-slate-600">{a.cardType}</span> : null}
              </td>
              <td className="font-mono">{a.last4}</td>
              <td>
                <Badge tone={STATE_BADGE[a.state].tone}>{STATE_BADGE[a.state].label}</Badge>
              </td>
              <td className="font-mono text-xs">{a.status}</td>
              <td>
                <Time value={a.linkedDate} now={now} />
              </td>
              <td>{a.expirationDate === null ? <span className="text-slate-600">not given</span> : <Time value={a.expirationDate} now={now} />}</td>
              <td className="font-mono text-xs" title={a.accountId}>
                <span className="inline-flex items-center gap-1">
                  {a.accountId.length > 10 ? `${a.accountId.slice(0, 10)}…` : a.accountId} <CopyButton value={a.accountId} />
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
