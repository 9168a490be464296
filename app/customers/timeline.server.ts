import type { Db } from "../../db/open";
import { TIMELINE_KINDS, type TimelineKind } from "./timeline-kinds";
import { plural } from "../lib/plural";
import { auditActionLabel } from "../staff/audit-labels";

export { TIMELINE_KINDS, type TimelineKind } from "./timeline-kinds";

// Everything about one customer in one list, newest first, filterable by kind and paged. Each source is read through
// its own (customer, time) index, at most one page past the cursor, and the sources are merged: a page costs the same
// however long the customer's history is.

export type TimelineEntry = { key: string; at: number; kind: TimelineKind; title: string; detail: string | null; href: string | null; requestId: string | null };
export type TimelinePage = { entries: TimelineEntry[]; next: string | null };

/** The cursor is the time of the last entry shown and how many entries at exactly that time were shown. */
export function parseCursor(value: string | null): { at: number; skip: number } | null {
  const m = /^(\d{1,15}):(\d{1,4})$/.exec(value ?? "");
  return m ? { at: Number(m[1]), skip: Number(m[2]) } : null;
}

type Row = Record<string, unknown>;
type Source = (hash: string, before: number, limit: number) => TimelineEntry[];

function sources(db: Db, describeAction: (action: string) => string): Record<TimelineKind, Source> {
  const c = db.$client;
  const q = (sql: string) => c.prepare(sql);
  const checks = q("select id, checked_at as at, outcome, http_status as status, request_id as requestId, mock_data as mock, accounts from account_link_checks where customer_hash = @h and checked_at <= @b order by checked_at desc limit @n");
  const items = q(
    `select 'added' as what, item_id as itemId, institution_name as institution, source, created_at as at, null as extra from plaid_items where customer_hash = @h and created_at <= @b
     union all select 'removed', item_id, institution_name, source, removed_at, null from plaid_items where customer_hash = @h and removed_at <= @b
     union all select 'token', t.item_id, t.processor, t.source, t.created_at, t.token_hint from processor_tokens t join plaid_items i on i.item_id = t.item_id where i.customer_hash = @h and t.created_at <= @b
     union all select 'cardlytics:' || coalesce(t.cardlytics_result, 'connected'), t.item_id, t.cardlytics_request_id, t.source, t.sent_to_cardlytics_at, t.cardlytics_message from processor_tokens t join plaid_items i on i.item_id = t.item_id where i.customer_hash = @h and t.sent_to_cardlytics_at <= @b
     union all select 'revoked', t.item_id, t.processor, t.source, t.revoked_at, t.token_hint from processor_tokens t join plaid_items i on i.item_id = t.item_id where i.customer_hash = @h and t.revoked_at <= @b
     order by at desc limit @n`,
  );
  const links = q(
    `select d.link_session_id as sessionId, min(d.received_at) as at, group_concat(d.webhook_code) as codes from webhook_deliveries d
     where d.customer_hash = @h and d.webhook_type = 'LINK' and d.link_session_id is not null and d.verdict = 'verified' group by d.link_session_id having at <= @b order by at desc limit @n`,
  );
  const reports = q(
    `select 'user' as what, id, generation as detail, source as origin, created_at as at, null as status, user_id as userId from cra_users where customer_hash = @h and created_at <= @b
     union all select 'requested', id, reason, origin, requested_at, status, plaid_request_id from cra_reports where customer_hash = @h and requested_at <= @b
     union all select 'settled', id, error_code, origin, completed_at, status, settled_by from cra_reports where customer_hash = @h and completed_at <= @b
     order by at desc limit @n`,
  );
  const webhooks = q(
    `select d.id, d.received_at as at, d.webhook_type as type, d.webhook_code as code, d.verdict, d.item_id as itemId, e.handling_status as handling from webhook_deliveries d left join webhook_events e on e.id = d.event_id
     where d.customer_hash = @h and d.received_at <= @b order by d.id desc limit @n`,
  );
  const funnel = q("select id, occurred_at as at, name, source, institution_name as institution, error_code as errorCode from funnel_events where customer_hash = @h and occurred_at <= @b order by occurred_at desc limit @n");
  const staff = q("select id, at, action, staff_email as email, role, details from audit_log where customer_hash = @h and at <= @b order by id desc limit @n");
  const entry = (kind: TimelineKind, key: string | number, at: number, title: string, detail: string | null, href: string | null = null, requestId: string | null = null): TimelineEntry => ({ key: `${kind}:${key}`, at, kind, title, detail, href, requestId });
  const all = (st: ReturnType<typeof q>, h: string, b: number, n: number) => st.all({ h, b, n }) as Row[];
  return {
    check: (h, b, n) =>
      all(checks, h, b, n).map((r) => {
        const accounts = r.accounts ? (JSON.parse(String(r.accounts)) as { fiName?: string; last4?: string; status?: string }[]) : [];
        const what = r.outcome === "linked" ? `${plural(accounts.length, "account")}: ${accounts.map((a) => `${a.fiName ?? "?"} ••${a.last4 ?? "??"} ${a.status ?? ""}`).join(", ")}` : r.outcome === "none" ? "no linked account (204)" : `failed${r.status ? ` (HTTP ${String(r.status)})` : " (no answer)"}`;
        return entry("check", Number(r.id), Number(r.at), `Cardlytics accountLink: ${String(r.outcome)}${r.mock ? " (mock data)" : ""}`, what, null, String(r.requestId));
      }),
    item: (h, b, n) =>
      all(items, h, b, n).map((r, i) => {
        const by = r.source === "publisher" ? "registered by the publisher" : "made in this console";
        const what = String(r.what);
        const href = `/plaid/items/${String(r.itemId)}`;
        if (what === "added") return entry("item", `${String(r.itemId)}:a`, Number(r.at), "Plaid item added", `${String(r.institution ?? "?")} (${String(r.itemId)}), ${by}`, href);
        if (what === "removed") return entry("item", `${String(r.itemId)}:r`, Number(r.at), "Plaid item removed; its processor tokens are revoked", String(r.itemId), href);
        if (what === "token") return entry("item", `${String(r.itemId)}:t${i}:${String(r.at)}`, Number(r.at), `Processor token created (${String(r.institution)})`, `${String(r.extra)}, ${by}`, href);
        if (what === "revoked") return entry("item", `${String(r.itemId)}:v${i}:${String(r.at)}`, Number(r.at), "Processor token revoked", String(r.extra), href);
        const result = what.split(":")[1];
        return entry("item", `${String(r.itemId)}:c${i}:${String(r.at)}`, Number(r.at), result === "connected" ? "Processor token handed to Cardlytics" : `Cardlytics ${result === "refused" ? "refused" : "failed on"} the processor token`, r.extra ? String(r.extra) : null, href, r.institution ? String(r.institution) : null);
      }),
    link: (h, b, n) =>
      all(links, h, b, n).map((r) => {
        const codes = String(r.codes ?? "").split(",");
        const outcome = codes.includes("ITEM_ADD_RESULT") ? "an item was added" : codes.includes("SESSION_FINISHED") ? "finished without an item" : "in progress";
        return entry("link", String(r.sessionId), Number(r.at), "Link session", `${String(r.sessionId)}: ${outcome}`, `#link-${String(r.sessionId)}`);
      }),
    report: (h, b, n) =>
      all(reports, h, b, n).map((r) => {
        const what = String(r.what);
        if (what === "user") return entry("report", `u${String(r.id)}`, Number(r.at), "Plaid Check user created", `${String(r.userId ?? "user_token only")} (${r.detail === "legacy" ? "older user API" : "newer user API"}), ${r.origin === "publisher" ? "registered by the publisher" : "made in this console"}`);
        const origin = r.origin === "plaid" ? "built by Plaid after a Link session" : r.origin === "publisher" ? "requested by the publisher" : "requested in this console";
        if (what === "requested") return entry("report", `q${String(r.id)}`, Number(r.at), `Consumer report #${String(r.id)} requested`, `${origin}${r.detail ? `: ${String(r.detail)}` : ""}`, `/reports/${String(r.id)}`, r.userId ? String(r.userId) : null);
        return entry("report", `s${String(r.id)}`, Number(r.at), `Consumer report #${String(r.id)} ${String(r.status)}`, `${r.userId === "probe" ? "settled by a probe" : "settled by Plaid's webhook"}${r.detail ? `: ${String(r.detail)}` : ""}`, `/reports/${String(r.id)}`);
      }),
    webhook: (h, b, n) =>
      all(webhooks, h, b, n).map((r) =>
        entry("webhook", Number(r.id), Number(r.at), `Plaid webhook ${String(r.type ?? "?")}/${String(r.code ?? "?")}`, `${String(r.verdict)}${r.handling ? `, ${String(r.handling)}` : ""}${r.itemId ? ` · item ${String(r.itemId)}` : ""}`, `/webhooks/${String(r.id)}`),
      ),
    funnel: (h, b, n) =>
      all(funnel, h, b, n).map((r) => entry("funnel", Number(r.id), Number(r.at), `Funnel step: ${String(r.name).replaceAll("_", " ")}`, [r.institution, r.errorCode, `from ${String(r.source)}`].filter(Boolean).join(" · "))),
    staff: (h, b, n) =>
      all(staff, h, b, n).map((r) => {
        const details = r.details ? (JSON.parse(String(r.details)) as Record<string, unknown>) : {};
        const reason = typeof details.reason === "string" ? ` · reason: ${details.reason}` : "";
        // Why the customer was opened, when the console asked (REQUIRE_ACCESS_REASON).
        const access = typeof details.accessReason === "string" ? ` · reason for access: ${details.accessReason}${typeof details.ticket === "string" ? ` (ticket ${details.ticket})` : ""}` : "";
        return entry("staff", Number(r.id), Number(r.at), describeAction(String(r.action)), `${String(r.email ?? "unknown")}${r.role ? ` (${String(r.role)})` : ""}${reason}${access}`, null, typeof details.requestId === "string" ? details.requestId : null);
      }),
  };
}

const ORDER = (a: TimelineEntry, b: TimelineEntry) => b.at - a.at || a.key.localeCompare(b.key);

/** One page of the customer's timeline, for the kinds asked (all when none), older than the cursor. */
export function customerTimeline(
  db: Db,
  customerHash: string,
  options: { kinds?: TimelineKind[]; cursor?: { at: number; skip: number } | null; limit?: number; describeAction?: (action: string) => string } = {},
): TimelinePage {
  const limit = options.limit ?? 50;
  const cursor = options.cursor ?? { at: Number.MAX_SAFE_INTEGER, skip: 0 };
  const all = sources(db, options.describeAction ?? auditActionLabel);
  const kinds = options.kinds?.length ? options.kinds : TIMELINE_KINDS;
  // Each source gives enough to fill the page even when every entry shown at the cursor's time was its own.
  const fetch = limit + cursor.skip + 1;
  const merged = kinds.flatMap((k) => all[k](customerHash, cursor.at, fetch)).sort(ORDER);
  // The previous page showed the first `skip` entries at exactly the cursor's time (the order is total, so they are
  // the same ones again).
  const start = Math.min(cursor.skip, merged.filter((e) => e.at === cursor.at).length);
  const page = merged.slice(start, start + limit + 1);
  const entries = page.slice(0, limit);
  const hasMore = page.length > limit;
  const last = entries.at(-1);
  const next = hasMore && last ? `${last.at}:${entries.filter((e) => e.at === last.at).length + (last.at === cursor.at ? start : 0)}` : null;
  return { entries, next };
}
