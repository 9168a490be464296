import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { parseForm } from "~/staff/forms";
import { destroySessionCookie, readForm, requirePermission } from "~/staff/guards.server";
import { SESSION_METHOD_LABELS } from "~/staff/session-labels";
import { activeSessionsOf, endOwnSessions } from "~/staff/staff-sessions.server";
import { plural } from "~/lib/plural";
import { EmptyRow } from "~/ui/empty-row";
import { FormError } from "~/ui/field";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { TableScroll } from "~/ui/table-scroll";
import { Time } from "~/ui/time";

export const meta: MetaFunction = (args) => pageMeta(args, "Your sessions");

// Every signed-in staff member's own sessions: where they are signed in, and a way to end any of them.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:console");
  const now = context.now();
  return {
    sessions: activeSessionsOf(context.db, staff, now, context.config.session).map((s) => ({
      id: s.idHash,
      createdAt: s.createdAt.getTime(),
      lastSeenAt: s.lastSeenAt.getTime(),
      clientAddress: s.clientAddress,
      userAgent: s.userAgent,
      browser: s.browser,
      method: SESSION_METHOD_LABELS[s.method] ?? s.method,
      current: s.current,
    })),
    now: now.getTime(),
  };
}

const intents = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("end"), session: z.string({ error: "Name the session to end" }).regex(/^[0-9a-f]{64}$/, "That is not a session of yours") }),
  z.object({ intent: z.literal("end-others") }),
]);

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "view:console");
  const parsed = parseForm(intents, await readForm(request));
  if (!parsed.ok) {
    const message = parsed.fieldErrors.intent ? "Unknown action: send end (with a session) or end-others as the intent." : (parsed.fieldErrors.session ?? "Check the form.");
    return data({ ok: false as const, message }, { status: 400 });
  }
  const ctx = { clientAddress: context.clientAddress, now: context.now() };
  const ended = endOwnSessions(context.db, staff, parsed.data.intent === "end" ? { idHash: parsed.data.session } : "others", ctx);
  if (parsed.data.intent === "end" && ended.length === 0) {
    // Someone else's session, one already ended, or one that never was: all the same to the asker.
    return data({ ok: false as const, message: "No session of yours has that id: it may have ended already. The list shows the ones still open." }, { status: 404 });
  }
  if (ended.includes(staff.sessionIdHash)) {
    return redirect("/login", { headers: { "Set-Cookie": await destroySessionCookie(request, context) } });
  }
  return { ok: true as const, message: ended.length ? `${plural(ended.length, "session")} ended. ${ended.length === 1 ? "That browser is" : "Those browsers are"} signed out.` : "You have no other session to end." };
}

function EndButton({ id, current }: { id: string; current: boolean }) {
  const pending = useIsPending({ match: { intent: "end", session: id } });
  return (
    <Form method="post">
      <input type="hidden" name="intent" value="end" />
      <input type="hidden" name="session" value={id} />
      <StatusButton pending={pending} pendingText="Ending…" className={current ? "btn" : "btn-danger"}>
        {current ? "Sign out here" : "End session"}
      </StatusButton>
    </Form>
  );
}

export default function Sessions() {
  const { sessions, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const endingOthers = useIsPending({ match: { intent: "end-others" } });
  const others = sessions.filter((s) => !s.current).length;
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-2xl font-bold">Your sessions</h1>
        <p className="mt-1 text-sm text-slate-600">
          Where you are signed in now. End a session you do not recognise, then change your password. Ending this session signs you out here.
        </p>
      </div>
      {result?.ok ? <Notice tone="success">{result.message}</Notice> : <FormError message={result?.message} />}
      <div className="card p-0">
        <TableScroll label="Your active sessions">
          <table className="table-basic" aria-label="Your active sessions">
            <thead>
              <tr>
                <th>Browser</th>
                <th>Signed in with</th>
                <th>Started</th>
                <th>Last seen</th>
                <th>Address</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {sessions.map((s) => (
                <tr key={s.id} data-testid={s.current ? "current-session" : "other-session"}>
                  <td>
                    <span title={s.userAgent || undefined}>{s.browser}</span>
                    {s.current ? <strong className="ml-2 rounded bg-sky-100 px-1.5 py-0.5 text-xs text-sky-900">This session</strong> : null}
                  </td>
                  <td className="text-sm">{s.method}</td>
                  <td>
                    <Time value={s.createdAt} now={now} />
                  </td>
                  <td>
                    <Time value={s.lastSeenAt} now={now} />
                  </td>
                  <td className="font-mono text-xs">{s.clientAddress}</td>
                  <td className="text-right">
                    <EndButton id={s.id} current={s.current} />
                  </td>
                </tr>
              ))}
              <EmptyRow show={sessions.length === 0} colSpan={6}>
                No active session.
              </EmptyRow>
            </tbody>
          </table>
        </TableScroll>
      </div>
      {others > 0 ? (
        <Form method="post">
          <input type="hidden" name="intent" value="end-others" />
          <StatusButton pending={endingOthers} pendingText="Ending…" className="btn-danger">
            End every other session ({others})
          </StatusButton>
        </Form>
      ) : null}
    </div>
  );
}
