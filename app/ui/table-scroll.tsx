import type { ReactNode } from "react";

/**
 * The box around a table that may be wider than its card: it scrolls sideways instead of cutting columns off, and a
 * keyboard can reach it (tab to it, then the arrow keys scroll) because it is a labelled, focusable region.
 */
export function TableScroll({ label, className = "", children }: { label: string; className?: string; children: ReactNode }) {
  return (
    <div className={`overflow-x-auto focus-visible:outline-offset-[-2px] ${className}`} tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
