// The linking funnel, in order. Each step's rollup column holds the first time a customer reached it.

export const FUNNEL_STEPS = [
  { name: "link_started", label: "Link started", column: "link_started_at" },
  { name: "institution_selected", label: "Institution selected", column: "institution_selected_at" },
  { name: "credentials_submitted", label: "Credentials submitted", column: "credentials_submitted_at" },
  { name: "item_added", label: "Item added", column: "item_added_at" },
  { name: "processor_token_created", label: "Cardlytics processor token created", column: "processor_token_created_at" },
  { name: "account_linked", label: "Cardlytics account linked", column: "account_linked_at" },
] as const;

/** A branch off "Item added": a Plaid Check consumer report turned ready. */
export const REPORT_BRANCH = { name: "report_ready", label: "Consumer report ready", column: "report_ready_at" } as const;

/** Events that are not steps but explain drop-off: Link closed by the user, or an error inside Link. */
export const OUTCOME_EVENTS = ["link_exit", "link_error"] as const;

export const STEP_NAMES = [...FUNNEL_STEPS.map((s) => s.name), REPORT_BRANCH.name] as const;
export const EVENT_NAMES = [...STEP_NAMES, ...OUTCOME_EVENTS] as const;
export type FunnelEventName = (typeof EVENT_NAMES)[number];

export const STEP_COLUMN: Record<string, string> = Object.fromEntries([...FUNNEL_STEPS, REPORT_BRANCH].map((s) => [s.name, s.column]));

export function isEventName(value: unknown): value is FunnelEventName {
  return typeof value === "string" && (EVENT_NAMES as readonly string[]).includes(value);
}

/** Plaid Link's own event names (LINK/EVENTS webhook) and the funnel event each stands for. */
export const LINK_EVENT_MAP: Record<string, FunnelEventName> = {
  OPEN: "link_started",
  SELECT_INSTITUTION: "institution_selected",
  SUBMIT_CREDENTIALS: "credentials_submitted",
  HANDOFF: "item_added",
  EXIT: "link_exit",
  ERROR: "link_error",
};
