import type { Db } from "../../db/open";
import { FUNNEL_STEPS, REPORT_BRANCH } from "./steps";

export const DAY_MS = 86_400_000;

export type Breakdown = { kind: "institution" } | { kind: "attribute"; key: string } | null;

export type FunnelQuery = {
  /** Cohort: customers whose first "Link started" falls in [from, to). */
  from: number;
  to: number;
  /** Every later step must be reached within this long of the customer's first "Link started". */
  windowMs: number;
  interval: "day" | "week";
  breakdown: Breakdown;
};

export type StepFigure = {
  name: string;
  label: string;
  count: number;
  /** Share of the previous step's customers who reached this one; null for the first step. */
  fromPrevious: number | null;
  fromFirst: number | null;
  /** Customers who reached the previous step but not this one. */
  dropOff: number;
  /** Time from this step to the next, for customers who reached both (nearest-rank percentiles). */
  medianToNextMs: number | null;
  p90ToNextMs: number | null;
};

export type Figures = { steps: StepFigure[]; report: { count: number; fromItemAdded: number | null; medianFromItemAddedMs: number | null } };

// Rows read from the rollup: hash, the six step times, report time, breakdown value.
type Row = [string, ...(number | null)[]];
const STEP_COUNT = FUNNEL_STEPS.length;
const ITEM_ADDED = FUNNEL_STEPS.findIndex((s) => s.name === "item_added");
const REPORT = STEP_COUNT + 1;
const GROUP = STEP_COUNT + 2;

/** How far along the funnel a customer got (1 = started), in order and within the window. */
export function depthOf(row: readonly unknown[], windowMs: number): number {
  const start = row[1] as number;
  let depth = 1;
  for (let k = 1; k < STEP_COUNT; k++) {
    const t = row[k + 1] as number | null;
    if (t === null || t - start > windowMs) break;
    depth = k + 1;
  }
  return depth;
}

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  // A typed array sorts numerically and much faster than an array with a comparator.
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

const ratio = (a: number, b: number) => (b ? a / b : null);

/** Every figure of the funnel for a set of rollup rows. */
export function figuresOf(rows: readonly Row[], windowMs: number): Figures {
  const counts = new Array<number>(STEP_COUNT).fill(0);
  const gaps: number[][] = Array.from({ length: STEP_COUNT - 1 }, () => []);
  const reportGaps: number[] = [];
  let reports = 0;
  for (const row of rows) {
    const depth = depthOf(row, windowMs);
    for (let k = 0; k < depth; k++) counts[k]!++;
    for (let k = 0; k < depth - 1; k++) gaps[k]!.push(Math.max(0, (row[k + 2] as number) - (row[k + 1] as number)));
    const report = row[REPORT] as number | null;
    if (depth > ITEM_ADDED && report !== null && report - (row[1] as number) <= windowMs) {
      reports++;
      reportGaps.push(Math.max(0, report - (row[ITEM_ADDED + 1] as number)));
    }
  }
  return figuresFrom(counts, reports, gaps, reportGaps);
}

function figuresFrom(counts: number[], reports: number, gaps: number[][], reportGaps: number[]): Figures {
  const steps = FUNNEL_STEPS.map((s, k) => ({
    name: s.name,
    label: s.label,
    count: counts[k]!,
    fromPrevious: k === 0 ? null : ratio(counts[k]!, counts[k - 1]!),
    fromFirst: k === 0 ? null : ratio(counts[k]!, counts[0]!),
    dropOff: k === 0 ? 0 : counts[k - 1]! - counts[k]!,
    medianToNextMs: k < STEP_COUNT - 1 ? percentile(gaps[k] ?? [], 0.5) : null,
    p90ToNextMs: k < STEP_COUNT - 1 ? percentile(gaps[k] ?? [], 0.9) : null,
  }));
  return { steps, report: { count: reports, fromItemAdded: ratio(reports, counts[ITEM_ADDED]!), medianFromItemAddedMs: percentile(reportGaps, 0.5) } };
}

const COLUMNS = [...FUNNEL_STEPS.map((s) => s.column), REPORT_BRANCH.column].join(", ");

function groupExpression(breakdown: Breakdown): string {
  if (!breakdown) return "null";
  if (breakdown.kind === "institution") return "coalesce(institution_name, institution_id)";
  return "json_extract(attributes, ?)";
}

/**
 * The cohort's rollup rows: customers whose first "Link started" falls in [from, to). The hash is read only when
 * asked for: 64-character strings are most of the cost of reading tens of thousands of rows.
 */
export function cohortRows(db: Db, from: number, to: number, breakdown: Breakdown, withHash = false): Row[] {
  const statement = db.$client.prepare(`select ${withHash ? "customer_hash" : "null"}, ${COLUMNS}, ${groupExpression(breakdown)} from funnel_customers where link_started_at >= ? and link_started_at < ?`).raw();
  const params: unknown[] = breakdown?.kind === "attribute" ? [`$."${breakdown.key}"`, from, to] : [from, to];
  return statement.all(...params) as Row[];
}

export type TrendPoint = { start: number; started: number; linked: number; conversion: number | null; complete: boolean };

/** Overall conversion (started → account linked) per day or week of the first "Link started". */
export function trendOf(rows: readonly Row[], q: FunnelQuery, now: number): TrendPoint[] {
  const width = q.interval === "day" ? DAY_MS : 7 * DAY_MS;
  // Weeks start on Monday (UTC); 1970-01-05 was one.
  const origin = q.interval === "day" ? 0 : 4 * DAY_MS;
  const bucketOf = (t: number) => Math.floor((t - origin) / width) * width + origin;
  const points = new Map<number, TrendPoint>();
  for (let start = bucketOf(q.from); start < q.to; start += width) points.set(start, { start, started: 0, linked: 0, conversion: null, complete: Math.min(start + width, q.to) + q.windowMs <= now });
  for (const row of rows) {
    const point = points.get(bucketOf(row[1] as number));
    if (!point) continue;
    point.started++;
    if (depthOf(row, q.windowMs) === STEP_COUNT) point.linked++;
  }
  return [...points.values()].map((p) => ({ ...p, conversion: ratio(p.linked, p.started) }));
}

export type GroupFigures = { value: string; started: number; figures: Figures };

const OTHER = "Other";
const UNKNOWN = "(not set)";
const MAX_GROUPS = 8;

/** The funnel per breakdown value: the largest groups by customers started, the rest together as "Other". */
export function breakdownOf(rows: readonly Row[], windowMs: number): GroupFigures[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const raw = row[GROUP];
    const key = raw === null || raw === undefined ? UNKNOWN : String(raw);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(row);
  }
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  const kept = ordered.length > MAX_GROUPS ? ordered.slice(0, MAX_GROUPS - 1) : ordered;
  const rest = ordered.slice(kept.length).flatMap(([, list]) => list);
  if (rest.length) kept.push([OTHER, rest]);
  return kept.map(([value, list]) => ({ value, started: list.length, figures: figuresOf(list, windowMs) }));
}

export type ExitReason = { code: string; errors: number; exits: number };

/**
 * Link errors and exits in the range, by error code ('' when Link was closed with no error), from the daily
 * counts kept beside the events. The range is whole UTC days.
 */
export function exitReasons(db: Db, from: number, to: number): ExitReason[] {
  return db.$client
    .prepare(
      `select error_code as code, sum(errors) as errors, sum(exits) as exits from funnel_exit_days
       where day >= ? and day < ? group by error_code order by sum(errors) + sum(exits) desc, error_code limit 50`,
    )
    .all(Math.floor(from / DAY_MS), Math.ceil(to / DAY_MS)) as ExitReason[];
}

// The same rule as depthOf, in SQL, for figures that need only counts.
const DEPTH_SQL = `case ${FUNNEL_STEPS.slice(1)
  .map((s, k) => `when ${s.column} is null or ${s.column} - link_started_at > @window then ${k + 1}`)
  .join(" ")} else ${STEP_COUNT} end`;

/** Step counts and the report branch for a cohort, aggregated in SQL: no percentiles, no rows. */
export function countsOf(db: Db, from: number, to: number, windowMs: number): Figures {
  const rows = db.$client
    .prepare(
      `select depth, count(*) as n, sum(report_ready_at is not null and report_ready_at - link_started_at <= @window) as reports
       from (select ${DEPTH_SQL} as depth, report_ready_at, link_started_at from funnel_customers where link_started_at >= @from and link_started_at < @to)
       group by depth`,
    )
    .all({ from, to, window: windowMs }) as { depth: number; n: number; reports: number }[];
  const counts = new Array<number>(STEP_COUNT).fill(0);
  let reports = 0;
  for (const r of rows) {
    for (let k = 0; k < r.depth; k++) counts[k]! += r.n;
    if (r.depth > ITEM_ADDED) reports += r.reports;
  }
  return figuresFrom(counts, reports, [], []);
}

export type FunnelReport = {
  query: FunnelQuery;
  started: number;
  figures: Figures;
  previous: { from: number; to: number; started: number; figures: Figures };
  breakdown: GroupFigures[] | null;
  trend: TrendPoint[];
  exits: ExitReason[];
};

export function funnelReport(db: Db, q: FunnelQuery, now: number): FunnelReport {
  const rows = cohortRows(db, q.from, q.to, q.breakdown);
  const length = q.to - q.from;
  const previous = countsOf(db, q.from - length, q.from, q.windowMs);
  return {
    query: q,
    started: rows.length,
    figures: figuresOf(rows, q.windowMs),
    previous: { from: q.from - length, to: q.from, started: previous.steps[0]!.count, figures: previous },
    breakdown: q.breakdown ? breakdownOf(rows, q.windowMs) : null,
    trend: trendOf(rows, q, now),
    exits: exitReasons(db, q.from, q.to),
  };
}

export type DroppedCustomer = { customerHash: string; startedAt: number; lastStep: string; lastStepAt: number; institution: string | null };

/** Customers of the cohort who reached the step before `stepIndex` but not that step, newest start first. */
export function droppedAt(db: Db, q: Pick<FunnelQuery, "from" | "to" | "windowMs">, stepIndex: number, limit: number, offset: number): { total: number; customers: DroppedCustomer[] } {
  const rows = cohortRows(db, q.from, q.to, { kind: "institution" }, true);
  const dropped = rows.filter((r) => depthOf(r, q.windowMs) === stepIndex).sort((a, b) => (b[1] as number) - (a[1] as number) || a[0].localeCompare(b[0]));
  return {
    total: dropped.length,
    customers: dropped.slice(offset, offset + limit).map((r) => ({
      customerHash: r[0],
      startedAt: r[1] as number,
      lastStep: FUNNEL_STEPS[stepIndex - 1]!.label,
      lastStepAt: r[stepIndex] as number,
      institution: (r[GROUP] as unknown as string | null) ?? null,
    })),
  };
}

/** Attribute names offered as breakdowns. */
export function attributeKeys(db: Db): string[] {
  return (db.$client.prepare("select key from funnel_attribute_keys order by key limit 100").all() as { key: string }[]).map((r) => r.key);
}
