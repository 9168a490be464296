import type { ServerBuild } from "@remix-run/node";

// The route a request went to, as a pattern ("/customers/:hash"), for logs and metrics: labels stay few whatever the
// ids in the URLs. Matched against the build's own route table, most specific first (static segments beat dynamic
// ones, which beat a splat), as the router itself ranks them.

type Compiled = { pattern: string; regex: RegExp; score: number };

function fullPath(routes: ServerBuild["routes"], id: string): string[] {
  const segments: string[] = [];
  for (let r = routes[id]; r; r = r.parentId ? routes[r.parentId] : undefined) {
    if (r.path) segments.unshift(...r.path.split("/").filter(Boolean));
  }
  return segments;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function routeLabeller(routes: ServerBuild["routes"]): (pathname: string) => string {
  const compiled: Compiled[] = [];
  for (const [id, route] of Object.entries(routes)) {
    if (id === "root" || (!route.path && !route.index)) continue;
    const segments = fullPath(routes, id);
    let score = segments.length ? 0 : 1;
    const parts = segments.map((seg) => {
      if (seg === "*") {
        score += 1;
        return "(?:/.*)?";
      }
      if (seg.startsWith(":")) {
        score += 3;
        return "/[^/]+";
      }
      score += 10;
      return `/${escape(seg)}`;
    });
    compiled.push({ pattern: `/${segments.join("/")}`, regex: new RegExp(`^${parts.join("")}/?$`), score });
  }
  compiled.sort((a, b) => b.score - a.score);
  return (pathname: string) => {
    if (pathname.startsWith("/assets/")) return "/assets/*"; // the build's static files, served before Remix
    // Single fetch asks for a page's data at "<path>.data" (and "/_root.data" for the index).
    const path = pathname === "/_root.data" ? "/" : pathname.replace(/\.data$/, "");
    return compiled.find((c) => c.regex.test(path))?.pattern ?? "unmatched";
  };
}
