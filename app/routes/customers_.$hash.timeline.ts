import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireAccessReason } from "~/customers/access-reason.server";
import { isCustomerHash } from "~/customers/customer-id";
import { customerTimeline, parseCursor, TIMELINE_KINDS, type TimelineKind } from "~/customers/timeline.server";
import { requirePermission } from "~/staff/guards.server";

// A page of a customer's timeline, for the customer page's kind filter and "Show older".
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const hash = params.hash ?? "";
  if (!isCustomerHash(hash)) throw new Response("A customer address ends in the 64 hex characters of the hashed customer id.", { status: 404 });
  // Data for the customer's page, never a page itself: without the reason it is refused, not sent to the prompt.
  requireAccessReason(request, context, staff, hash, { page: false });
  const url = new URL(request.url);
  const kinds = url.searchParams.getAll("kind").filter((k): k is TimelineKind => (TIMELINE_KINDS as readonly string[]).includes(k));
  const before = url.searchParams.get("before");
  const cursor = parseCursor(before);
  if (before && !cursor) throw new Response("That is not a timeline position.", { status: 400 });
  return customerTimeline(context.db, hash, { kinds, cursor });
}
