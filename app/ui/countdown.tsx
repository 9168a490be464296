import { useEffect, useState } from "react";

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}h ${String(m).padStart(2, "0")}m ${String(s % 60).padStart(2, "0")}s`;
}

/**
 * Time left until `until`, counted down in the browser from what the server measured at load (its clock, not the
 * browser's, decides), so a skewed desktop clock cannot show a live report as expired.
 */
export function Countdown({ until, now, expiredText }: { until: number; now: number; expiredText: string }) {
  const [elapsed, setElapsed] = useState(0);
  useEffect(() => {
    const start = Date.now();
    const timer = setInterval(() => setElapsed(Date.now() - start), 1000);
    return () => clearInterval(timer);
  }, [until, now]);
  const left = until - now - elapsed;
  return (
    <span data-testid="expiry-countdown" title={new Date(until).toISOString()}>
      {left > 0 ? `${formatDuration(left)} left` : expiredText}
    </span>
  );
}
