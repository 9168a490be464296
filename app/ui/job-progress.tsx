import type { ReactNode } from "react";
import {
  jobInProgress,
  jobStateLabel,
  useRevalidateWhileInProgress,
} from "~/ui/job-state";
import { Time } from "~/ui/time";

/** What a background job's card shows, as its page's loader gives it: times in milliseconds. */
export type JobProgressJob = {
  id: number;
  status: string;
  done: number;
  /** How many items the job has to go through, when it knows. */
  total: number | null;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
};

/** A job's progress as a bar: how many of how many, or moving without a number when the total is not known. */
export function JobProgressBar({
  done,
  total,
  label,
}: {
  done: number;
  total: number | null;
  label: string;
}) {
  const percent =
    total === null
      ? null
      : total
      ? Math.round((Math.min(done, total) / total) * 100)
      : 100;
  return (
    <div
      className="h-2 w-full min-w-[6rem] overflow-hidden rounded bg-slate-200"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total ?? undefined}
      aria-valuenow={total === null ? undefined : done}
      aria-valuetext={total === null ? `${done} done` : `${done} of ${total}`}
    >
      <div
        className="h-2 bg-indigo-600 transition-all motion-reduce:transition-none"
        style={{ width: percent === null ? "100%" : `${percent}%` }}
      />
    </div>
  );
}

/**
 * One background job on the page that started it: what it is at (counts and a bar), when it started and ended, its
 * error, and once ended what it came to. The page's data reloads every second while the job is in progress; a
 * polite live region announces its state when that changes (not every count), so a screen reader hears it end.
 */
export function JobProgress({
  job,
  name,
  counts,
  summary,
  now,
  testId,
  summaryTestId,
}: {
  job: JobProgressJob;
  /** What kind of job this is, as its page calls it: "Re-check" (the card reads "Re-check #3"). */
  name: string;
  /** The progress in words: "2 of 3 customers checked". */
  counts: ReactNode;
  /** What an ended job came to: "3 checked, 0 could not be checked." */
  summary: string;
  now: number;
  testId?: string;
  summaryTestId?: string;
}) {
  useRevalidateWhileInProgress(job.status);
  const title = `${name} #${job.id}`;
  const ended = !jobInProgress(job.status);
  const announcement = `${title}: ${jobStateLabel(job.status)}${
    ended ? `. ${summary}` : ""
  }${ended && job.error ? ` ${job.error}` : ""}`;
  return (
    <section
      className="card space-y-2"
      aria-label={title}
      data-testid={testId}
      data-status={job.status}
    >
      <p className="text-sm">
        {title}: {counts} · {jobStateLabel(job.status)}
      </p>
      <JobProgressBar
        done={job.done}
        total={job.total}
        label={`${name} progress`}
      />
      <p className="flex flex-wrap gap-x-4 text-xs text-slate-600">
        <span>
          {job.startedAt !== null ? "Started" : "Queued"}{" "}
          <Time value={job.startedAt ?? job.createdAt} now={now} />
        </span>
        {job.finishedAt !== null ? (
          <span>
            {job.status === "finished" ? "Finished" : "Ended"}{" "}
            <Time value={job.finishedAt} now={now} />
          </span>
        ) : null}
      </p>
      {ended ? (
        <p className="text-sm" data-testid={summaryTestId}>
          {summary}
        </p>
      ) : null}
      {job.error ? (
        <p
          className="text-sm text-red-700"
          data-testid={testId ? `${testId}-error` : undefined}
        >
          {job.error}
        </p>
      ) : null}
      <p
        role="status"
        className="sr-only"
        data-testid={testId ? `${testId}-announcement` : undefined}
      >
        {announcement}
      </p>
    </section>
  );
}
