// Cardlytics processor tokens need the Cardlytics integration enabled for our Plaid client (Dashboard > Integrations).

const when = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** What the sandbox and item pages say about the integration: a warning once Plaid has refused it, a reminder otherwise. */
export function IntegrationNote({ refusal }: { refusal: { at: number; requestId: string | null } | null }) {
  if (!refusal) {
    return <p className="text-xs text-slate-500">Cardlytics processor tokens need the Cardlytics integration enabled for this Plaid client, in the Plaid Dashboard under Integrations.</p>;
  }
  return (
    <div role="alert" aria-label="Cardlytics integration" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm">
      <p className="font-semibold">The Cardlytics integration looks off.</p>
      <p>
        Plaid refused a Cardlytics processor token at {when(refusal.at)} with INVALID_PRODUCT{refusal.requestId ? <> (request id <span className="font-mono">{refusal.requestId}</span>)</> : null}, and none has been made since. A Plaid Dashboard admin must enable Cardlytics under Integrations; until then no customer&apos;s processor token can be made and Cardlytics reads nothing.
      </p>
    </div>
  );
}
