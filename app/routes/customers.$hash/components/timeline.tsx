import { Link, useFetcher } from "@remix-run/react";
import { useEffect, useState } from "react";
import { TIMELINE_KIND_LABEL, TIMELINE_KINDS, type TimelineKind } from "~/customers/timeline-kinds";
import type { TimelineEntry, TimelinePage } from "~/customers/timeline.server";
import { Time } from "~/ui/time";

/** The customer's whole history, newest first: a kind filter and "Show older" each fetch a page of it. */
export function Timeline({ hash, first, now }: { hash: string; first: TimelinePage; now: number }) {
  const fetcher = useFetcher<TimelinePage>();
  const [kind, setKind] = useState<TimelineKind | "all">("all");
  const [entries, setEntries] = useState<TimelineEntry[]>(first.entries);
  const [next, setNext] = useState<string | null>(first.next);
  const [append, setAppend] = useState(false);
  useEffect(() => {
    setEntries(first.entries);
    setNext(first.next);
    setKind("all");
  }, [first]);
  useEffect(() => {
    if (fetcher.state !== "idle" || !fetcher.data) return;
    const page = fetcher.data;
    setEntries((old) => (append ? [...old, ...page.entries] : page.entries));
    setNext(page.next);
  }, [fetcher.state, fetcher.data, append]);
  const load = (k: TimelineKind | "all", before: string | null) => {
    const params = new URLSearchParams();
    if (k !== "all") params.set("kind", k);
    if (before) params.set("before", before);
    setAppend(Boolean(before));
    fetcher.load(`/customers/${hash}/timeline?${params.toString()}`);
  };
  return (
    <section className="card" aria-labelledby="timeline-heading">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="timeline-heading" className="font-semibold">
          Timeline
        </h2>
        <div className="flex flex-wrap gap-1 text-sm" role="group" aria-label="Show in the timeline">
          {(["all", ...TIMELINE_KINDS] as const).map((k) => (
            <button
              key={k}
              type="button"
              className={`btn px-2 py-0.5 text-xs ${kind === k ? "bg-slate-200" : ""}`}
              aria-pressed={kind === k}
              onClick={() => {
                setKind(k);
                load(k, null);
              }}
            >
              {k === "all" ? "Everything" : TIMELINE_KIND_LABEL[k]}
            </button>
          ))}
        </div>
      </div>
      <ol className="mt-2 divide-y divide-slate-100 text-sm" aria-busy={fetcher.state !== "idle"} data-testid="timeline">
        {entries.map((e) => (
          <li key={e.key} className="flex flex-wrap items-baseline justify-between gap-2 py-1.5" data-kind={e.kind}>
            <span className="min-w-0 break-words">
              <span className="font-medium">{e.href ? <Link className="underline" to={e.href}>{e.title}</Link> : e.title}</span> <span className="text-slate-700">{e.detail}</span>
              {e.requestId ? <span className="ml-1 font-mono text-xs text-slate-600">request {e.requestId}</span> : null}
            </span>
            <Time value={e.at} now={now} />
          </li>
        ))}
        {entries.length === 0 ? <li className="py-2 text-slate-600">Nothing of this kind is recorded for this customer.</li> : null}
      </ol>
      {next ? (
        <button type="button" className="btn mt-2 text-xs" onClick={() => load(kind, next)} disabled={fetcher.state !== "idle"}>
          {fetcher.state !== "idle" ? "Loading…" : "Show older"}
        </button>
      ) : null}
    </section>
  );
}
