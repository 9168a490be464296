import type { LinkSessionView, LinkTokenLive } from "~/plaid/link-sessions.server";
import { Badge } from "~/ui/badge";
import { CopyButton } from "~/ui/copy-button";
import { Time } from "~/ui/time";
import { plural } from "~/lib/plural";

const OUTCOME = { success: ["green", "item added"], exited: ["slate", "exited"], error: ["red", "error"], "in-progress": ["amber", "in progress"], unknown: ["slate", "no Link webhooks yet"] } as const;

function duration(ms: number | null): string {
  if (ms === null) return "";
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

export function LinkSessions({ sessions, tokens, now }: { sessions: LinkSessionView[]; tokens: LinkTokenLive[] | null; now: number }) {
  if (!sessions.length) return <p className="mt-2 text-sm text-slate-600">No Link session is recorded for this customer.</p>;
  return (
    <ul className="mt-2 divide-y divide-slate-100 text-sm">
      {sessions.map((s) => {
        const [tone, label] = OUTCOME[s.outcome];
        const token = tokens?.find((t) => t.linkSessionId === s.linkSessionId);
        return (
          <li key={s.linkSessionId} id={`link-${s.linkSessionId}`} className="space-y-1 py-2" data-testid="link-session">
            <div className="flex flex-wrap items-center justify-between gap-2">
              <span className="flex flex-wrap items-center gap-2">
                <Badge tone={tone}>{label}</Badge>
                <span className="font-mono text-xs">{s.linkSessionId}</span>
                <CopyButton value={s.linkSessionId} />
                {s.institution ? <span>{s.institution}</span> : null}
                {s.errorCode ? <span className="font-mono text-xs text-red-800">{s.errorCode}</span> : null}
                {s.exitStatus ? <span className="text-xs">exit: {s.exitStatus}</span> : null}
              </span>
              <span className="text-xs">
                <Time value={s.startedAt} now={now} />
                {s.durationMs !== null ? ` · ${duration(s.durationMs)}` : ""}
              </span>
            </div>
            {s.events.length ? (
              <ol className="flex flex-wrap gap-1 text-xs" aria-label={`Link events of session ${s.linkSessionId}`}>
                {s.events.map((e, i) => (
                  <li key={i} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono">
                    {i + 1}. {e.name}
                    {e.errorCode ? ` (${e.errorCode})` : ""}
                  </li>
                ))}
              </ol>
            ) : null}
            {token ? (
              token.ok ? (
                <p className="text-xs">
                  Link token (from /link/token/get): created <Time value={token.createdAt} now={now} />, expires <Time value={token.expiresAt} now={now} />, products {token.products.join(", ") || "none"}, {plural(token.sessions, "session")} ·{" "}
                  <span className="font-mono">request_id {token.requestId}</span>
                </p>
              ) : (
                <p className="text-xs text-red-800">
                  /link/token/get answered {token.errorCode}: {token.message}
                </p>
              )
            ) : s.hasLinkToken && tokens === null ? (
              <p className="text-xs text-slate-600">Asking Plaid about its link token…</p>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
