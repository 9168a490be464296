import { Form, useFetcher, useSubmit } from "@remix-run/react";
import { startAuthentication, startRegistration } from "@simplewebauthn/browser";
import { useEffect, useRef, useState } from "react";
import { Field, FormError } from "../ui/field";
import { StatusButton, useIsPending } from "../ui/status-button";
import { PASSKEY_FLOW_FIELD, PASSKEY_OPTIONS_INTENT, PASSKEY_RESPONSE_FIELD } from "./proof-fields";

type OptionsAnswer = { passkey?: { flowId: string; options: unknown }; message?: string } | undefined;

function browserMessage(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  if (name === "NotAllowedError") return "The passkey request was cancelled or timed out. Try again.";
  if (name === "InvalidStateError") return "This passkey is already registered.";
  return `The browser could not use a passkey: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * The browser side of a passkey ceremony against one route's action: ask it for a challenge (the intent
 * PASSKEY_OPTIONS_INTENT), hand that to the browser, and post the answer back with `fields`.
 */
export function usePasskeyCeremony(action: string, kind: "authenticate" | "register", fields: Record<string, string> = {}) {
  const fetcher = useFetcher<OptionsAnswer>();
  const submit = useSubmit();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const handled = useRef<unknown>(null);
  const fieldsRef = useRef(fields);
  fieldsRef.current = fields;
  useEffect(() => {
    const answer = fetcher.data;
    if (fetcher.state !== "idle" || !answer || handled.current === answer) return;
    handled.current = answer;
    if (!answer.passkey) {
      setBusy(false);
      setError(answer.message ?? "A passkey challenge could not be made.");
      return;
    }
    const { flowId, options } = answer.passkey;
    const ask = kind === "register" ? startRegistration({ optionsJSON: options as never }) : startAuthentication({ optionsJSON: options as never });
    ask.then(
      (response) => {
        setBusy(false);
        submit({ ...fieldsRef.current, [PASSKEY_FLOW_FIELD]: flowId, [PASSKEY_RESPONSE_FIELD]: JSON.stringify(response) }, { method: "post", action });
      },
      (e: unknown) => {
        setBusy(false);
        setError(browserMessage(e));
      },
    );
  }, [fetcher.data, fetcher.state, kind, action, submit]);
  const start = () => {
    setError(null);
    setBusy(true);
    fetcher.submit({ intent: PASSKEY_OPTIONS_INTENT }, { method: "post", action });
  };
  return { start, error, busy: busy || fetcher.state !== "idle" };
}

/**
 * The second-factor challenge: a code field (authenticator app or recovery code) and a "Use a passkey" button,
 * posting to `action`. What the account has comes from `proofOptions` (second-factor.server.ts); `message` is the
 * action's refusal, if any.
 */
export function ProofChallenge({ action, options, message, submitLabel = "Verify" }: { action: string; options: { totp: boolean; recoveryCodes: number; passkeys: number }; message?: string | null; submitLabel?: string }) {
  const passkey = usePasskeyCeremony(action, "authenticate");
  const pending = useIsPending({ formAction: action });
  const codes = options.totp || options.recoveryCodes > 0;
  return (
    <div className="space-y-4">
      <FormError message={passkey.error ?? message ?? undefined} />
      {codes ? (
        <Form method="post" action={action} className="space-y-3" noValidate>
          <Field
            label={options.totp ? "Code" : "Recovery code"}
            name="code"
            autoComplete="one-time-code"
            autoFocus
            spellCheck={false}
            hint={options.totp ? "The six-digit code from your authenticator app, or one of your recovery codes." : "One of your recovery codes."}
          />
          <StatusButton pending={pending && !passkey.busy} pendingText="Checking…" className="btn-primary w-full justify-center">
            {submitLabel}
          </StatusButton>
        </Form>
      ) : null}
      {options.passkeys > 0 ? (
        <StatusButton type="button" pending={passkey.busy} pendingText="Waiting for the passkey…" className="btn w-full justify-center" onClick={passkey.start}>
          Use a passkey
        </StatusButton>
      ) : null}
    </div>
  );
}

/** "Sign in with a passkey" on the sign-in page: a discoverable passkey instead of the email and password. */
export function PasskeySignInButton({ action, message }: { action: string; message?: string }) {
  const passkey = usePasskeyCeremony(action, "authenticate", { intent: "passkey" });
  const error = passkey.error ?? message;
  return (
    <div className="mt-4 space-y-2">
      <FormError message={error} />
      <StatusButton type="button" pending={passkey.busy} pendingText="Waiting for the passkey…" className="btn w-full justify-center" onClick={passkey.start}>
        Sign in with a passkey
      </StatusButton>
    </div>
  );
}
