import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { listBackups, recentBackupAttempts, RETRY_AFTER_FAILURE_MS, runBackup } from "~/ops/backups.server";
import { readForm, requirePermission } from "~/staff/guards.server";
import { Badge } from "~/ui/badge";
import { formatBytes } from "~/ui/bytes";
import { EmptyRow } from "~/ui/empty-row";
import { FormError } from "~/ui/field";
import { Time } from "~/ui/time";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { TableScroll } from "~/ui/table-scroll";

export const meta: MetaFunction = (args) => pageMeta(args, "Backups");

const detail = (details: Record<string, unknown> | null, key: string) => (details && key in details ? details[key] : undefined);

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "manage:backups");
  const { dir, intervalMs, keep } = context.config.backup;
  let files: { name: string; bytes: number; takenAt: number }[] = [];
  let problem: string | null = null;
  try {
    files = listBackups(dir).map((f) => ({ name: f.name, bytes: f.bytes, takenAt: f.takenAt.getTime() }));
  } catch (error) {
    problem = `The backup directory cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
  const attempts = recentBackupAttempts(context.db).map((e) => ({
    id: e.id,
    at: e.at.getTime(),
    ok: e.action === "backup.create",
    by: e.staffEmail ?? "schedule",
    name: e.targetId,
    bytes: detail(e.details, "bytes") as number | undefined,
    durationMs: detail(e.details, "durationMs") as number | undefined,
    error: detail(e.details, "error") as string | undefined,
  }));
  const now = context.now().getTime();
  // The schedule runs one interval after the newest backup; past that (with an hour's grace for a retry) it is late.
  const newest = files[0]?.takenAt;
  const nextDueAt = intervalMs > 0 && newest !== undefined ? newest + intervalMs : null;
  const late = nextDueAt !== null && now > nextDueAt + RETRY_AFTER_FAILURE_MS;
  return { dir, intervalHours: intervalMs / 3_600_000, keep, files, problem, attempts, nextDueAt, late, now };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requirePermission(request, context, "manage:backups");
  const form = await readForm(request);
  if (form.get("intent") !== "backup") return data({ ok: false as const, message: 'Unknown action: send "backup" as the intent.' }, { status: 400 });
  const outcome = await runBackup(
    { db: context.db, settings: context.config.backup, now: context.now },
    { trigger: "manual", actor: admin, clientAddress: context.clientAddress },
  );
  if (!outcome.ok) {
    // The console itself is fine and keeps running; what failed is the write of the copy, and the reason is shown.
    return data({ ok: false as const, message: `The backup failed: ${outcome.error}. Nothing was written; the console keeps running.` }, { status: 503 });
  }
  return { ok: true as const, message: `Backup ${outcome.file.name} written (${formatBytes(outcome.file.bytes)} in ${outcome.durationMs} ms)${outcome.removed.length ? `; ${plural(outcome.removed.length, "older backup")} removed by the retention count` : ""}.` };
}

export default function Backups() {
  const { dir, intervalHours, keep, files, problem, attempts, nextDueAt, late, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const pending = useIsPending({ match: { intent: "backup" } });
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Backups</h1>
      <p className="max-w-3xl text-sm text-slate-600">
        Online copies of the console&apos;s database, taken while it keeps serving, in <code className="font-mono">{dir}</code> on the server.{" "}
        {intervalHours > 0 ? `One is taken every ${plural(intervalHours, "hour")}` : "Scheduled backups are off (BACKUP_INTERVAL_HOURS=0)"}; the newest {keep} are kept. The
        README&apos;s Deploying section says how to restore one.
      </p>
      {result ? result.ok ? <Notice tone="success">{result.message}</Notice> : <FormError message={result.message} /> : null}
      {problem ? <FormError message={problem} /> : null}
      {late ? (
        <Notice tone="warning" testId="backup-late">
          The newest backup is older than the {intervalHours}-hour interval: scheduled backups are failing or the console was stopped. See the attempts below.
        </Notice>
      ) : nextDueAt !== null ? (
        <p className="text-sm text-slate-600">
          Next scheduled backup <Time value={nextDueAt} now={now} />.
        </p>
      ) : null}
      <Form method="post">
        <input type="hidden" name="intent" value="backup" />
        <StatusButton pending={pending} pendingText="Backing up…">
          Back up now
        </StatusButton>
      </Form>
      <div className="card p-0">
        <TableScroll label="Backup files">
        <table className="table-basic" aria-label="Backup files">
          <thead>
            <tr>
              <th>File</th>
              <th>Taken</th>
              <th className="text-right">Size</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {files.map((f) => (
              <tr key={f.name}>
                <td className="font-mono text-xs">{f.name}</td>
                <td>
                  <Time value={f.takenAt} now={now} />
                </td>
                <td className="text-right tabular-nums">{formatBytes(f.bytes)}</td>
              </tr>
            ))}
            <EmptyRow show={files.length === 0} colSpan={3}>
              No backups yet.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
      <h2 className="text-lg font-semibold">Recent attempts</h2>
      <div className="card p-0">
        <TableScroll label="Backup attempts">
        <table className="table-basic" aria-label="Backup attempts">
          <thead>
            <tr>
              <th>When</th>
              <th>By</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {attempts.map((a) => (
              <tr key={a.id}>
                <td>
                  <Time value={a.at} now={now} />
                </td>
                <td>{a.by}</td>
                <td>
                  {a.ok ? (
                    <>
                      <Badge tone="green">written</Badge> <span className="font-mono text-xs">{a.name}</span>
                      {a.bytes !== undefined ? <span className="text-xs text-slate-500"> · {formatBytes(a.bytes)}</span> : null}
                      {a.durationMs !== undefined ? <span className="text-xs text-slate-500"> · {a.durationMs} ms</span> : null}
                    </>
                  ) : (
                    <>
                      <Badge tone="red">failed</Badge> <span className="text-sm">{a.error}</span>
                    </>
                  )}
                </td>
              </tr>
            ))}
            <EmptyRow show={attempts.length === 0} colSpan={3}>
              No backup has been attempted yet.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
    </div>
  );
}
