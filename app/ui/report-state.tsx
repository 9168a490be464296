import type { ReportState } from "~/reports/report-states";
import { Badge, type Tone } from "./badge";

const TONE: Record<ReportState, Tone> = { queued: "slate", pending: "blue", stuck: "red", ready: "green", expired: "amber", failed: "red" };
export const STATE_LABEL: Record<ReportState, string> = { queued: "queued", pending: "pending", stuck: "no webhook yet", ready: "ready", expired: "expired", failed: "failed" };

export function ReportStateBadge({ state }: { state: ReportState }) {
  return <Badge tone={TONE[state]}>{STATE_LABEL[state]}</Badge>;
}

const money = (currency: string) => new Intl.NumberFormat("en-US", { style: "currency", currency: /^[A-Z]{3}$/.test(currency) ? currency : "USD" });

export function formatMoney(amount: number | null | undefined, currency = "USD"): string {
  return amount === null || amount === undefined ? "—" : money(currency).format(amount);
}
