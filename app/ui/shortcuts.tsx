import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from "react";

export type Shortcut = { key: string; label: string; run: () => void };
type Listed = { key: string; label: string };
type PageShortcuts = { title: string; shortcuts: Shortcut[] };

/** Whether a key press is someone typing: in a field, or with a modifier held (a browser's own shortcut). */
export const typingIn = (target: EventTarget | null) => {
  const el = target as HTMLElement | null;
  return Boolean(
    el &&
      (el.isContentEditable ||
        ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName))
  );
};

/** Whether a modal dialog is open: its keys are its own, the page's shortcuts wait until it closes. */
export const modalOpen = () =>
  typeof document !== "undefined" &&
  document.querySelector("dialog[open]") !== null;

const ShortcutsContext = createContext<{
  register: (entry: { current: PageShortcuts }) => () => void;
  open: () => void;
} | null>(null);

/**
 * The console's keyboard shortcuts: "?" anywhere (not while typing in a field) opens a dialog that lists the
 * shortcuts of every page and those the page in view registers with `KeyboardShortcuts`; Esc closes it and focus
 * goes back where it was. A page's single keys run here too, and never while typing, with a modifier held or while a
 * dialog is open.
 */
export function ShortcutsProvider({
  everywhere,
  children,
}: {
  everywhere: Listed[];
  children: ReactNode;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const returnTo = useRef<HTMLElement | null>(null);
  const pages = useRef(new Set<{ current: PageShortcuts }>());
  // What the dialog lists, taken from the registered pages when it opens.
  const [listed, setListed] = useState<PageShortcuts | null>(null);

  const open = useCallback(() => {
    const el = dialog.current;
    if (!el || el.open) return;
    const page = [...pages.current].at(-1)?.current ?? null;
    setListed(page ? { title: page.title, shortcuts: page.shortcuts } : null);
    returnTo.current =
      document.activeElement instanceof HTMLElement &&
      document.activeElement !== document.body
        ? document.activeElement
        : null;
    el.showModal();
  }, []);

  const register = useCallback((entry: { current: PageShortcuts }) => {
    pages.current.add(entry);
    return () => {
      pages.current.delete(entry);
    };
  }, []);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (
        event.defaultPrevented ||
        event.metaKey ||
        event.ctrlKey ||
        event.altKey ||
        typingIn(event.target) ||
        modalOpen()
      )
        return;
      if (event.key === "?") {
        event.preventDefault();
        open();
        return;
      }
      for (const page of pages.current) {
        const shortcut = page.current.shortcuts.find(
          (s) => s.key === event.key
        );
        if (shortcut) {
          event.preventDefault();
          shortcut.run();
          return;
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    // Focus goes back to what had it before the dialog opened (the browser would leave it on the page's body).
    const onClose = () => {
      const target = returnTo.current;
      returnTo.current = null;
      if (target?.isConnected) target.focus();
    };
    el.addEventListener("close", onClose);
    return () => el.removeEventListener("close", onClose);
  }, []);

  const value = useMemo(() => ({ register, open }), [register, open]);
  const title = listed?.title ?? "Keyboard shortcuts";
  return (
    <ShortcutsContext.Provider value={value}>
      {children}
      <dialog
        ref={dialog}
        aria-modal="true"
        aria-labelledby="shortcuts-heading"
        data-testid="shortcuts-dialog"
        className="w-full max-w-md rounded-lg border border-slate-300 p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/40"
      >
        <div className="p-4">
          <h2 id="shortcuts-heading" className="text-lg font-semibold">
            {title}
          </h2>
          {listed?.shortcuts.length ? (
            <ShortcutList heading="On this page" shortcuts={listed.shortcuts} />
          ) : null}
          <ShortcutList heading="On every page" shortcuts={everywhere} />
          <form method="dialog" className="mt-4 text-right">
            <button type="submit" className="btn">
              Close
            </button>
          </form>
        </div>
      </dialog>
    </ShortcutsContext.Provider>
  );
}

function ShortcutList({
  heading,
  shortcuts,
}: {
  heading: string;
  shortcuts: Listed[];
}) {
  return (
    <section className="mt-3">
      <h3 className="text-sm font-semibold text-slate-700">{heading}</h3>
      <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
        {shortcuts.map((s) => (
          <div key={s.key} className="contents">
            <dt>
              <kbd className="rounded border border-slate-300 bg-slate-100 px-1.5 py-0.5 font-mono text-xs">
                {s.key}
              </kbd>
            </dt>
            <dd>{s.label}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/**
 * A page's single-key shortcuts, listed (under the page's title) in the "?" dialog, and a button that opens it.
 * Keys are ignored while typing in a field or with a modifier held, so they never steal a character.
 */
export function KeyboardShortcuts({
  title,
  shortcuts,
}: {
  title: string;
  shortcuts: Shortcut[];
}) {
  const context = useContext(ShortcutsContext);
  const entry = useRef<PageShortcuts>({ title, shortcuts });
  entry.current = { title, shortcuts };
  const register = context?.register;
  useEffect(() => register?.(entry), [register]);
  if (!context) return null;
  return (
    <button
      type="button"
      className="btn"
      onClick={context.open}
      aria-keyshortcuts="?"
      aria-haspopup="dialog"
    >
      Shortcuts <kbd className="font-mono text-xs text-slate-600">?</kbd>
    </button>
  );
}
