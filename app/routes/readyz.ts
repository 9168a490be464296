import type { LoaderFunctionArgs } from "@remix-run/node";
import { readiness } from "~/ops/readiness.server";

// Public, for orchestrators: 200 when every part is ready, 503 naming the parts that are not. /healthz stays the
// cheap liveness answer.
export async function loader({ context }: LoaderFunctionArgs) {
  const r = await readiness({ db: context.db, plaid: context.plaid, cardlytics: context.cardlytics, now: context.now, maxQueueLagMs: context.config.readyMaxQueueLagMs });
  return Response.json({ status: r.ready ? "ready" : "not ready", failing: r.failing, checks: r.checks }, { status: r.ready ? 200 : 503, headers: { "Cache-Control": "no-store" } });
}
