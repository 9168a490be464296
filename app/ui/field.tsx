import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";

type Described = { label: ReactNode; name: string; error?: string; hint?: ReactNode };

/** The ids a labelled control needs, unique on the page (two forms may both have a "reason"). */
function useFieldIds(givenId?: string) {
  const generated = useId();
  const id = givenId ?? generated;
  return { id, errorId: `${id}-error`, hintId: `${id}-hint` };
}

function Hint({ id, hint }: { id: string; hint?: ReactNode }) {
  return hint ? (
    <p id={id} className="mt-1 text-xs text-slate-600">
      {hint}
    </p>
  ) : null;
}

/** An error read out when it appears (an alert), and tied to its control by aria-describedby. */
export function FieldError({ id, message }: { id?: string; message?: string }) {
  return message ? (
    <p id={id} role="alert" className="mt-1 text-sm text-red-700">
      {message}
    </p>
  ) : null;
}

const describedBy = (ids: { errorId: string; hintId: string }, error?: string, hint?: ReactNode) => [error ? ids.errorId : null, hint ? ids.hintId : null].filter(Boolean).join(" ") || undefined;

/** The label, the hint and the error around one control, tied to it by the ids. */
function Labelled({ ids, label, hint, error, children }: { ids: ReturnType<typeof useFieldIds>; label: ReactNode; hint?: ReactNode; error?: string; children: ReactNode }) {
  return (
    <div>
      <label htmlFor={ids.id} className="label">
        {label}
      </label>
      {children}
      <Hint id={ids.hintId} hint={hint} />
      <FieldError id={ids.errorId} message={error} />
    </div>
  );
}

type FieldProps = InputHTMLAttributes<HTMLInputElement> & Described;

/** A labelled input with its hint and error beside it, wired for screen readers. */
export function Field({ label, name, error, hint, id: givenId, className = "input", ...input }: FieldProps) {
  const ids = useFieldIds(givenId);
  return (
    <Labelled ids={ids} label={label} hint={hint} error={error}>
      <input id={ids.id} name={name} className={className} aria-invalid={error ? true : undefined} aria-describedby={describedBy(ids, error, hint)} {...input} />
    </Labelled>
  );
}

type SelectFieldProps = SelectHTMLAttributes<HTMLSelectElement> & Described;

/** A labelled select, the same way as `Field`. */
export function SelectField({ label, name, error, hint, id: givenId, className = "input", children, ...select }: SelectFieldProps) {
  const ids = useFieldIds(givenId);
  return (
    <Labelled ids={ids} label={label} hint={hint} error={error}>
      <select id={ids.id} name={name} className={className} aria-invalid={error ? true : undefined} aria-describedby={describedBy(ids, error, hint)} {...select}>
        {children}
      </select>
    </Labelled>
  );
}

type TextAreaFieldProps = TextareaHTMLAttributes<HTMLTextAreaElement> & Described;

/** A labelled textarea, the same way as `Field`. */
export function TextAreaField({ label, name, error, hint, id: givenId, className = "input", ...textarea }: TextAreaFieldProps) {
  const ids = useFieldIds(givenId);
  return (
    <Labelled ids={ids} label={label} hint={hint} error={error}>
      <textarea id={ids.id} name={name} className={className} aria-invalid={error ? true : undefined} aria-describedby={describedBy(ids, error, hint)} {...textarea} />
    </Labelled>
  );
}

export function FormError({ message }: { message?: string }) {
  if (!message) return null;
  return (
    <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {message}
    </div>
  );
}

/**
 * A date typed and shown as ISO 8601 (2026-11-22), the way the console prints dates and vendors log them, instead of
 * the browser's own picker format (mm/dd/yyyy in the US), which would contradict a "(UTC)" label.
 */
export function IsoDateField(props: Omit<FieldProps, "type">) {
  return <Field type="text" inputMode="numeric" pattern="\d{4}-\d{2}-\d{2}" placeholder="YYYY-MM-DD" autoComplete="off" maxLength={10} {...props} />;
}
