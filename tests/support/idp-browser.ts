// What a browser does at the identity provider, over real HTTP: follow the authorization URL to the provider's
// sign-in form, submit it (or cancel), follow the provider's redirects and stop at the first address that is not the
// provider's (the console's callback), which is given back.

class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1);
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

export type IdpVisit = { callbackUrl: URL | null; status: number; body: string };

async function follow(jar: CookieJar, start: string, providerOrigin: string, init?: RequestInit): Promise<IdpVisit & { lastUrl: string }> {
  let url = start;
  let request: RequestInit | undefined = init;
  for (let hops = 0; hops < 10; hops++) {
    const res = await fetch(url, { ...request, redirect: "manual", headers: { ...(request?.headers as Record<string, string> | undefined), Cookie: jar.header() } });
    jar.take(res);
    const location = res.headers.get("Location");
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      if (next.origin !== providerOrigin) return { callbackUrl: next, status: res.status, body: "", lastUrl: url };
      url = next.href;
      request = undefined;
      continue;
    }
    return { callbackUrl: null, status: res.status, body: await res.text(), lastUrl: url };
  }
  throw new Error("too many redirects at the identity provider");
}

/** Signs in at the provider as `username` and gives back where it sends the browser (the console's callback). */
export async function signInAtIdp(authorizationUrl: string | URL, username: string, password: string, opts: { cancel?: boolean } = {}): Promise<IdpVisit> {
  const jar = new CookieJar();
  const providerOrigin = new URL(authorizationUrl).origin;
  const formPage = await follow(jar, String(authorizationUrl), providerOrigin);
  if (formPage.callbackUrl) return formPage;
  const action = /<form method="post" action="([^"]+)"/.exec(formPage.body)?.[1];
  if (!action) return formPage;
  const target = new URL(opts.cancel ? action.replace(/\/login$/, "/cancel") : action, formPage.lastUrl).href;
  return follow(jar, target, providerOrigin, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password }).toString(),
  });
}
