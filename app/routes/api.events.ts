import type { ActionFunctionArgs } from "@remix-run/node";
import { authenticateApiKey, noteKeyUse } from "~/funnel/api-keys.server";
import { ingestBatch, MAX_BATCH_BYTES } from "~/funnel/ingest.server";
import { readCappedBody } from "~/lib/capped-body.server";

// The publisher's backend posts funnel events here with a bearer API key; no session cookie is read or needed.
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });

export function loader() {
  return json(405, { error: "method_not_allowed", message: "POST a batch of events here." }, { Allow: "POST" });
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return json(405, { error: "method_not_allowed", message: "POST only." }, { Allow: "POST" });
  const key = authenticateApiKey(context.db, request.headers.get("Authorization"), "events");
  if (!key.ok) return json(key.status, { error: key.error, message: key.message }, key.status === 401 ? { "WWW-Authenticate": 'Bearer realm="linkdesk-events"' } : {});
  if (!/^application\/json\b/i.test(request.headers.get("Content-Type") ?? "")) return json(415, { error: "unsupported_media_type", message: "Send Content-Type: application/json." });
  const raw = await readCappedBody(request, MAX_BATCH_BYTES);
  if (raw === "too-large") return json(413, { error: "batch_too_large", message: "A batch is at most 1 MB. Split it." });
  const now = context.now();
  const outcome = ingestBatch(context.db, raw.toString("utf8"), key.keyId, now);
  if ("accepted" in outcome.body) {
    noteKeyUse(context.db, key.keyId, outcome.body.accepted, now);
    for (const o of ["accepted", "duplicates", "rejected"] as const) context.metrics?.ingest.inc({ api: "events", outcome: o }, outcome.body[o]);
  } else context.metrics?.ingest.inc({ api: "events", outcome: "batch_refused" });
  return json(outcome.status, outcome.body);
}
