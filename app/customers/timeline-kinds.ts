// The kinds of entry on a customer's timeline, shared by the server that reads them and the page that filters them.
export const TIMELINE_KINDS = ["check", "item", "link", "report", "webhook", "funnel", "staff"] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];
export const TIMELINE_KIND_LABEL: Record<TimelineKind, string> = {
  check: "Cardlytics checks",
  item: "Plaid items and tokens",
  link: "Link sessions",
  report: "Plaid Check",
  webhook: "Plaid webhooks",
  funnel: "Funnel steps",
  staff: "Staff actions",
};
