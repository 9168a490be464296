import { Link } from "@remix-run/react";
import { Notice } from "./notice";

export type SsoRefusalView = { status: number; title: string; message: string };

/** The page of a refused single sign-on: what happened, what to do, and the way back to the sign-in page. */
export function SsoRefusalPage({ refusal }: { refusal: SsoRefusalView }) {
  return (
    <div className="mx-auto mt-12 max-w-lg" data-testid="sso-refusal" data-status={refusal.status}>
      <p className="text-sm font-semibold text-indigo-600">Single sign-on · Error {refusal.status}</p>
      <h1 className="mt-1 text-2xl font-bold">{refusal.title}</h1>
      <Notice tone="error" className="mt-4">
        {refusal.message}
      </Notice>
      <div className="mt-6 flex gap-2">
        <Link className="btn" to="/login">
          Back to sign in
        </Link>
      </div>
    </div>
  );
}
