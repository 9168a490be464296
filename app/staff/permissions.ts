// The one table of who may do what. The server enforces it; the UI reads it only to hide what the server forbids.

export const ROLES = ["support", "ops", "pm", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  support: "Support agent",
  ops: "Operations",
  pm: "Product manager",
  admin: "Administrator",
};

const SUPPORT = ["support", "ops", "admin"] as const;
const OPS = ["ops", "admin"] as const;

export const PERMISSIONS = {
  "view:console": ROLES,
  "view:customer": SUPPORT,
  "recheck:account-links": OPS,
  "mint:sandbox-token": OPS,
  "create:processor-token": OPS,
  "manage:plaid-item": OPS,
  "manage:cra-user": OPS,
  "regenerate:report": OPS,
  "rehandle:webhook": OPS,
  "view:funnel": ["pm", "admin"],
  "manage:api-keys": ["admin"],
  "manage:staff": ["admin"],
  "view:audit": ["admin"],
  "manage:backups": ["admin"],
  "manage:security": ["admin"],
  "view:jobs": OPS,
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}
