import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { plural, pluralWord } from "../../app/lib/plural";
import { AUDIT_ACTION_LABELS, auditActionLabel, auditDetailPairs } from "../../app/staff/audit-labels";
import { activeSection, NAV_ITEMS } from "../../app/ui/nav";

describe("plural", () => {
  it("picks the form English plural rules give each count", () => {
    expect(plural(1, "day")).toBe("1 day");
    expect(plural(0, "day")).toBe("0 days");
    expect(plural(3, "day")).toBe("3 days");
    expect(plural(61, "day")).toBe("61 days");
    expect(plural(1, "entry", "entries")).toBe("1 entry");
    expect(plural(2, "entry", "entries")).toBe("2 entries");
    expect(plural(1204, "customer")).toBe("1,204 customers");
    expect(pluralWord(1, "field")).toBe("field");
    expect(pluralWord(2, "field")).toBe("fields");
  });

  it("leaves no '(s)' in what the console says", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|tsx)$/.test(entry.name)) {
          readFileSync(path, "utf8")
            .split("\n")
            .forEach((line, i) => {
              // A word with "(s)" glued on, as text; code such as `.map((s) =>` and comments are not text.
              const text = /^\s*(\/?\*|\/\/)/.test(line) ? "" : line.replace(/\/\/.*$/, "");
              if (/[a-z]\(s\)(?=[\s.,;:!?'"`<]|$)/.test(text.replace(/http\(s\)/g, ""))) offenders.push(`${path}:${i + 1}`);
            });
        }
      }
    };
    walk("app");
    expect(offenders).toEqual([]);
  });
});

/** Every audit action the code writes: `action: "…"` in recordAudit calls and the actions given to the items' audit(). */
function auditActionsWritten(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|tsx)$/.test(entry.name)) {
        const source = readFileSync(path, "utf8");
        if (!/recordAudit\(|\baudit\(deps/.test(source)) continue;
        for (const match of source.matchAll(/(?:\baction:\s*|\baudit\(deps, ctx, )([^,{}]+)/g)) {
          for (const literal of match[1]!.matchAll(/"([a-z_]+\.[a-z_]+)"/g)) found.add(literal[1]!);
        }
      }
    }
  };
  walk("app");
  return found;
}

describe("audit action labels", () => {
  it("gives every action the code writes a label of its own", () => {
    const written = auditActionsWritten();
    // The scan itself must see the actions (staff sign-in, customer views, Plaid, Check, webhooks, exports).
    expect(written.size).toBeGreaterThanOrEqual(35);
    for (const action of ["staff.login", "staff.disable", "staff.enable", "customer.view", "plaid.sandbox_mint", "cardlytics.connect_failed", "cra.report_request", "webhook.rehandle"]) {
      expect(written, action).toContain(action);
    }
    const missing = [...written].filter((action) => !AUDIT_ACTION_LABELS[action]);
    expect(missing).toEqual([]);
  });

  it("labels in words, not in codes, and each label is its own", () => {
    const labels = Object.values(AUDIT_ACTION_LABELS);
    expect(new Set(labels).size).toBe(labels.length);
    for (const label of labels) expect(label).toMatch(/^[A-Z][a-z]/);
    expect(auditActionLabel("customer.view")).toBe("Viewed a customer");
    expect(auditActionLabel("staff.login")).toBe("Signed in");
    // An action from an older version keeps its code rather than a blank.
    expect(auditActionLabel("legacy.thing")).toBe("legacy.thing");
  });

  it("reads details as label and value", () => {
    expect(auditDetailPairs({ institutionId: "ins_109508", products: ["transactions", "auth"], checkUser: false, filter: { type: "ITEM", code: null } })).toEqual([
      { key: "institutionId", label: "Institution", value: "ins_109508" },
      { key: "products", label: "Products", value: "transactions, auth" },
      { key: "checkUser", label: "For the Check user", value: "no" },
      { key: "filter", label: "Filter", value: "type: ITEM" },
    ]);
    expect(auditDetailPairs(null)).toEqual([]);
  });
});

describe("the menu's current section", () => {
  it("is the section a page belongs to, not only the one its address starts with", () => {
    const hash = "ab".repeat(32);
    expect(activeSection(`/customers/${hash}/check`, NAV_ITEMS)).toBe("/reports");
    expect(activeSection(`/customers/${hash}`, NAV_ITEMS)).toBe("/customers");
    expect(activeSection("/customers/expiring", NAV_ITEMS)).toBe("/customers/expiring");
    expect(activeSection("/reports/bulk/3", NAV_ITEMS)).toBe("/reports");
    expect(activeSection("/funnel/dropoff", NAV_ITEMS)).toBe("/funnel");
    expect(activeSection("/", NAV_ITEMS)).toBe("/");
    expect(activeSection("/admin/audit", NAV_ITEMS)).toBe("/admin/audit");
    expect(activeSection("/login", NAV_ITEMS)).toBeNull();
    // Only a section that is shown can be current.
    expect(activeSection(`/customers/${hash}/check`, NAV_ITEMS.filter((i) => i.to !== "/reports"))).toBe("/customers");
  });
});
