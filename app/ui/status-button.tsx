import { useFormAction, useNavigation } from "@remix-run/react";
import type { ButtonHTMLAttributes } from "react";

/**
 * Whether the form this hook describes is being submitted: its action and method, and, when several forms on a page
 * post to the same action, the fields that tell them apart (an intent, a row's id). Other forms stay usable meanwhile.
 */
export function useIsPending({ formAction, formMethod = "POST", match = {} }: { formAction?: string; formMethod?: "POST" | "GET"; match?: Record<string, string> } = {}) {
  const navigation = useNavigation();
  const ownAction = useFormAction();
  if (navigation.state === "idle" || !navigation.formData) return false;
  if ((navigation.formAction ?? "").split("?")[0] !== (formAction ?? ownAction).split("?")[0]) return false;
  if (navigation.formMethod !== formMethod) return false;
  return Object.entries(match).every(([name, value]) => navigation.formData?.get(name) === value);
}

type StatusButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { pending: boolean; pendingText?: string };

/** A submit button that shows its own form's pending state: disabled, busy, and saying what it is doing. */
export function StatusButton({ pending, pendingText, children, className = "btn-primary", disabled, type = "submit", ...button }: StatusButtonProps) {
  return (
    <button type={type} className={className} disabled={disabled || pending} aria-busy={pending || undefined} {...button}>
      {pending ? (
        <span aria-hidden="true" className="inline-block h-3 w-3 animate-spin rounded-full border-2 border-current border-r-transparent motion-reduce:animate-none" />
      ) : null}
      {pending && pendingText ? pendingText : children}
    </button>
  );
}
