import type { LoaderFunctionArgs } from "@remix-run/node";
import { sql } from "drizzle-orm";
import packageJson from "../../package.json";

// Public, for load balancers and uptime checks: says whether the database answers, and nothing about its content.
export function loader({ context }: LoaderFunctionArgs) {
  let database: "ok" | "unreachable" = "ok";
  try {
    context.db.get(sql`select 1`);
  } catch {
    database = "unreachable";
  }
  const healthy = database === "ok";
  return Response.json(
    { status: healthy ? "ok" : "degraded", database, version: packageJson.version },
    { status: healthy ? 200 : 503, headers: { "Cache-Control": "no-store" } },
  );
}
