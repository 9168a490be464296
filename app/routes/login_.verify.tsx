import { type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { assertSameOrigin, readForm } from "~/staff/guards.server";
import { SECOND_FACTOR_PATH } from "~/staff/paths";
import { ProofChallenge } from "~/staff/proof-challenge";
import { proofOptions } from "~/staff/second-factor.server";
import { readPendingSignIn, secondFactorAction } from "~/staff/second-factor-flow.server";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Second factor");

// Public: the browser holds the flow its correct password started (a cookie), and nothing else opens this step.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const pending = await readPendingSignIn(context, request);
  if (!pending) return { pending: null };
  return { pending: { email: pending.email, options: proofOptions(context.db, pending.staffUserId) } };
}

export async function action({ request, context }: ActionFunctionArgs) {
  assertSameOrigin(request, context);
  return secondFactorAction(context, request, await readForm(request));
}

export default function SecondFactor() {
  const { pending } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const message = result && "message" in result ? result.message : null;
  return (
    <div className="mx-auto mt-12 max-w-sm">
      <h1 className="text-2xl font-bold">Confirm it is you</h1>
      {pending ? (
        <>
          <p className="mt-1 text-sm text-slate-600">Signing in as {pending.email}. Use your second factor to go on.</p>
          <div className="card mt-6">
            <ProofChallenge action={`${SECOND_FACTOR_PATH}?${params.toString()}`} options={pending.options} message={message} />
          </div>
        </>
      ) : (
        <div className="card mt-6 space-y-3">
          <p>{message ?? "This sign-in has expired or was not started in this browser."}</p>
          <Link to={`/login?${params.toString()}`} className="btn-primary">
            Sign in again
          </Link>
        </div>
      )}
      {pending ? (
        <p className="mt-4 text-sm">
          <Link to="/login" className="link">
            Start over
          </Link>
        </p>
      ) : null}
    </div>
  );
}
