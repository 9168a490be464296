import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { accessReasonForm, accessReasonPath, ACCESS_REASON_LIMITS } from "~/customers/access-reason-form";
import { accessReasonOf, recordAccessReason } from "~/customers/access-reason.server";
import { isCustomerHash } from "~/customers/customer-id";
import { safeRedirectPath } from "~/staff/auth.server";
import { parseForm } from "~/staff/forms";
import { readForm, requirePermission } from "~/staff/guards.server";
import { Field, FormError, TextAreaField } from "~/ui/field";
import { pageMeta } from "~/ui/meta";
import { StatusButton, useIsPending } from "~/ui/status-button";

export const meta: MetaFunction = (args) => pageMeta(args, "Reason for access");

function customerHash(params: { hash?: string }): string {
  const hash = params.hash ?? "";
  if (!isCustomerHash(hash)) throw new Response("A customer address ends in the 64 hex characters of the hashed customer id.", { status: 404 });
  return hash;
}

/** Where to go once the reason is given: the page of this customer that was asked for (the customer page by default). */
const destination = (request: Request, hash: string) => safeRedirectPath(new URL(request.url).searchParams.get("redirectTo"), `/customers/${hash}`);

// The prompt before a customer opens (REQUIRE_ACCESS_REASON): asked once per customer per session.
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const hash = customerHash(params);
  // Nothing to ask (the console does not require it, or this session already said why): straight on.
  if (!context.config.requireAccessReason || accessReasonOf(context.db, staff.sessionIdHash, hash)) throw redirect(destination(request, hash));
  return { hash };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const hash = customerHash(params);
  const parsed = parseForm(accessReasonForm, await readForm(request));
  if (!parsed.ok) return data({ message: "Check the highlighted fields.", fieldErrors: parsed.fieldErrors }, { status: 400 });
  recordAccessReason(context.db, { staff, customerHash: hash, given: parsed.data, clientAddress: context.clientAddress, now: context.now() });
  return redirect(destination(request, hash));
}

export default function AccessReasonPrompt() {
  const { hash } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const pending = useIsPending();
  return (
    <div className="mx-auto mt-8 max-w-lg">
      <p className="text-sm">
        <Link to="/customers" className="link">
          ← Find a customer
        </Link>
      </p>
      <h1 className="mt-2 text-2xl font-bold">Why are you opening this customer?</h1>
      <p className="mt-1 text-sm text-slate-600">
        Customer <span className="break-all font-mono text-xs">{hash}</span>. The reason is kept in the audit log with every view of this customer in
        this session, and shown on the customer&apos;s timeline. You are asked once per customer each time you sign in.
      </p>
      <Form method="post" action={`${accessReasonPath(hash)}?${params.toString()}`} className="card mt-6 space-y-4" noValidate>
        <FormError message={result?.message} />
        <TextAreaField
          label="Reason"
          name="reason"
          rows={3}
          required
          autoFocus
          maxLength={ACCESS_REASON_LIMITS.reasonMax}
          hint={`What you are doing for this customer, like "Customer asked why cash-back stopped". ${ACCESS_REASON_LIMITS.reasonMin} to ${ACCESS_REASON_LIMITS.reasonMax} characters.`}
          error={result?.fieldErrors.reason}
        />
        <Field
          label="Ticket id (optional)"
          name="ticket"
          autoComplete="off"
          spellCheck={false}
          className="input font-mono"
          maxLength={ACCESS_REASON_LIMITS.ticketMax}
          hint="The support ticket or case this is for, like SUP-1234."
          error={result?.fieldErrors.ticket}
        />
        <StatusButton pending={pending} pendingText="Opening…">
          Open the customer
        </StatusButton>
      </Form>
    </div>
  );
}
