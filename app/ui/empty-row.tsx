import type { ReactNode } from "react";

/** The one row a table shows when it has nothing to list, saying why in words. */
export function EmptyRow({ show, colSpan, children }: { show: boolean; colSpan: number; children: ReactNode }) {
  if (!show) return null;
  return (
    <tr>
      <td colSpan={colSpan} className="py-6 text-center text-slate-500">
        {children}
      </td>
    </tr>
  );
}
