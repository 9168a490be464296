import { can, type Permission, type Role } from "~/staff/permissions";

/** `topLevelFor`: roles that see a menu's item in the bar itself, having no other item of that menu. */
export type NavItem = { to: string; label: string; permission: Permission; sandboxOnly?: boolean; menu?: "Admin"; topLevelFor?: readonly Role[] };
export type NavEntry = NavItem | { menu: string; items: NavItem[] };

// Each capability adds its section here; the list a staff member sees is filtered by their role.
export const NAV_ITEMS: NavItem[] = [
  { to: "/", label: "Home", permission: "view:console" },
  { to: "/customers", label: "Customers", permission: "view:customer" },
  { to: "/customers/expiring", label: "Expiring links", permission: "view:customer" },
  { to: "/webhooks", label: "Webhooks", permission: "view:customer" },
  { to: "/reports", label: "Plaid Check", permission: "view:customer" },
  { to: "/plaid/sandbox", label: "Plaid sandbox", permission: "mint:sandbox-token", sandboxOnly: true },
  { to: "/funnel", label: "Funnel", permission: "view:funnel" },
  { to: "/admin/staff", label: "Staff", menu: "Admin", permission: "manage:staff" },
  { to: "/admin/api-keys", label: "API keys", menu: "Admin", permission: "manage:api-keys" },
  { to: "/admin/audit", label: "Audit log", menu: "Admin", permission: "view:audit" },
  { to: "/admin/backups", label: "Backups", menu: "Admin", permission: "manage:backups" },
  { to: "/admin/security", label: "Sign-in policy", menu: "Admin", permission: "manage:security" },
  { to: "/jobs", label: "Jobs", menu: "Admin", permission: "view:jobs", topLevelFor: ["ops"] },
];

export function navFor(role: Role, production: boolean): NavItem[] {
  return NAV_ITEMS.filter((item) => can(role, item.permission) && !(production && item.sandboxOnly)).map((item) => (item.topLevelFor?.includes(role) ? { ...item, menu: undefined } : item));
}

/** The header's entries: items of one menu are gathered where the first of them stands. */
export function navEntries(items: NavItem[]): NavEntry[] {
  const entries: NavEntry[] = [];
  for (const item of items) {
    if (!item.menu) entries.push(item);
    else {
      const menu = entries.find((e): e is { menu: string; items: NavItem[] } => "items" in e && e.menu === item.menu);
      if (menu) menu.items.push(item);
      else entries.push({ menu: item.menu, items: [item] });
    }
  }
  return entries;
}

// Pages that live under one address but belong to another section: a customer's Plaid Check page is Plaid Check work.
const SECTION_OF: [RegExp, string][] = [[/^\/customers\/[^/]+\/check\/?$/, "/reports"]];

/** The section a page belongs to, among those shown: its override, else the longest section address it sits under. */
export function activeSection(pathname: string, items: NavItem[]): string | null {
  const shown = new Set(items.map((i) => i.to));
  for (const [pattern, to] of SECTION_OF) if (pattern.test(pathname) && shown.has(to)) return to;
  let best: string | null = null;
  for (const { to } of items) {
    const under = to === "/" ? pathname === "/" : pathname === to || pathname.startsWith(`${to}/`);
    if (under && (best === null || to.length > best.length)) best = to;
  }
  return best;
}
