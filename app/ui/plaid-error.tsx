import type { ShownPlaidError } from "~/plaid/guards.server";
import { CopyButton } from "./copy-button";

export function PlaidErrorPanel({ error }: { error: ShownPlaidError }) {
  return (
    <div role="alert" className="space-y-1 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900" data-testid="plaid-error">
      <p>
        <strong className="font-mono">{error.errorCode}</strong> <span className="text-xs">({error.errorType}{error.httpStatus ? `, HTTP ${error.httpStatus}` : ""})</span>
      </p>
      <p>{error.errorMessage}</p>
      {error.displayMessage ? <p className="italic">Shown to the customer: “{error.displayMessage}”</p> : null}
      <p>
        <strong>What to do:</strong> {error.help}
      </p>
      {error.requestId ? (
        <p className="font-mono text-xs">
          request_id {error.requestId} <CopyButton value={error.requestId} />
        </p>
      ) : null}
    </div>
  );
}
