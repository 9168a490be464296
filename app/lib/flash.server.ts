import { createCookie, redirect } from "@remix-run/node";
import type { AppContext } from "../context";
import type { NoticeTone } from "../ui/notice";

// One-time messages after a redirect ("Account created"), carried by a short-lived signed cookie instead of
// `?created=1` in the address: a reload or a shared link never shows them again.

export type Flash = { tone: Extract<NoticeTone, "success" | "neutral" | "info">; message: string };

const FLASH_COOKIE = "linkdesk_flash";
const flashCookie = (secret: string) => createCookie(FLASH_COOKIE, { httpOnly: true, sameSite: "lax", path: "/", maxAge: 60, secrets: [secret] });
const isHttps = (request: Request) => new URL(request.url).protocol === "https:";

/** A redirect that shows `flash` once on the page it lands on. */
export async function redirectWithFlash(request: Request, context: Pick<AppContext, "config">, to: string, flash: Flash) {
  return redirect(to, { headers: { "Set-Cookie": await flashCookie(context.config.sessionSecret).serialize(flash, { secure: isHttps(request) }) } });
}

/** The waiting message, if any, and the Set-Cookie that clears it. */
export async function takeFlash(request: Request, context: Pick<AppContext, "config">): Promise<{ flash: Flash | null; clear: string | null }> {
  const cookie = flashCookie(context.config.sessionSecret);
  const value = (await cookie.parse(request.headers.get("Cookie"))) as Flash | null;
  const valid = value && typeof value.message === "string" && ["success", "neutral", "info"].includes(value.tone) ? { tone: value.tone, message: value.message.slice(0, 300) } : null;
  if (!value) return { flash: null, clear: null };
  return { flash: valid, clear: await cookie.serialize("", { maxAge: 0, secure: isHttps(request) }) };
}
