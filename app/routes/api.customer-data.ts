import type { ActionFunctionArgs } from "@remix-run/node";
import { authenticateApiKey, noteKeyUse } from "~/funnel/api-keys.server";
import { ingestRegistrations, MAX_BATCH_BYTES } from "~/customers/registrations.server";
import { readCappedBody } from "~/lib/capped-body.server";

// The publisher's backend registers what it created for its customers (items, Link sessions, Check users, report
// requests, processor tokens) with a bearer API key allowed customer data; no session cookie is read or needed.
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });

export function loader() {
  return json(405, { error: "method_not_allowed", message: "POST a batch of entries here." }, { Allow: "POST" });
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return json(405, { error: "method_not_allowed", message: "POST only." }, { Allow: "POST" });
  const key = authenticateApiKey(context.db, request.headers.get("Authorization"), "customer_data");
  if (!key.ok) return json(key.status, { error: key.error, message: key.message }, key.status === 401 ? { "WWW-Authenticate": 'Bearer realm="linkdesk-customer-data"' } : {});
  if (!/^application\/json\b/i.test(request.headers.get("Content-Type") ?? "")) return json(415, { error: "unsupported_media_type", message: "Send Content-Type: application/json." });
  const raw = await readCappedBody(request, MAX_BATCH_BYTES);
  if (raw === "too-large") return json(413, { error: "batch_too_large", message: "A batch is at most 1 MB. Split it." });
  const outcome = ingestRegistrations(context, raw.toString("utf8"), key.keyId);
  if ("accepted" in outcome.body) {
    noteKeyUse(context.db, key.keyId, outcome.body.accepted, context.now(), "entries");
    for (const o of ["accepted", "unchanged", "refused"] as const) context.metrics?.ingest.inc({ api: "customer_data", outcome: o }, outcome.body[o]);
  } else context.metrics?.ingest.inc({ api: "customer_data", outcome: "batch_refused" });
  return json(outcome.status, outcome.body);
}
