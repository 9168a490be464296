import type { ReactNode } from "react";

const TONES = {
  success: "border-emerald-300 bg-emerald-50 text-emerald-950",
  warning: "border-amber-300 bg-amber-50 text-amber-950",
  error: "border-red-300 bg-red-50 text-red-950",
  info: "border-sky-300 bg-sky-50 text-sky-950",
  neutral: "border-slate-300 bg-white text-slate-900",
} as const;

export type NoticeTone = keyof typeof TONES;

/**
 * The one banner: an outcome (success, neutral, info) is announced politely as a status; a problem (warning, error)
 * interrupts as an alert. A page may still pass `role` when a warning is only background information.
 */
export function Notice({ tone, children, className = "", role, testId, status }: { tone: NoticeTone; children: ReactNode; className?: string; role?: "status" | "alert" | "note"; testId?: string; status?: string }) {
  const shownRole = role ?? (tone === "warning" || tone === "error" ? "alert" : "status");
  return (
    <div role={shownRole === "note" ? undefined : shownRole} className={`rounded-md border px-3 py-2 text-sm ${TONES[tone]} ${className}`} data-testid={testId} data-status={status}>
      {children}
    </div>
  );
}
