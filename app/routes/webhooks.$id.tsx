import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { recordAudit } from "~/staff/audit.server";
import { requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { Badge } from "~/ui/badge";
import { CopyButton } from "~/ui/copy-button";
import { Time } from "~/ui/time";
import { getDelivery, getEventWithDeliveries, reportsSettledBy } from "~/webhooks/history.server";
import { rehandleEvent } from "~/webhooks/receive.server";
import { REDACTED } from "~/webhooks/redact.server";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { Notice } from "~/ui/notice";

export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args, args.data ? `${args.data.delivery.webhookType ?? "?"}/${args.data.delivery.webhookCode ?? "?"}` : null, "Webhook");

function deliveryId(params: { id?: string }) {
  const id = Number(params.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Response("No webhook delivery has that id.", { status: 404 });
  return id;
}

function pretty(body: Buffer): string | null {
  try {
    return JSON.stringify(JSON.parse(body.toString("utf8")), null, 2);
  } catch {
    return null;
  }
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const delivery = getDelivery(context.db, deliveryId(params));
  if (!delivery) throw new Response("No webhook delivery has that id.", { status: 404 });
  const { event, deliveries } = delivery.eventId ? getEventWithDeliveries(context.db, delivery.eventId) : { event: undefined, deliveries: [] };
  return {
    delivery: { ...delivery, body: undefined, receivedAt: delivery.receivedAt.getTime() },
    raw: delivery.body.toString("utf8"),
    pretty: pretty(delivery.body),
    redacted: delivery.body.includes(`"${REDACTED}"`),
    event: event ? { id: event.id, handlingStatus: event.handlingStatus, handlingResult: event.handlingResult, handledAt: event.handledAt?.getTime() ?? null, handleAttempts: event.handleAttempts, deliveryCount: event.deliveryCount } : null,
    deliveries: deliveries.map((d) => ({ ...d, receivedAt: d.receivedAt.getTime() })),
    reports: event ? reportsSettledBy(context.db, event.id) : [],
    mayRehandle: can(staff.role, "rehandle:webhook"),
    now: context.now().getTime(),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "rehandle:webhook");
  const delivery = getDelivery(context.db, deliveryId(params));
  if (!delivery?.eventId) throw new Response("Only a verified delivery has an event to handle.", { status: 404 });
  const event = rehandleEvent(context.db, delivery.eventId, context.now());
  recordAudit(context.db, { actor: staff, action: "webhook.rehandle", targetType: "webhook_event", targetId: event.id, customerHash: event.customerHash ?? undefined, clientAddress: context.clientAddress, details: { result: event.handlingStatus }, at: context.now() });
  return { message: `Handler re-run: ${event.handlingStatus} (${event.handlingResult ?? ""}).` };
}

export default function WebhookDelivery() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const rehandling = useIsPending();
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link to="/webhooks" className="link">
          ← Webhooks
        </Link>
      </p>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="font-mono text-xl font-bold">
          {d.delivery.webhookType ?? "?"}/{d.delivery.webhookCode ?? "?"}
        </h1>
        {d.delivery.verdict === "verified" ? <Badge tone="green">verified</Badge> : <Badge tone="red">rejected: answered {d.delivery.answeredStatus}</Badge>}
        {d.event ? <Badge tone={d.event.handlingStatus === "failed" ? "red" : "blue"}>{d.event.handlingStatus}</Badge> : null}
      </div>
      {result ? <Notice tone="success">{result.message}</Notice> : null}
      <div className="grid gap-4 md:grid-cols-2">
        <section className="card space-y-1 text-sm" aria-label="Verification">
          <h2 className="font-semibold">Verification</h2>
          <p>
            Received <Time value={d.delivery.receivedAt} now={d.now} /> from <span className="font-mono">{d.delivery.clientAddress}</span>
          </p>
          <p>{d.delivery.reason ? <>Refused: {d.delivery.reason}</> : "Signature, age and body hash checked."}</p>
          <p className="font-mono text-xs">
            kid {d.delivery.kid ?? "—"} · iat {d.delivery.iat ? new Date(d.delivery.iat * 1000).toISOString() : "—"}
            {d.delivery.verdict === "rejected" && d.delivery.iat ? " (as claimed by a refused delivery)" : ""}
          </p>
          <p className="font-mono text-xs">
            body sha256 {d.delivery.bodySha256} <CopyButton value={d.delivery.bodySha256} />
          </p>
          {d.delivery.itemId ? (
            <p>
              item_id <span className="font-mono text-xs">{d.delivery.itemId}</span>{" "}
              <Link className="link" to={`/plaid/items/${d.delivery.itemId}`}>
                item page
              </Link>
            </p>
          ) : null}
          {d.delivery.userId ? (
            <p>
              user_id <span className="font-mono text-xs">{d.delivery.userId}</span>{" "}
              {d.delivery.customerHash ? (
                <Link className="link" to={`/customers/${d.delivery.customerHash}/check`}>
                  Plaid Check page
                </Link>
              ) : (
                <span className="text-xs text-slate-500">(no Plaid Check user recorded here)</span>
              )}
            </p>
          ) : null}
          {d.delivery.customerHash ? (
            <p>
              <Link className="link" to={`/customers/${d.delivery.customerHash}`}>
                Customer {d.delivery.customerHash.slice(0, 12)}…
              </Link>
            </p>
          ) : null}
          {d.reports.map((r) => (
            <p key={r.id}>
              Settled{" "}
              <Link className="link" to={`/reports/${r.id}`}>
                consumer report #{r.id}
              </Link>{" "}
              ({r.status})
            </p>
          ))}
        </section>
        <section className="card space-y-2 text-sm" aria-label="Handling">
          <h2 className="font-semibold">Handling</h2>
          {d.event ? (
            <>
              <p>
                {d.event.handlingStatus}: {d.event.handlingResult} ({plural(d.event.handleAttempts, "run")}, last <Time value={d.event.handledAt} now={d.now} />)
              </p>
              <h3 className="font-semibold">Deliveries of this event ({d.event.deliveryCount})</h3>
              <ul className="text-xs">
                {d.deliveries.map((x) => (
                  <li key={x.id}>
                    <Link className="link" to={`/webhooks/${x.id}`}>
                      #{x.id}
                    </Link>{" "}
                    <Time value={x.receivedAt} now={d.now} /> kid {x.kid}
                  </li>
                ))}
              </ul>
              {d.mayRehandle ? (
                <Form method="post">
                  <StatusButton className="btn" pending={rehandling} pendingText="Re-running…">
                    Re-run handler
                  </StatusButton>
                </Form>
              ) : null}
            </>
          ) : (
            <p>Not handled: an unverified delivery is stored but never acted on.</p>
          )}
        </section>
      </div>
      <section className="card text-sm" aria-label="Payload">
        <h2 className="font-semibold">Payload</h2>
        {d.redacted ? (
          <p className="mt-1 text-slate-600" data-testid="redacted-note">
            Token values are <Badge tone="slate">redacted</Badge> before a delivery is stored; the body hash above is that of the bytes as received.
          </p>
        ) : null}
        {d.pretty ? <pre className="mt-2 overflow-x-auto whitespace-pre-wrap break-all font-mono text-xs">{d.pretty}</pre> : <p className="mt-2 text-slate-600">The body is not JSON.</p>}
        <details className="mt-2">
          <summary className="cursor-pointer">Raw body, as received{d.redacted ? ", token values redacted" : ""} ({d.raw.length} characters)</summary>
          <pre className="mt-2 overflow-x-auto whitespace-pre-wrap break-all font-mono text-xs">{d.raw}</pre>
        </details>
        <details className="mt-2">
          <summary className="cursor-pointer">Headers</summary>
          <pre className="mt-2 overflow-x-auto whitespace-pre-wrap break-all font-mono text-xs">{JSON.stringify(d.delivery.headers, null, 2)}</pre>
        </details>
      </section>
    </div>
  );
}
