const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600_000],
  ["month", 30 * 24 * 3600_000],
  ["week", 7 * 24 * 3600_000],
  ["day", 24 * 3600_000],
  ["hour", 3600_000],
  ["minute", 60_000],
  ["second", 1000],
];

const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "3 days ago", "in 2 hours": the largest unit that fits, relative to `now`. */
export function formatRelative(date: Date, now: Date): string {
  const diff = date.getTime() - now.getTime();
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms || unit === "second") return relativeFormat.format(Math.round(diff / ms), unit);
  }
  return "now";
}

/** UTC, to the second, so that what support reads matches what vendors log. */
export function formatExact(date: Date): string {
  return date.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
}

/**
 * A time shown both ways: relative in the text, exact beside it (and on hover). It may wrap between its parts, never
 * inside one, so it fits a narrow cell instead of pushing past it.
 */
export function Time({ value, now }: { value: string | number | Date | null | undefined; now: string | number | Date }) {
  if (value === null || value === undefined) return <span className="text-slate-600">never</span>;
  const date = new Date(value);
  const exact = formatExact(date);
  const [day, clock] = exact.split(" ");
  return (
    <time dateTime={date.toISOString()} title={exact}>
      <span className="whitespace-nowrap">{formatRelative(date, new Date(now))}</span>{" "}
      <span className="text-xs text-slate-600">
        (<span className="whitespace-nowrap">{day}</span> <span className="whitespace-nowrap">{clock} UTC</span>)
      </span>
    </time>
  );
}

/** A duration in the largest unit that reads well: "45 s", "12 min", "3.5 h", "2.1 d". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${(ms / 3600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}
