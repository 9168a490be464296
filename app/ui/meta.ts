import type { MetaDescriptor } from "@remix-run/node";

type Matches = readonly { id: string; data?: unknown }[];

/**
 * A page's title: what it shows first, then "Linkdesk", then the environment as the header badge names it, so a
 * row of tabs tells a production console from a sandbox one and one customer's tab from another's.
 */
export function pageMeta({ matches }: { matches: Matches }, ...parts: (string | null | undefined)[]): MetaDescriptor[] {
  const root = matches.find((m) => m.id === "root")?.data as { badge?: string } | undefined;
  const title = [...parts.filter((p): p is string => Boolean(p)), "Linkdesk"].join(" · ");
  return [{ title: root?.badge ? `${title} [${root.badge}]` : title }];
}
