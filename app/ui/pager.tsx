import { Link } from "@remix-run/react";

/** Previous/next page links under a list; either side is hidden when there is nothing there. */
export function Pager({ previous, next, previousLabel = "← Newest", nextLabel = "Older →" }: { previous: string | null; next: string | null; previousLabel?: string; nextLabel?: string }) {
  return (
    <nav className="flex gap-2" aria-label="Pages">
      {previous ? (
        <Link className="btn" to={previous}>
          {previousLabel}
        </Link>
      ) : null}
      {next ? (
        <Link className="btn" to={next}>
          {nextLabel}
        </Link>
      ) : null}
    </nav>
  );
}
