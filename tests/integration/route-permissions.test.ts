import { beforeAll, describe, expect, it } from "vitest";
import { PERMISSIONS, ROLES, type Permission, type Role } from "../../app/staff/permissions";
import { createApiKey } from "../../app/funnel/api-keys.server";
import { createHarness, statusOf, type Harness } from "../support/context";

type RouteModule = { loader?: (args: unknown) => unknown; action?: (args: unknown) => unknown };
type Access = Permission | "public";

// Every route module, found on disk: a new route that is missing from the table below fails this test.
const modules = import.meta.glob<RouteModule>(["../../app/routes/*.{ts,tsx}", "../../app/routes/*/route.{ts,tsx}"], { eager: true });

const EXPECTED: Record<string, { loader?: Access; action?: Access }> = {
  "_index.tsx": { loader: "view:console" },
  "$.tsx": { loader: "public", action: "public" },
  "healthz.ts": { loader: "public" },
  "readyz.ts": { loader: "public" },
  "webhooks.plaid.ts": { loader: "public", action: "public" },
  "webhooks._index.tsx": { loader: "view:customer", action: "rehandle:webhook" },
  "webhooks.$id.tsx": { loader: "view:customer", action: "rehandle:webhook" },
  "webhooks[.]csv.ts": { loader: "view:customer" },
  "login.tsx": { loader: "public", action: "public" },
  "logout.tsx": { loader: "public", action: "public" },
  "auth.sso.tsx": { loader: "public", action: "public" },
  "auth.sso_.callback.tsx": { loader: "public" },
  "admin.staff._index.tsx": { loader: "manage:staff" },
  "admin.staff.new.tsx": { loader: "manage:staff", action: "manage:staff" },
  "admin.staff.$id.tsx": { loader: "manage:staff", action: "manage:staff" },
  "admin.audit.tsx": { loader: "view:audit" },
  "jobs.tsx": { loader: "view:jobs" },
  "customers._index.tsx": { loader: "view:customer", action: "view:customer" },
  "customers.$hash/route.tsx": { loader: "view:customer" },
  "customers_.$hash.timeline.ts": { loader: "view:customer" },
  "customers_.$hash.check.tsx": { loader: "view:customer", action: "manage:cra-user" },
  "customers_.$hash.access.tsx": { loader: "view:customer", action: "view:customer" },
  "customers.expiring.tsx": { loader: "view:customer", action: "recheck:account-links" },
  "customers.expiring[.]csv.ts": { loader: "view:customer" },
  "plaid.sandbox.tsx": { loader: "mint:sandbox-token", action: "mint:sandbox-token" },
  "plaid.items.$itemId.tsx": { loader: "view:customer", action: "create:processor-token" },
  "admin.audit[.]csv.ts": { loader: "view:audit" },
  "admin.api-keys.tsx": { loader: "manage:api-keys", action: "manage:api-keys" },
  "account.password.tsx": { loader: "view:console", action: "view:console" },
  "auth.step-up.tsx": { loader: "view:console", action: "view:console" },
  "account.sessions.tsx": { loader: "view:console", action: "view:console" },
  "admin.backups.tsx": { loader: "manage:backups", action: "manage:backups" },
  "account.security.tsx": { loader: "view:console", action: "view:console" },
  "admin.security.tsx": { loader: "manage:security", action: "manage:security" },
  "login_.verify.tsx": { loader: "public", action: "public" },
  "api.events.ts": { loader: "public", action: "public" },
  "api.customer-data.ts": { loader: "public", action: "public" },
  "funnel._index.tsx": { loader: "view:funnel" },
  "funnel.dropoff.tsx": { loader: "view:funnel" },
  "funnel[.]csv.ts": { loader: "view:funnel" },
  "reports.$id.tsx": { loader: "view:customer", action: "regenerate:report" },
  "reports._index.tsx": { loader: "view:customer" },
  "reports[.]csv.ts": { loader: "view:customer" },
  "reports.bulk._index.tsx": { loader: "view:customer", action: "regenerate:report" },
  "reports.bulk.$runId.tsx": { loader: "view:customer", action: "regenerate:report" },
};

// A route folder is named by its folder: "customers.$hash/route.tsx".
const fileName = (path: string) => path.replace(/^.*\/routes\//, "");
const allowed = (permission: Permission): readonly Role[] => PERMISSIONS[permission];

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});

function args(request: Request, clientAddress?: string) {
  return { request, context: h.context(clientAddress), params: { id: String(h.users.support.id), hash: "c".repeat(64), itemId: "no-such-item", runId: "1" } };
}

describe("route permission table", () => {
  it("lists every route module, and each module exports exactly the handlers listed", () => {
    expect(Object.keys(modules).map(fileName).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [path, mod] of Object.entries(modules)) {
      const expected = EXPECTED[fileName(path)]!;
      expect(Boolean(mod.loader), `${fileName(path)} loader`).toBe(Boolean(expected.loader));
      expect(Boolean(mod.action), `${fileName(path)} action`).toBe(Boolean(expected.action));
    }
  });
});

for (const [path, mod] of Object.entries(modules)) {
  const name = fileName(path);
  const expected = EXPECTED[name];
  for (const kind of ["loader", "action"] as const) {
    const access = expected?.[kind];
    const handler = mod[kind];
    if (!handler || !access || access === "public") continue;
    const method = kind === "loader" ? "GET" : "POST";
    describe(`${name} ${kind} needs ${access}`, () => {
      const send = async (role?: Role, headers?: Record<string, string>) =>
        statusOf(async () =>
          handler(args(await h.request("/x", { method, role, headers, body: method === "POST" ? new URLSearchParams() : undefined }))),
        );

      it("refuses an anonymous request with 401", async () => {
        expect(await send()).toBe(401);
      });

      for (const role of ROLES) {
        if (allowed(access).includes(role)) {
          it(`lets ${role} through`, async () => {
            expect([401, 403]).not.toContain(await send(role));
          });
        } else {
          it(`refuses ${role} with 403`, async () => {
            expect(await send(role)).toBe(403);
          });
        }
      }

      if (kind === "action") {
        it("refuses a POST from another origin, even from a permitted role", async () => {
          const role = allowed(access)[0]!;
          expect(await send(role, { Origin: "https://evil.example" })).toBe(403);
          expect(await send(role, { Origin: "null" })).toBe(403);
        });

        it("answers a body it cannot read (JSON, text, none) with 415, even for a permitted role", async () => {
          const role = allowed(access)[0]!;
          for (const [type, body] of [["application/json", "{}"], ["text/plain", "x=1"], [null, "x=1"]] as const) {
            const request = await h.request("/x", { method, role, body: type ? new Blob([body], { type }) : new Blob([body]) });
            expect(await statusOf(async () => handler(args(request))), String(type)).toBe(415);
          }
        });
      }
    });
  }
}

// The public actions answer the same refusals as the staff ones, each for the kind of caller it serves.
const moduleNamed = (name: string) => Object.entries(modules).find(([path]) => fileName(path) === name)![1];

describe("public actions a browser posts (sign-in, sign-out)", () => {
  for (const name of ["login.tsx", "logout.tsx", "auth.sso.tsx"]) {
    it(`${name} refuses a POST from another origin with 403`, async () => {
      for (const origin of ["https://evil.example", "null"]) {
        const request = await h.request("/x", { method: "POST", role: "admin", headers: { Origin: origin }, body: new URLSearchParams() });
        expect(await statusOf(async () => moduleNamed(name).action!(args(request))), `${name} ${origin}`).toBe(403);
      }
    });
  }

  for (const name of ["login.tsx", "auth.sso.tsx"]) {
    it(`${name} answers a body it cannot read (JSON, text, none) with 415`, async () => {
      for (const [type, body] of [["application/json", '{"email":"a@b.c"}'], ["text/plain", "email=a@b.c"], [null, "email=a@b.c"]] as const) {
        const request = await h.request("/x", { method: "POST", body: type ? new Blob([body], { type }) : new Blob([body]) });
        expect(await statusOf(async () => moduleNamed(name).action!(args(request))), `${name} ${String(type)}`).toBe(415);
      }
    });
  }

  it("auth.sso_.callback.tsx answers a visit on a console without single sign-on with a 404 page, not a crash", async () => {
    expect(await statusOf(async () => moduleNamed("auth.sso_.callback.tsx").loader!(args(await h.request("/x?code=abc&state=def"))))).toBe(404);
  });
});

describe("public actions the publisher's backend posts (bearer key, JSON)", () => {
  // A caller without a key learns nothing (401); one with a key is told what to send.
  const key = () => createApiKey(h.db, "route table", { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: h.clock.now() }, ["events", "customer_data"]).secret;
  for (const name of ["api.events.ts", "api.customer-data.ts"]) {
    it(`${name} answers a body that is not JSON with 415`, async () => {
      for (const [type, body] of [["application/x-www-form-urlencoded", "a=1"], ["text/plain", "{}"], [null, "{}"]] as const) {
        const request = await h.request("/x", { method: "POST", headers: { Authorization: `Bearer ${key()}` }, body: type ? new Blob([body], { type }) : new Blob([body]) });
        expect(await statusOf(async () => moduleNamed(name).action!(args(request))), `${name} ${String(type)}`).toBe(415);
      }
    });
  }
});
