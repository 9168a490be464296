import type { LoaderFunctionArgs } from "@remix-run/node";
import { csvResponse } from "~/lib/csv";
import { parseFunnelParams } from "~/funnel/params";
import { funnelReport, type Figures } from "~/funnel/report.server";
import { recordAudit } from "~/staff/audit.server";
import { requirePermission } from "~/staff/guards.server";

const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms / 1000));
const share = (x: number | null) => (x === null ? null : x.toFixed(4));

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:funnel");
  const now = context.now();
  const { query, errors, settings } = parseFunnelParams(new URL(request.url).searchParams, now);
  if (Object.keys(errors).length) throw new Response(`Fix the settings before exporting: ${Object.values(errors).join("; ")}`, { status: 400 });
  const report = funnelReport(context.db, query, now.getTime());
  recordAudit(context.db, { actor: staff, action: "funnel.export", clientAddress: context.clientAddress, details: { settings }, at: now });
  const period = `${settings.from}..${settings.to}`;
  const previousPeriod = `${new Date(report.previous.from).toISOString().slice(0, 10)}..${new Date(report.previous.to - 86_400_000).toISOString().slice(0, 10)}`;
  function* rowsOf(periodLabel: string, group: string, f: Figures) {
    for (const s of f.steps) yield [periodLabel, group, s.name, s.count, share(s.fromPrevious), share(s.fromFirst), s.dropOff, seconds(s.medianToNextMs), seconds(s.p90ToNextMs)];
    yield [periodLabel, group, "report_ready", f.report.count, share(f.report.fromItemAdded), null, null, null, null];
  }
  function* rows() {
    yield* rowsOf(period, "all", report.figures);
    yield* rowsOf(previousPeriod, "all", report.previous.figures);
    for (const g of report.breakdown ?? []) yield* rowsOf(period, `${settings.breakdown}=${g.value}`, g.figures);
  }
  return csvResponse(
    `linkdesk-funnel-${settings.from}-${settings.to}.csv`,
    ["period", "group", "step", "customers", "conversion_from_previous", "conversion_from_first", "dropped_off", "median_seconds_to_next", "p90_seconds_to_next"],
    rows(),
  );
}
