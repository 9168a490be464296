import { createHash, randomBytes } from "node:crypto";
import { createCookie } from "@remix-run/node";
import { and, eq } from "drizzle-orm";
import type { Queryable } from "../../db/open";
import { staffDevices } from "../../db/schema";
import type { Config } from "../config/env.server";

// A random id the browser keeps across sign-ins, so that a sign-in from a browser the account never used is told apart.
const DEVICE_COOKIE = "linkdesk_device";
const DEVICE_COOKIE_MAX_AGE = 400 * 86_400; // the longest lifetime browsers allow a cookie

function deviceCookie(secret: string) {
  return createCookie(DEVICE_COOKIE, { httpOnly: true, sameSite: "lax", path: "/", secrets: [secret], maxAge: DEVICE_COOKIE_MAX_AGE });
}

export const hashDeviceId = (deviceId: string) => createHash("sha256").update(deviceId).digest("hex");

export function newDeviceId(): string {
  return randomBytes(24).toString("base64url");
}

export async function readDeviceId(request: Request, config: Pick<Config, "sessionSecret">): Promise<string | null> {
  const value: unknown = await deviceCookie(config.sessionSecret).parse(request.headers.get("Cookie"));
  return typeof value === "string" && /^[A-Za-z0-9_-]{32}$/.test(value) ? value : null;
}

export function commitDeviceCookie(request: Request, config: Pick<Config, "sessionSecret">, deviceId: string): Promise<string> {
  return deviceCookie(config.sessionSecret).serialize(deviceId, { secure: new URL(request.url).protocol === "https:" });
}

/** Notes a sign-in on this device; true when the account had never signed in from it. */
export function noteDevice(
  db: Queryable,
  input: { staffUserId: number; deviceHash: string; userAgent: string; clientAddress: string; now: Date },
): boolean {
  const known = db
    .update(staffDevices)
    .set({ lastSeenAt: input.now, userAgent: input.userAgent.slice(0, 300), clientAddress: input.clientAddress.slice(0, 100) })
    .where(and(eq(staffDevices.staffUserId, input.staffUserId), eq(staffDevices.deviceHash, input.deviceHash)))
    .run().changes;
  if (known) return false;
  db.insert(staffDevices)
    .values({ staffUserId: input.staffUserId, deviceHash: input.deviceHash, firstSeenAt: input.now, lastSeenAt: input.now, userAgent: input.userAgent.slice(0, 300), clientAddress: input.clientAddress.slice(0, 100) })
    .run();
  return true;
}
