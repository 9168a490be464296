import { useState } from "react";

/** A vendor's JSON answer, folded by default, shown as text (never as HTML) and copyable whole. */
export function JsonViewer({ label, value }: { label: string; value: unknown }) {
  const text = JSON.stringify(value, null, 2);
  const [copied, setCopied] = useState(false);
  return (
    <details className="rounded-md border border-slate-200 bg-white">
      <summary className="cursor-pointer px-3 py-2 text-sm font-medium">
        {label} <span className="text-xs text-slate-500">({text.length.toLocaleString("en-US")} characters)</span>
      </summary>
      <div className="border-t border-slate-200 p-3">
        <button
          type="button"
          className="btn px-2 py-0.5 text-xs"
          aria-label={`Copy ${label}`}
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => {
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            });
          }}
        >
          {copied ? "Copied" : "Copy JSON"}
        </button>
        <pre className="mt-2 max-h-[32rem] overflow-auto rounded bg-slate-50 p-2 text-xs">{text}</pre>
      </div>
    </details>
  );
}
