import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Link, useLoaderData, useSearchParams } from "@remix-run/react";
import { useState } from "react";
import type { AccountState } from "~/cardlytics/expiry";
import { isCustomerHash } from "~/customers/customer-id";
import { customerOverview } from "~/customers/overview.server";
import type { Verdict } from "~/customers/verdict";
import { environmentBadge } from "~/config/env.server";
import { requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { Badge, type Tone } from "~/ui/badge";
import { CopyButton } from "~/ui/copy-button";
import { Time } from "~/ui/time";

export const meta: MetaFunction = () => [{ title: "Customer · Linkdesk" }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const hash = params.hash ?? "";
  if (isCustomerHash(hash.toLowerCase()) && hash !== hash.toLowerCase()) throw redirect(`/customers/${hash.toLowerCase()}`);
  if (!isCustomerHash(hash)) {
    throw new Response("A customer address ends in the 64 hex characters of the hashed customer id.", { status: 404 });
  }
  const mockAllowed = environmentBadge(context.config) !== "PRODUCTION";
  const canMint = mockAllowed && can(staff.role, "mint:sandbox-token");
  const mockData = new URL(request.url).searchParams.get("mock") === "1";
  if (mockData && !mockAllowed) throw new Response("Cardlytics mock data is not available in production.", { status: 400 });
  const overview = await customerOverview(context, { customerHash: hash, mockData, actor: staff });
  return { hash, mockAllowed, mockData, canMint, ...overview };
}

const VERDICT_STYLE: Record<Verdict["answer"], { box: string; label: string }> = {
  yes: { box: "border-emerald-300 bg-emerald-50", label: "Yes" },
  "at-risk": { box: "border-amber-300 bg-amber-50", label: "Yes, but at risk" },
  no: { box: "border-red-300 bg-red-50", label: "No" },
  unknown: { box: "border-slate-300 bg-slate-100", label: "Can't tell right now" },
};

const STATE_BADGE: Record<AccountState, { tone: Tone; label: string }> = {
  active: { tone: "green", label: "Active" },
  expiring: { tone: "amber", label: "Expiring soon" },
  expired: { tone: "red", label: "Expired" },
  "not-open": { tone: "slate", label: "Not OPEN" },
};

export default function Customer() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const [show, setShow] = useState<"all" | "check" | "staff" | "item" | "webhook">("all");
  const style = VERDICT_STYLE[data.verdict.answer];
  const timeline = data.timeline.filter((e) => show === "all" || e.kind === show);
  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <p className="text-sm">
            <Link to="/customers" className="text-indigo-700 hover:underline">
              ← Find a customer
            </Link>
          </p>
          <p className="mt-2 text-xs font-semibold uppercase tracking-wide text-slate-500">x-source-customer-id</p>
          <h1 className="flex items-center gap-2 break-all font-mono text-lg">
            <span data-testid="customer-hash">{data.hash}</span>
            <CopyButton value={data.hash} />
          </h1>
        </div>
        <div className="flex items-center gap-2">
          <CopyButton value={data.escalation} label="Copy escalation packet" />
          <Link className="btn" to={`?${params.toString()}`} reloadDocument={false} preventScrollReset>
            Check again
          </Link>
          {data.mockAllowed ? (
            <Link className="btn" to={data.mockData ? "?" : "?mock=1"} title="Ask Cardlytics for canned data (x-mock-data: true)">
              {data.mockData ? "Turn mock data off" : "Use mock data"}
            </Link>
          ) : null}
        </div>
      </div>

      <section aria-labelledby="verdict-heading" className={`rounded-lg border p-4 ${style.box}`} data-testid="verdict" data-answer={data.verdict.answer}>
        <h2 id="verdict-heading" className="text-sm font-semibold uppercase tracking-wide text-slate-600">
          Can this customer earn cash-back?
        </h2>
        <p className="mt-1 text-xl font-bold">{style.label}</p>
        <p className="mt-1">{data.verdict.cause}</p>
        <p className="mt-1 text-sm">
          <strong>Next step:</strong> {data.verdict.nextStep}
        </p>
      </section>

      {data.mockData ? (
        <p role="status" className="rounded-md border border-sky-300 bg-sky-50 px-3 py-2 text-sm">
          Mock data is on: Cardlytics answered with canned data (x-mock-data: true). Nothing shown below is this customer's.
        </p>
      ) : null}
      {!data.live.ok ? (
        <div role="alert" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm">
          Cardlytics did not answer this time ({data.live.reason.replace("-", " ")}: {data.live.message}).{" "}
          {data.live.lastKnownAt ? (
            <>
              Showing the accounts as of the last good check, <Time value={data.live.lastKnownAt} now={data.now} />.
            </>
          ) : (
            "No earlier answer is stored for this customer."
          )}{" "}
          Request id <code className="font-mono">{data.live.requestId}</code> <CopyButton value={data.live.requestId} />
        </div>
      ) : null}

      <section className="card overflow-x-auto p-0" aria-labelledby="accounts-heading">
        <h2 id="accounts-heading" className="px-4 pt-3 font-semibold">
          Cardlytics linked accounts
        </h2>
        {data.accounts.length ? (
          <table className="table-basic" aria-label="Linked accounts">
            <thead>
              <tr>
                <th>Institution</th>
                <th>Name</th>
                <th>Last 4</th>
                <th>Type</th>
                <th>State</th>
                <th>Status</th>
                <th>Linked</th>
                <th>Expires</th>
                <th>Account id</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.accounts.map((a) => (
                <tr key={a.accountId}>
                  <td>{a.fiName}</td>
                  <td>{a.name}</td>
                  <td className="font-mono">{a.last4}</td>
                  <td>{a.cardType}</td>
                  <td>
                    <Badge tone={STATE_BADGE[a.state].tone}>{STATE_BADGE[a.state].label}</Badge>
                  </td>
                  <td className="font-mono text-xs">{a.status}</td>
                  <td>
                    <Time value={a.linkedDate} now={data.now} />
                  </td>
                  <td>{a.expirationDate === null ? <span className="text-slate-500">not given</span> : <Time value={a.expirationDate} now={data.now} />}</td>
                  <td className="whitespace-nowrap font-mono text-xs" title={a.accountId}>
                    {a.accountId.length > 12 ? `${a.accountId.slice(0, 12)}…` : a.accountId} <CopyButton value={a.accountId} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="px-4 pb-4 pt-2 text-sm text-slate-600">
            {data.live.ok
              ? "Cardlytics has no linked account under this hash (it answered 204). Either the customer never finished linking, the link was removed, or it sits under a different hash."
              : "Nothing is known yet."}
          </p>
        )}
      </section>

      <section className="card" aria-labelledby="items-heading">
        <div className="flex items-center justify-between">
          <h2 id="items-heading" className="font-semibold">
            Plaid items
          </h2>
          {data.canMint ? (
            <Link className="btn text-xs" to={`/plaid/sandbox?customer=${data.hash}`}>
              Mint a sandbox item
            </Link>
          ) : null}
        </div>
        {data.items.length ? (
          <ul className="mt-2 divide-y divide-slate-100 text-sm">
            {data.items.map((i) => (
              <li key={i.itemId} className="flex flex-wrap items-center justify-between gap-2 py-1.5">
                <Link className="text-indigo-700 hover:underline" to={`/plaid/items/${i.itemId}`}>
                  {i.institutionName ?? i.itemId}
                </Link>
                <span className="flex items-center gap-2">
                  <Badge tone={i.status === "active" ? "green" : i.status === "removed" || i.status === "permission-revoked" ? "red" : "amber"}>{i.status.replace("-", " ")}</Badge>
                  <Time value={i.createdAt} now={data.now} />
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="mt-2 text-sm text-slate-600">No Plaid item is recorded for this customer.</p>
        )}
      </section>

      <p className="text-sm">
        <Link className="text-indigo-700 hover:underline" to={`/customers/${data.hash}/check`}>
          Plaid Check consumer reports for this customer →
        </Link>
      </p>

      <section className="card overflow-x-auto p-0" aria-labelledby="checks-heading">
        <h2 id="checks-heading" className="px-4 pt-3 font-semibold">
          Account-link checks
        </h2>
        <table className="table-basic" aria-label="Account-link checks">
          <thead>
            <tr>
              <th>When</th>
              <th>Answer</th>
              <th>Accounts</th>
              <th>Request id</th>
              <th>Latency</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {data.checks.map((c) => (
              <tr key={c.id}>
                <td>
                  <Time value={c.at} now={data.now} />
                </td>
                <td>
                  <Badge tone={c.outcome === "linked" ? "green" : c.outcome === "none" ? "slate" : "red"}>{c.httpStatus ?? "no answer"}</Badge>{" "}
                  {c.changed ? <Badge tone="blue">changed</Badge> : null} {c.mockData ? <Badge tone="blue">mock</Badge> : null}
                </td>
                <td className="text-xs">{c.summary}</td>
                <td className="font-mono text-xs">{c.requestId}</td>
                <td className="text-xs">{c.latencyMs} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="card" aria-labelledby="timeline-heading">
        <div className="flex items-center justify-between">
          <h2 id="timeline-heading" className="font-semibold">
            Timeline
          </h2>
          <div className="flex gap-1 text-sm" role="group" aria-label="Show in the timeline">
            {(["all", "check", "item", "webhook", "staff"] as const).map((kind) => (
              <button key={kind} type="button" className={`btn px-2 py-0.5 text-xs ${show === kind ? "bg-slate-200" : ""}`} aria-pressed={show === kind} onClick={() => setShow(kind)}>
                {{ all: "Everything", check: "Cardlytics checks", item: "Plaid items", webhook: "Plaid webhooks", staff: "Staff actions" }[kind]}
              </button>
            ))}
          </div>
        </div>
        <ol className="mt-2 divide-y divide-slate-100 text-sm">
          {timeline.map((e, i) => (
            <li key={`${e.kind}-${e.at}-${i}`} className="flex flex-wrap items-baseline justify-between gap-2 py-1.5">
              <span>
                <span className="font-medium">{e.title}</span> <span className="text-slate-600">{e.detail}</span>
              </span>
              <Time value={e.at} now={data.now} />
            </li>
          ))}
        </ol>
      </section>
      <details className="card text-sm">
        <summary className="cursor-pointer font-semibold">Escalation packet</summary>
        <pre className="mt-2 whitespace-pre-wrap break-all font-mono text-xs" data-testid="escalation-packet">
          {data.escalation}
        </pre>
      </details>
    </div>
  );
}
