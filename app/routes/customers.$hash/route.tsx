import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Await, Link, useLoaderData, useNavigate, useSearchParams } from "@remix-run/react";
import { Suspense } from "react";
import { requireAccessReason } from "~/customers/access-reason.server";
import { isCustomerHash } from "~/customers/customer-id";
import { ID_KIND_LABEL } from "~/customers/identity-labels";
import { customerOverview } from "~/customers/overview.server";
import type { Verdict } from "~/customers/verdict";
import { environmentBadge } from "~/config/env.server";
import { requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { CopyButton } from "~/ui/copy-button";
import { Time } from "~/ui/time";
import { AccountsTable } from "./components/accounts";
import { LinkSessions } from "./components/link-sessions";
import { ItemCard } from "./components/plaid-items";
import { Timeline } from "./components/timeline";
import { TableScroll } from "~/ui/table-scroll";
import { KeyboardShortcuts, type Shortcut } from "~/ui/shortcuts";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";

export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args, args.data ? `Customer ${args.data.hash.slice(0, 8)}…` : "Customer");

/**
 * What is stored renders at once; Cardlytics' live answer, each item Plaid is asked about, the verdict and the
 * escalation packet stream in as they settle, so a slow vendor never holds the page.
 */
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const hash = params.hash ?? "";
  if (isCustomerHash(hash.toLowerCase()) && hash !== hash.toLowerCase()) throw redirect(`/customers/${hash.toLowerCase()}`);
  if (!isCustomerHash(hash)) {
    throw new Response("A customer address ends in the 64 hex characters of the hashed customer id.", { status: 404 });
  }
  // Before anything of the customer's is read: a reason, when the console asks for one.
  const access = requireAccessReason(request, context, staff, hash);
  const mockAllowed = environmentBadge(context.config) !== "PRODUCTION";
  const canMint = mockAllowed && can(staff.role, "mint:sandbox-token");
  const mockData = new URL(request.url).searchParams.get("mock") === "1";
  if (mockData && !mockAllowed) throw new Response("Cardlytics mock data is not available in production.", { status: 400 });
  const overview = customerOverview(context, { customerHash: hash, mockData, actor: staff, access });
  return { hash, mockAllowed, mockData, canMint, ...overview };
}

const VERDICT_STYLE: Record<Verdict["answer"], { box: string; label: string }> = {
  yes: { box: "border-emerald-300 bg-emerald-50", label: "Yes" },
  "at-risk": { box: "border-amber-300 bg-amber-50", label: "Yes, but at risk" },
  no: { box: "border-red-300 bg-red-50", label: "No" },
  unknown: { box: "border-slate-300 bg-slate-100", label: "Can't tell right now" },
};

function VerdictBox({ verdict }: { verdict: Verdict | null }) {
  const style = verdict ? VERDICT_STYLE[verdict.answer] : { box: "border-slate-200 bg-white", label: "Asking Cardlytics and Plaid…" };
  return (
    <section aria-labelledby="verdict-heading" aria-busy={!verdict} className={`rounded-lg border p-4 ${style.box}`} data-testid="verdict" data-answer={verdict?.answer ?? "pending"}>
      <h2 id="verdict-heading" className="text-sm font-semibold uppercase tracking-wide text-slate-700">
        Can this customer earn cash-back?
      </h2>
      <p className="mt-1 text-xl font-bold">{style.label}</p>
      {verdict ? (
        <>
          <p className="mt-1">{verdict.cause}</p>
          <p className="mt-1 text-sm">
            <strong>Next step:</strong> {verdict.nextStep}
          </p>
        </>
      ) : (
        <p className="mt-1 text-sm text-slate-700">The stored state is below; the verdict follows the live answers.</p>
      )}
    </section>
  );
}

const failed = (label: string) =>
  function Failed() {
    return (
      <Notice tone="error">
        {label} could not be read just now. What is stored is shown; reload to try again.
      </Notice>
    );
  };

export default function Customer() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const { stored, now } = data;
  const navigate = useNavigate();
  const shortcuts: Shortcut[] = [
    { key: "r", label: "Check again: ask Cardlytics and Plaid now", run: () => navigate(`?${params.toString()}`, { preventScrollReset: true }) },
    { key: "e", label: "Copy the escalation packet", run: () => document.querySelector<HTMLButtonElement>('button[aria-label^="Copy escalation packet"]')?.click() },
    { key: "k", label: "Open the customer's Plaid Check reports", run: () => navigate(`/customers/${data.hash}/check`) },
    {
      key: "t",
      label: "Go to the timeline",
      run: () => {
        const timeline = document.getElementById("timeline-heading")?.closest("section");
        timeline?.scrollIntoView();
        timeline?.querySelector<HTMLElement>("button, a")?.focus();
      },
    },
    ...(data.canMint ? [{ key: "m", label: "Mint a sandbox item for this customer", run: () => navigate(`/plaid/sandbox?customer=${data.hash}`) }] : []),
  ];
  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <p className="text-sm">
            <Link to="/customers" className="link">
              ← Find a customer
            </Link>
          </p>
          <p className="mt-2 text-xs font-semibold uppercase tracking-wide text-slate-600">x-source-customer-id</p>
          <h1 className="flex items-center gap-2 break-all font-mono text-lg">
            <span data-testid="customer-hash">{data.hash}</span>
            <CopyButton value={data.hash} />
          </h1>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Suspense fallback={<span className="text-xs text-slate-600">Escalation packet after the live answers…</span>}>
            <Await resolve={data.escalation} errorElement={null}>
              {(packet) => <CopyButton value={packet} label="Copy escalation packet" />}
            </Await>
          </Suspense>
          <Link className="btn" to={`?${params.toString()}`} preventScrollReset aria-keyshortcuts="r">
            Check again
          </Link>
          {data.mockAllowed ? (
            <Link className="btn" to={data.mockData ? "?" : "?mock=1"} title="Ask Cardlytics for canned data (x-mock-data: true)">
              {data.mockData ? "Turn mock data off" : "Use mock data"}
            </Link>
          ) : null}
          <KeyboardShortcuts title="Keyboard shortcuts on a customer's page" shortcuts={shortcuts} />
        </div>
      </div>

      <Suspense fallback={<VerdictBox verdict={null} />}>
        <Await resolve={data.verdict} errorElement={<VerdictBox verdict={{ answer: "unknown", code: "never-checked", cause: "The verdict could not be worked out just now.", nextStep: "Reload the page." }} />}>
          {(verdict) => <VerdictBox verdict={verdict} />}
        </Await>
      </Suspense>

      {data.mockData ? (
        <Notice tone="info">
          Mock data is on: Cardlytics answered with canned data (x-mock-data: true). Nothing shown below is this customer&apos;s.
        </Notice>
      ) : null}

      <section className="card p-0" aria-labelledby="accounts-heading">
        <h2 id="accounts-heading" className="px-4 pt-3 font-semibold">
          Cardlytics linked accounts
        </h2>
        <Suspense
          fallback={
            <>
              <p className="px-4 pt-1 text-xs text-slate-600" role="status">
                Asking Cardlytics… {stored.lastGoodCheckAt ? <>Showing the accounts of the last good check, <Time value={stored.lastGoodCheckAt} now={now} />.</> : null}
              </p>
              <AccountsTable accounts={stored.accounts} now={now} empty="Nothing is stored for this customer yet." />
            </>
          }
        >
          <Await resolve={data.cardlytics} errorElement={failed("Cardlytics")()}>
            {(c) =>
              c.state === "waiting" ? (
                <>
                  <Notice tone="warning" className="mx-4 mt-1">
                    Cardlytics has not answered within {Math.round(c.waitedMs / 1000)} s. Its answer is still stored when it comes; Check again in a moment. Showing the last stored accounts.
                  </Notice>
                  <AccountsTable accounts={stored.accounts} now={now} empty="Nothing is stored for this customer yet." />
                </>
              ) : (
                <>
                  {!c.ok ? (
                    <Notice tone="warning" className="mx-4 mt-1">
                      Cardlytics did not answer this time ({c.reason.replace("-", " ")}: {c.message}).{" "}
                      {c.lastKnownAt ? (
                        <>
                          Showing the accounts as of the last good check, <Time value={c.lastKnownAt} now={now} />.
                        </>
                      ) : (
                        "No earlier answer is stored for this customer."
                      )}{" "}
                      Request id <code className="font-mono">{c.requestId}</code> <CopyButton value={c.requestId} />
                    </Notice>
                  ) : null}
                  <AccountsTable
                    accounts={c.accounts}
                    now={now}
                    empty={c.ok ? "Cardlytics has no linked account under this hash (it answered 204). Either the customer never finished linking, the link was removed, or it sits under a different hash." : "Nothing is known yet."}
                  />
                </>
              )
            }
          </Await>
        </Suspense>
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
        {stored.items.length ? (
          <Suspense fallback={<ul className="mt-1 divide-y divide-slate-100">{stored.items.map((i) => <ItemCard key={i.itemId} item={i} live={undefined} now={now} />)}</ul>}>
            <Await resolve={data.plaid} errorElement={failed("Plaid")()}>
              {(p) => (
                <ul className="mt-1 divide-y divide-slate-100">
                  {stored.items.map((i) => (
                    <ItemCard key={i.itemId} item={i} live={"items" in p ? p.items.find((l) => l.itemId === i.itemId) : "waiting"} now={now} />
                  ))}
                </ul>
              )}
            </Await>
          </Suspense>
        ) : (
          <p className="mt-2 text-sm text-slate-600">No Plaid item is recorded for this customer.</p>
        )}
      </section>

      <section className="card" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading" className="font-semibold">
          Link sessions
        </h2>
        <Suspense fallback={<LinkSessions sessions={stored.linkSessions} tokens={null} now={now} />}>
          <Await resolve={data.plaid} errorElement={<LinkSessions sessions={stored.linkSessions} tokens={[]} now={now} />}>
            {(p) => <LinkSessions sessions={stored.linkSessions} tokens={"linkTokens" in p ? p.linkTokens : []} now={now} />}
          </Await>
        </Suspense>
      </section>

      <section className="card text-sm" aria-labelledby="check-heading">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h2 id="check-heading" className="font-semibold">
            Plaid Check
          </h2>
          <Link className="link" to={`/customers/${data.hash}/check`}>
            Plaid Check consumer reports for this customer →
          </Link>
        </div>
        {stored.checkUser ? (
          <p className="mt-1">
            Check user <span className="font-mono">{stored.checkUser.userId ?? "(user_token only)"}</span> ({stored.checkUser.generation === "legacy" ? "older user API" : "newer user API"},{" "}
            {stored.checkUser.source === "publisher" ? "registered by the publisher" : "made in this console"}){stored.checkUser.removedAt ? ", removed" : ""}.
          </p>
        ) : (
          <p className="mt-1 text-slate-600">No Plaid Check user is recorded for this customer.</p>
        )}
        {stored.reports.length ? (
          <ul className="mt-1 flex flex-wrap gap-2">
            {stored.reports.map((r) => (
              <li key={r.id}>
                <Link className="link" to={`/reports/${r.id}`}>
                  Report #{r.id}
                </Link>{" "}
                {r.state} ({r.origin === "plaid" ? "by Plaid after Link" : r.origin === "publisher" ? "requested by the publisher" : "requested here"}), <Time value={r.requestedAt} now={now} />
              </li>
            ))}
          </ul>
        ) : null}
      </section>

      <section className="card p-0" aria-labelledby="checks-heading">
        <h2 id="checks-heading" className="px-4 pt-3 font-semibold">
          Account-link checks
        </h2>
        <TableScroll label="Account-link checks">
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
            {stored.checks.map((c) => (
              <tr key={c.id}>
                <td>
                  <Time value={c.at} now={now} />
                </td>
                <td className="text-xs">
                  {c.httpStatus ?? "no answer"} {c.changed ? "· changed" : ""} {c.mockData ? "· mock" : ""}
                </td>
                <td className="text-xs">{c.summary}</td>
                <td className="font-mono text-xs">{c.requestId}</td>
                <td className="text-xs">{c.latencyMs} ms</td>
              </tr>
            ))}
            {stored.checks.length === 0 ? (
              <tr>
                <td colSpan={5} className="text-slate-600">
                  This is the first check; it appears here on the next view.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
        </TableScroll>
      </section>

      <Timeline hash={data.hash} first={data.timeline} now={now} />

      <details className="card text-sm">
        <summary className="cursor-pointer font-semibold">Ids on record for this customer</summary>
        <ul className="mt-2 space-y-0.5 text-xs" data-testid="customer-ids">
          {stored.ids.map((i) => (
            <li key={`${i.kind}:${i.value}`}>
              {ID_KIND_LABEL[i.kind]} <span className="font-mono">{i.value}</span> · from {i.source} <Time value={i.firstSeenAt} now={now} />
            </li>
          ))}
        </ul>
        {stored.conflicts.length ? (
          <>
            <h3 className="mt-3 font-semibold">Refused claims</h3>
            <ul className="mt-1 space-y-0.5 text-xs" data-testid="id-conflicts">
              {stored.conflicts.map((c) => (
                <li key={c.id}>
                  <Time value={c.at} now={now} />: {ID_KIND_LABEL[c.kind]} <span className="font-mono">{c.value}</span>{" "}
                  {c.ownerHash === data.hash ? "is this customer's; another customer's claim to it was refused" : "was claimed for this customer but belongs to another customer, so it was refused"} ({c.source})
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </details>
      <details className="card text-sm">
        <summary className="cursor-pointer font-semibold">Escalation packet</summary>
        <Suspense fallback={<p className="mt-2 text-xs text-slate-600">Waiting for the live answers…</p>}>
          <Await resolve={data.escalation} errorElement={<p className="mt-2 text-xs">The packet could not be put together just now.</p>}>
            {(packet) => (
              <pre className="mt-2 whitespace-pre-wrap break-all font-mono text-xs" data-testid="escalation-packet">
                {packet}
              </pre>
            )}
          </Await>
        </Suspense>
      </details>
    </div>
  );
}
