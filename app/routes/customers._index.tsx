import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { NORMALISATION_RULE } from "~/customers/customer-id";
import { lookUpCustomer, recentLookups } from "~/customers/lookups.server";
import { readForm, requirePermission } from "~/staff/guards.server";
import { Time } from "~/ui/time";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Customers");

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  return {
    recent: recentLookups(context.db, staff.id).map((r) => ({ hash: r.customerHash, at: r.at.getTime() })),
    now: context.now().getTime(),
  };
}

const lookupForm = z.object({
  q: z.string().default(""),
  as: z.enum(["auto", "hash", "raw", "vendor"]).default("auto"),
});

// A POST, not a GET: a raw internal id must not end up in a URL, the browser history or an access log.
export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const parsed = lookupForm.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) return data({ message: "Choose how to read the id: auto, hashed or internal." }, { status: 400 });
  const result = lookUpCustomer(context.db, {
    query: parsed.data.q,
    mode: parsed.data.as,
    hmacKey: context.config.customerIdHmacKey,
    actor: staff,
    clientAddress: context.clientAddress,
    now: context.now(),
  });
  if (!result.ok) return data({ message: result.message }, { status: 400 });
  return redirect(`/customers/${result.hash}`);
}

export default function Customers() {
  const { recent, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const lookingUp = useIsPending();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">Find a customer</h1>
      <Form method="post" className="card max-w-2xl space-y-3" noValidate>
        <div>
          <label htmlFor="q" className="label">
            Hashed customer id or internal customer id, or a Plaid or Cardlytics id
          </label>
          <input
            id="q"
            name="q"
            className="input font-mono"
            autoComplete="off"
            spellCheck={false}
            autoFocus
            aria-invalid={result?.message ? true : undefined}
            aria-describedby="q-rule q-error"
          />
          {result?.message ? (
            <p id="q-error" role="alert" className="mt-1 text-sm text-red-700">
              {result.message}
            </p>
          ) : null}
          <p id="q-rule" className="mt-1 text-xs text-slate-500">
            64 hex characters are read as the hashed id (any case). An item_id, link_session_id, Plaid Check user_id, Cardlytics accountId, or a Plaid request_id or Cardlytics requestId this
            console has seen lands on its customer. Anything else is an internal id: {NORMALISATION_RULE} What you type is never stored.
          </p>
        </div>
        <fieldset className="flex flex-wrap gap-4 text-sm">
          <legend className="sr-only">Read the id as</legend>
          {(
            [
              ["auto", "Detect"],
              ["hash", "Hashed id"],
              ["raw", "Internal id"],
              ["vendor", "Plaid or Cardlytics id"],
            ] as const
          ).map(([value, label]) => (
            <label key={value} className="flex items-center gap-1">
              <input type="radio" name="as" value={value} defaultChecked={value === "auto"} /> {label}
            </label>
          ))}
        </fieldset>
        <StatusButton pending={lookingUp} pendingText="Looking up…">
          Look up
        </StatusButton>
      </Form>
      <section className="card max-w-2xl">
        <h2 className="font-semibold">Your recent lookups</h2>
        {recent.length ? (
          <ul className="mt-2 divide-y divide-slate-100 text-sm">
            {recent.map((r) => (
              <li key={r.hash} className="flex items-center justify-between gap-2 py-1.5">
                <Link className="truncate font-mono text-xs link" to={`/customers/${r.hash}`}>
                  {r.hash}
                </Link>
                <Time value={r.at} now={now} />
              </li>
            ))}
          </ul>
        ) : (
          <p className="mt-2 text-sm text-slate-600">None yet.</p>
        )}
      </section>
    </div>
  );
}
