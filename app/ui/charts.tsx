// Small SVG charts drawn on the server: no client-side charting library, and they print and scale with the page.

export const percent = (value: number | null | undefined, digits = 1) => (value === null || value === undefined ? "—" : `${(value * 100).toFixed(digits)}%`);

/** Bars for each step, as a share of the first step, with the previous period's level marked on each bar. */
export function FunnelChart({ steps, previous }: { steps: { label: string; count: number }[]; previous?: number[] }) {
  const first = steps[0]?.count ?? 0;
  const previousFirst = previous?.[0] ?? 0;
  const width = 720;
  const height = 220;
  const left = 34;
  const barWidth = (width - left) / steps.length;
  const plot = height - 40;
  return (
    <svg viewBox={`0 0 ${width} ${height}`} className="h-auto w-full" role="img" aria-label="Funnel chart: customers at each step as a share of those who started">
      {[0, 0.25, 0.5, 0.75, 1].map((tick) => (
        <g key={tick}>
          <line x1={left} x2={width} y1={plot - tick * plot + 10} y2={plot - tick * plot + 10} stroke="#e2e8f0" />
          <text x={0} y={plot - tick * plot + 14} fontSize={10} fill="#64748b">
            {tick * 100}%
          </text>
        </g>
      ))}
      {steps.map((s, i) => {
        const share = first ? s.count / first : 0;
        const barHeight = share * plot;
        const x = left + i * barWidth + barWidth * 0.2;
        const w = barWidth * 0.6;
        const previousShare = previous && previousFirst ? (previous[i] ?? 0) / previousFirst : null;
        return (
          <g key={s.label}>
            <title>{`${s.label}: ${s.count} (${percent(first ? share : null)} of started)`}</title>
            <rect x={x} y={10} width={w} height={plot} fill="#f1f5f9" />
            <rect x={x} y={10 + plot - barHeight} width={w} height={barHeight} fill="#4f46e5" />
            {previousShare !== null ? <line x1={x - 4} x2={x + w + 4} y1={10 + plot - previousShare * plot} y2={10 + plot - previousShare * plot} stroke="#f59e0b" strokeWidth={2} strokeDasharray="4 2" /> : null}
            <text x={x + w / 2} y={height - 16} fontSize={11} textAnchor="middle" fill="#0f172a">
              {s.count.toLocaleString("en-US")}
            </text>
            <text x={x + w / 2} y={height - 3} fontSize={10} textAnchor="middle" fill="#64748b">
              {percent(first ? share : null, 0)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** Conversion per period as a line; periods whose conversion window has not closed yet are drawn hollow. */
export function TrendChart({ points, label }: { points: { start: number; conversion: number | null; started: number; complete: boolean }[]; label: (start: number) => string }) {
  // Drawn at about the size it is shown (a half-width card), so 12-unit labels read at 12 px or more.
  const width = 560;
  const height = 200;
  const left = 40;
  const right = 12;
  const plot = height - 44;
  const max = Math.max(0.05, ...points.map((p) => p.conversion ?? 0));
  const step = points.length > 1 ? (width - left - right) / (points.length - 1) : 0;
  const xy = (i: number, v: number) => [left + i * step, 10 + plot - (v / max) * plot] as const;
  const line = points.flatMap((p, i) => (p.conversion === null ? [] : [xy(i, p.conversion).join(",")])).join(" ");
  const labelEvery = Math.max(1, Math.ceil(points.length / 6));
  const last = points.length - 1;
  return (
    <svg viewBox={`0 0 ${width} ${height}`} className="h-auto w-full" role="img" aria-label="Trend chart: overall conversion by period">
      {[0, 0.5, 1].map((tick) => (
        <g key={tick}>
          <line x1={left} x2={width} y1={10 + plot - tick * plot} y2={10 + plot - tick * plot} stroke="#e2e8f0" />
          <text x={0} y={14 + plot - tick * plot} fontSize={12} fill="#475569">
            {percent(tick * max, 0)}
          </text>
        </g>
      ))}
      <polyline points={line} fill="none" stroke="#4f46e5" strokeWidth={2} />
      {points.map((p, i) => {
        if (p.conversion === null) return null;
        const [x, y] = xy(i, p.conversion);
        return (
          <circle key={p.start} cx={x} cy={y} r={3.5} fill={p.complete ? "#4f46e5" : "white"} stroke="#4f46e5" strokeWidth={1.5}>
            <title>{`${label(p.start)}: ${percent(p.conversion)} of ${p.started} started${p.complete ? "" : " (window still open)"}`}</title>
          </circle>
        );
      })}
      {points.map((p, i) =>
        // Every few periods, and always the last one, anchored so that the first and last labels stay inside.
        (i % labelEvery === 0 && last - i >= labelEvery / 2) || i === last ? (
          <text key={p.start} x={left + i * step} y={height - 10} fontSize={12} textAnchor={i === last && i > 0 ? "end" : i === 0 ? "start" : "middle"} fill="#475569">
            {label(p.start)}
          </text>
        ) : null,
      )}
    </svg>
  );
}
