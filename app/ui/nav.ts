import { can, type Permission, type Role } from "~/staff/permissions";

export type NavItem = { to: string; label: string; permission: Permission; sandboxOnly?: boolean };

// Each capability adds its section here; the list a staff member sees is filtered by their role.
export const NAV_ITEMS: NavItem[] = [
  { to: "/", label: "Home", permission: "view:console" },
  { to: "/customers", label: "Customers", permission: "view:customer" },
  { to: "/customers/expiring", label: "Expiring links", permission: "view:customer" },
  { to: "/webhooks", label: "Webhooks", permission: "view:customer" },
  { to: "/reports", label: "Plaid Check", permission: "view:customer" },
  { to: "/plaid/sandbox", label: "Plaid sandbox", permission: "mint:sandbox-token", sandboxOnly: true },
  { to: "/funnel", label: "Funnel", permission: "view:funnel" },
  { to: "/admin/staff", label: "Staff", permission: "manage:staff" },
  { to: "/admin/api-keys", label: "API keys", permission: "manage:api-keys" },
  { to: "/admin/audit", label: "Audit log", permission: "view:audit" },
];

export function navFor(role: Role, production: boolean): NavItem[] {
  return NAV_ITEMS.filter((item) => can(role, item.permission) && !(production && item.sandboxOnly));
}
