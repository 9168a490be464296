import type { ActionFunctionArgs } from "@remix-run/node";
import { answerOf, receivePlaidWebhook } from "~/webhooks/receive.server";

// Public by design: Plaid is the caller. Trust comes from the Plaid-Verification signature, checked before anything
// is acted on; every delivery is stored whatever the verdict.
export function loader() {
  return Response.json({ error: "Plaid webhooks are POSTed here." }, { status: 405, headers: { Allow: "POST" } });
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return Response.json({ error: "POST only" }, { status: 405, headers: { Allow: "POST" } });
  const answer = answerOf(await receivePlaidWebhook({ db: context.db, keys: context.webhookKeys, now: context.now }, request, context.clientAddress));
  return Response.json(answer.body, { status: answer.status });
}
