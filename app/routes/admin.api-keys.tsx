import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { createApiKey, listApiKeys, revokeApiKey } from "~/funnel/api-keys.server";
import { nameField, parseForm } from "~/staff/forms";
import { readForm, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { Badge } from "~/ui/badge";
import { CopyButton } from "~/ui/copy-button";
import { Field, FormError } from "~/ui/field";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { pageMeta } from "~/ui/meta";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { Notice } from "~/ui/notice";

export const meta: MetaFunction = (args) => pageMeta(args, "Event API keys");

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "manage:api-keys");
  return {
    keys: listApiKeys(context.db).map((k) => ({ ...k, createdAt: k.createdAt.getTime(), revokedAt: k.revokedAt?.getTime() ?? null, lastUsedAt: k.lastUsedAt?.getTime() ?? null })),
    endpoint: `${new URL(request.url).origin}/api/events`,
    now: context.now().getTime(),
  };
}

const actionForm = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("create"), name: nameField }),
  z.object({ intent: z.literal("revoke"), id: z.coerce.number().int().positive("Choose a key"), confirm: z.literal("revoke", { error: 'Type "revoke" to confirm' }) }),
], { error: "Choose an action" });

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requirePermission(request, context, "manage:api-keys");
  const submitted = await readForm(request);
  // A new key's secret is shown once: creating one needs a fresh proof of identity.
  if (submitted.get("intent") === "create") requireFreshProof(request, context, admin, submitted, "Create an API key");
  const parsed = parseForm(actionForm, submitted);
  if (!parsed.ok) return data({ ok: false as const, fieldErrors: parsed.fieldErrors, message: "Check the highlighted fields.", created: null, revokedId: null }, { status: 400 });
  const none: Record<string, string> = {};
  const ctx = { actor: admin, clientAddress: context.clientAddress, now: context.now() };
  if (parsed.data.intent === "create") {
    const created = createApiKey(context.db, parsed.data.name, ctx);
    return { ok: true as const, fieldErrors: none, message: null, created: { ...created, name: parsed.data.name }, revokedId: null };
  }
  if (!revokeApiKey(context.db, parsed.data.id, ctx)) return data({ ok: false as const, fieldErrors: none, message: "That key does not exist or is already revoked.", created: null, revokedId: null }, { status: 409 });
  return { ok: true as const, fieldErrors: none, message: null, created: null, revokedId: parsed.data.id };
}

/** One key's revoke form: its button shows that key's pending revoke only. */
function RevokeForm({ id, name }: { id: number; name: string }) {
  const revoking = useIsPending({ match: { intent: "revoke", id: String(id) } });
  return (
    <Form method="post" className="flex items-center gap-1" aria-label={`Revoke ${name}`}>
      <Badge tone="green">active</Badge>
      <input type="hidden" name="intent" value="revoke" />
      <input type="hidden" name="id" value={id} />
      <input name="confirm" className="input w-24 py-0.5 text-xs" placeholder='type "revoke"' aria-label={`Type revoke to revoke ${name}`} />
      <StatusButton className="btn px-2 py-0.5 text-xs" pending={revoking} pendingText="Revoking…">
        Revoke
      </StatusButton>
    </Form>
  );
}

export default function ApiKeys() {
  const { keys, endpoint, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const creating = useIsPending({ match: { intent: "create" } });
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Event API keys</h1>
      <p className="max-w-3xl text-sm text-slate-600">
        The publisher&apos;s backend posts funnel events to <code className="font-mono">{endpoint}</code> with <code className="font-mono">Authorization: Bearer &lt;key&gt;</code>. Each key is shown once, when it is
        created; Linkdesk keeps only its SHA-256. Revoking a key refuses it at once.
      </p>
      {result?.created ? (
        <Notice tone="success">
          <p>
            Key “{result.created.name}” created. Copy it now: it will not be shown again.
          </p>
          <p className="mt-1 flex items-center gap-2">
            <code className="break-all font-mono" data-testid="new-api-key">
              {result.created.secret}
            </code>
            <CopyButton value={result.created.secret} />
          </p>
        </Notice>
      ) : null}
      {result && !result.ok ? <FormError message={[result.message, result.fieldErrors.confirm, result.fieldErrors.id, result.fieldErrors.intent].filter(Boolean).join(" ")} /> : null}
      {result?.revokedId ? <Notice tone="neutral">Key revoked.</Notice> : null}
      <Form method="post" className="card flex flex-wrap items-end gap-3" noValidate>
        <input type="hidden" name="intent" value="create" />
        <div className="min-w-64">
          <Field label="New key's name" name="name" required maxLength={100} placeholder="Publisher backend (production)" error={result && !result.ok ? result.fieldErrors.name : undefined} />
        </div>
        <StatusButton pending={creating} pendingText="Creating…">
          Create key
        </StatusButton>
      </Form>
      <div className="card p-0">
        <TableScroll label="API keys">
        <table className="table-basic" aria-label="API keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Created</th>
              <th>Last used</th>
              <th className="text-right">Events accepted</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td className="font-mono text-xs">{k.prefix}…</td>
                <td>
                  <Time value={k.createdAt} now={now} />
                  {k.createdBy ? <span className="block text-xs text-slate-500">by {k.createdBy}</span> : null}
                </td>
                <td>
                  <Time value={k.lastUsedAt} now={now} />
                </td>
                <td className="text-right tabular-nums">{k.eventsAccepted.toLocaleString("en-US")}</td>
                <td>
                  {k.revokedAt ? (
                    <Badge tone="slate">revoked</Badge>
                  ) : (
                    <RevokeForm id={k.id} name={k.name} />
                  )}
                </td>
              </tr>
            ))}
            <EmptyRow show={keys.length === 0} colSpan={6}>
              No keys yet.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
    </div>
  );
}
