import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { recordAudit } from "~/staff/audit.server";
import { assertSameOrigin, destroySessionCookie, getCurrentStaff, readSessionId } from "~/staff/guards.server";
import { deleteSession } from "~/staff/sessions.server";

// Signing out is a POST; a GET here (an old link, a prefetch) changes nothing.
export function loader() {
  return redirect("/");
}

export async function action({ request, context }: ActionFunctionArgs) {
  assertSameOrigin(request, context);
  const staff = await getCurrentStaff(request, context);
  const sessionId = await readSessionId(request, context);
  if (sessionId) deleteSession(context.db, sessionId);
  if (staff) {
    recordAudit(context.db, { actor: staff, action: "staff.logout", clientAddress: context.clientAddress, at: context.now() });
  }
  return redirect("/login", { headers: { "Set-Cookie": await destroySessionCookie(request, context) } });
}
