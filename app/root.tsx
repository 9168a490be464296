import { data, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useLocation,
  useRouteError,
  useRouteLoaderData,
} from "@remix-run/react";
import { useEffect, useRef, type ReactNode } from "react";
import { environmentBadge, type EnvironmentBadge } from "./config/env.server";
import { getCurrentStaff } from "./staff/guards.server";
import { takeFlash } from "./lib/flash.server";
import { Notice } from "./ui/notice";
import { can, ROLE_LABELS, type Role } from "./staff/permissions";
import { SESSIONS_PATH } from "./staff/paths";
import stylesheet from "./tailwind.css?url";
import { activeSection, navEntries, navFor, type NavItem } from "./ui/nav";
import { pageMeta } from "./ui/meta";
import { useNonce } from "./ui/nonce";
import { modalOpen, ShortcutsProvider, typingIn } from "./ui/shortcuts";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesheet }];
export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args);

// Public: it tells a visitor only who they themselves are signed in as, and which environment this is.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await getCurrentStaff(request, context);
  const { flash, clear } = await takeFlash(request, context);
  return data(
    {
      staff: staff ? { name: staff.name, email: staff.email, role: staff.role, mustChangePassword: staff.mustChangePassword } : null,
      badge: environmentBadge(context.config),
      requestId: context.requestId ?? null,
      flash,
    },
    clear ? { headers: { "Set-Cookie": clear } } : undefined,
  );
}

// The root's data carries the request id, so it runs on every navigation: an error page then names the request
// that failed, which staff can quote.
export const shouldRevalidate = () => true;

const BADGE_STYLES: Record<EnvironmentBadge, string> = {
  SIMULATOR: "bg-emerald-100 text-emerald-900 border-emerald-300",
  SANDBOX: "bg-amber-100 text-amber-900 border-amber-300",
  PRODUCTION: "bg-red-600 text-white border-red-800 animate-none",
};

function EnvironmentBanner({ badge }: { badge: EnvironmentBadge }) {
  return (
    <span
      data-testid="environment-badge"
      title={badge === "PRODUCTION" ? "Real customers, real money: every action here is live." : undefined}
      className={`rounded border px-2 py-0.5 text-xs font-bold tracking-wider ${BADGE_STYLES[badge]}`}
    >
      {badge}
    </span>
  );
}

function CustomerSearch() {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // "/" focuses the search from anywhere, unless the user is already typing in a field or a dialog is open.
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "/" && !typingIn(event.target) && !modalOpen() && !event.metaKey && !event.ctrlKey && !event.altKey) {
        event.preventDefault();
        input.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <Form method="post" action="/customers?index" role="search" className="flex items-center">
      <label htmlFor="global-customer-search" className="sr-only">
        Find a customer
      </label>
      <input
        ref={input}
        id="global-customer-search"
        name="q"
        type="search"
        autoComplete="off"
        placeholder="Find a customer   /"
        className="w-44 rounded-md border border-slate-600 bg-slate-800 px-3 py-1 text-sm text-white placeholder:text-slate-400 focus:border-white focus:bg-slate-950 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-300"
      />
    </Form>
  );
}

const NAV_LINK = "whitespace-nowrap rounded px-2 py-1 text-sm";
const NAV_ACTIVE = "bg-slate-700 text-white";
const NAV_IDLE = "text-slate-300 hover:text-white";

/**
 * A header menu (a disclosure, so it opens without JavaScript); it closes on navigation, Escape or a click elsewhere.
 * Closed by Escape from inside, it hands focus back to its own toggle rather than leaving it on a hidden link.
 */
function HeaderMenu({ summary, active, align = "left", testId, children }: { summary: ReactNode; active: boolean; align?: "left" | "right"; testId?: string; children: ReactNode }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const { pathname } = useLocation();
  useEffect(() => ref.current?.removeAttribute("open"), [pathname]);
  useEffect(() => {
    const close = (event: Event) => {
      const details = ref.current;
      if (!details?.open) return;
      if (event instanceof KeyboardEvent ? event.key !== "Escape" : details.contains(event.target as Node)) return;
      const focusInside = details.contains(document.activeElement);
      details.removeAttribute("open");
      if (event instanceof KeyboardEvent && focusInside) details.querySelector("summary")?.focus();
    };
    document.addEventListener("click", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("click", close);
      document.removeEventListener("keydown", close);
    };
  }, []);
  return (
    <details ref={ref} className="relative">
      <summary data-testid={testId} className={`cursor-pointer list-none ${NAV_LINK} ${active ? NAV_ACTIVE : NAV_IDLE}`}>
        {summary} <span aria-hidden="true">▾</span>
      </summary>
      <div className={`absolute ${align === "left" ? "left-0" : "right-0"} z-20 mt-1 min-w-40 rounded border border-slate-700 bg-slate-900 py-1 shadow-lg`}>{children}</div>
    </details>
  );
}

function NavMenu({ label, items, active }: { label: string; items: NavItem[]; active: string | null }) {
  return (
    <HeaderMenu summary={label} active={items.some((item) => item.to === active)}>
      {items.map((item) => (
        <SectionLink key={item.to} item={item} active={active} className="block px-3 py-1.5 text-sm" />
      ))}
    </HeaderMenu>
  );
}

/** A section's entry, highlighted (and announced as current) on every page of that section. */
function SectionLink({ item, active, className }: { item: NavItem; active: string | null; className: string }) {
  const { pathname } = useLocation();
  const current = item.to === active;
  return (
    <Link to={item.to} aria-current={current ? (pathname === item.to ? "page" : "true") : undefined} className={`whitespace-nowrap ${className} ${current ? NAV_ACTIVE : NAV_IDLE}`}>
      {item.label}
    </Link>
  );
}

/** Who is signed in, with their role and the way out, folded into one header entry so the header stays on one line. */
function AccountMenu({ name, role }: { name: string; role: Role }) {
  return (
    <HeaderMenu summary={<span className="inline-block max-w-40 truncate align-bottom">{name}</span>} active={false} align="right" testId="signed-in-as">
      <p className="whitespace-nowrap px-3 py-1.5 text-xs text-slate-400" data-testid="signed-in-role">
        Signed in as {name} · {ROLE_LABELS[role]}
      </p>
      <Link to="/account/password" className="block whitespace-nowrap px-3 py-1.5 text-sm text-slate-300 hover:text-white">
        Change password
      </Link>
      <Link to={SESSIONS_PATH} className="block whitespace-nowrap px-3 py-1.5 text-sm text-slate-300 hover:text-white">
        Your sessions
      </Link>
      <Link to="/account/security" className="block whitespace-nowrap px-3 py-1.5 text-sm text-slate-300 hover:text-white">
        Sign-in security
      </Link>
      <Form method="post" action="/logout">
        <button type="submit" className="block w-full whitespace-nowrap px-3 py-1.5 text-left text-sm text-slate-300 hover:text-white">
          Sign out
        </button>
      </Form>
    </HeaderMenu>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const data = useRouteLoaderData<typeof loader>("root");
  const nonce = useNonce();
  const staff = data?.staff;
  const { pathname } = useLocation();
  const items = staff ? navFor(staff.role, data?.badge === "PRODUCTION") : [];
  const entries = navEntries(items);
  const active = activeSection(pathname, items);
  const searchShown = Boolean(staff && !staff.mustChangePassword && can(staff.role, "view:customer"));
  const everywhere = [
    ...(searchShown ? [{ key: "/", label: "Find a customer (the search in the header)" }] : []),
    { key: "?", label: "Show this list of shortcuts" },
    { key: "Esc", label: "Close this list, a menu or a dialog" },
  ];
  return (
    <html lang="en" className="h-full bg-slate-50">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        {/* The icon carries the environment's colour, as the badge does: green simulator, amber sandbox, red production. */}
        <link rel="icon" type="image/svg+xml" href={`/favicon-${(data?.badge ?? "SIMULATOR").toLowerCase()}.svg`} />
        <Links />
      </head>
      <body className={`h-full text-slate-900 ${data?.badge === "PRODUCTION" ? "border-t-4 border-red-600" : ""}`}>
        <ShortcutsProvider everywhere={everywhere}>
          <header className="bg-slate-900 text-white [--focus-ring:theme(colors.indigo.300)]">
            <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-3 gap-y-2 px-4 py-2">
              <Link to="/" className="font-semibold tracking-tight">
                Linkdesk
              </Link>
              {data ? <EnvironmentBanner badge={data.badge} /> : null}
              {staff && !staff.mustChangePassword ? (
                <nav aria-label="Main" className="flex flex-wrap gap-1">
                  {entries.map((entry) =>
                    "items" in entry ? (
                      <NavMenu key={entry.menu} label={entry.menu} items={entry.items} active={active} />
                    ) : (
                      <SectionLink key={entry.to} item={entry} active={active} className={NAV_LINK} />
                    ),
                  )}
                </nav>
              ) : null}
              <div className="ml-auto flex items-center gap-3">
                {searchShown ? <CustomerSearch /> : null}
                {staff ? <AccountMenu name={staff.name} role={staff.role} /> : null}
              </div>
            </div>
          </header>
          <main className="mx-auto max-w-7xl px-4 py-6">
            {data?.flash ? (
              <Notice tone={data.flash.tone} className="mb-4" testId="flash">
                {data.flash.message}
              </Notice>
            ) : null}
            {children}
          </main>
        </ShortcutsProvider>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

const MESSAGES: Record<number, { title: string; body: string }> = {
  400: { title: "That request could not be read", body: "Something in it was missing or malformed." },
  401: { title: "Sign in to continue", body: "You are not signed in, or your session has ended." },
  403: { title: "You don't have access to this", body: "Your role does not include this page or action." },
  404: { title: "Page not found", body: "There is nothing at this address. Check the link, or start from Home." },
  405: { title: "Not allowed", body: "This address does not accept that kind of request." },
  409: { title: "That can't be done as things stand", body: "What is on record does not allow it; the reason is below." },
  415: { title: "That request could not be read", body: "This address takes a form sent from its page." },
  413: { title: "Too large", body: "What was sent is larger than this page accepts." },
  429: { title: "Slow down", body: "Too many requests in a short time. Wait a moment and try again." },
  500: { title: "Something went wrong on our side", body: "The error has been logged. Try again, and tell the team if it keeps happening." },
};

function SignInRedirect() {
  const location = useLocation();
  const target = `/login?redirectTo=${encodeURIComponent(location.pathname + location.search)}`;
  useEffect(() => {
    window.location.replace(target);
  }, [target]);
  return (
    <Link className="btn-primary" to={target}>
      Sign in
    </Link>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  // A refusal we have no words for is still a refusal (its reason is shown), never "something went wrong".
  const message = MESSAGES[status] ?? (status < 500 ? { title: "That request was refused", body: "The reason is below." } : MESSAGES[500]!);
  // A thrown Response's body is our own plain-text explanation; anything else (a crash) is never shown raw.
  const detail = isRouteErrorResponse(error) && typeof error.data === "string" && status < 500 ? error.data : null;
  const requestId = useRouteLoaderData<typeof loader>("root")?.requestId ?? null;
  return (
    <div className="mx-auto max-w-xl py-12" data-testid="error-page" data-status={status}>
      <p className="text-sm font-semibold text-indigo-600">Error {status}</p>
      <h1 className="mt-1 text-2xl font-bold">{message.title}</h1>
      <p className="mt-2 text-slate-600">{message.body}</p>
      {detail ? <p className="mt-2 text-slate-800">{detail}</p> : null}
      {status >= 500 && requestId ? (
        <p className="mt-4 text-sm text-slate-700" data-testid="error-request-id">
          Request id <code className="font-mono">{requestId}</code>: quote it when you report this.
        </p>
      ) : null}
      <div className="mt-6 flex gap-2">
        {status === 401 ? <SignInRedirect /> : <Link className="btn" to="/">Go to Home</Link>}
      </div>
    </div>
  );
}
