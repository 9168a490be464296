import { useEffect, useRef } from "react";

export type Shortcut = { key: string; label: string; run: () => void };

const typingIn = (target: EventTarget | null) => {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)));
};

/**
 * A page's single-key shortcuts, and "?" to list them in a dialog (Esc closes it, focus comes back where it was).
 * Keys are ignored while typing in a field or with a modifier held, so they never steal a character.
 */
export function KeyboardShortcuts({ title, shortcuts }: { title: string; shortcuts: Shortcut[] }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const latest = useRef(shortcuts);
  latest.current = shortcuts;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || typingIn(event.target) || dialog.current?.open) return;
      if (event.key === "?") {
        event.preventDefault();
        dialog.current?.showModal();
        return;
      }
      const shortcut = latest.current.find((s) => s.key === event.key);
      if (shortcut) {
        event.preventDefault();
        shortcut.run();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <>
      <button type="button" className="btn" onClick={() => dialog.current?.showModal()} aria-keyshortcuts="?">
        Shortcuts <kbd className="font-mono text-xs text-slate-600">?</kbd>
      </button>
    <dialog ref={dialog} aria-labelledby="shortcuts-heading" className="w-full max-w-md rounded-lg border border-slate-300 p-0 shadow-xl backdrop:bg-slate-900/40">
      <div className="p-4">
        <h2 id="shortcuts-heading" className="text-lg font-semibold">
          {title}
        </h2>
        <dl className="mt-3 grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
          {[{ key: "/", label: "Find a customer (the search in the header)" }, ...shortcuts, { key: "?", label: "Show these shortcuts" }, { key: "Esc", label: "Close this list, a menu or a dialog" }].map((s) => (
            <div key={s.key} className="contents">
              <dt>
                <kbd className="rounded border border-slate-300 bg-slate-100 px-1.5 py-0.5 font-mono text-xs">{s.key}</kbd>
              </dt>
              <dd>{s.label}</dd>
            </div>
          ))}
        </dl>
        <form method="dialog" className="mt-4 text-right">
          <button type="submit" className="btn">
            Close
          </button>
        </form>
      </div>
    </dialog>
    </>
  );
}
