import { isIP } from "node:net";

// The one place that knows who the client is: both the Remix path (every page, the sign-in throttle, the audit log)
// and the webhook receiver's direct path call `clientAddressOf`, and Express's own "trust proxy" is the same rule.
//
// Addresses are read from the nearest to the farthest: the socket's peer, then X-Forwarded-For from right to left.
// Each trusted proxy vouches for the address before it; the first address not vouched for is the client's. Entries
// further left were written by whoever sent the request and are never believed.

export type ProxyTrust = { kind: "none" } | { kind: "hops"; hops: number } | { kind: "addresses"; addresses: string[] };

/** TRUST_PROXY: "false" (or 0), a hop count, or a comma-separated list of the proxies' IP addresses. A message on error. */
export function parseProxyTrust(value: string): ProxyTrust | string {
  if (value === "" || value === "false" || value === "0") return { kind: "none" };
  if (value === "true") return '"true" would believe every hop, including those the client writes; give the number of proxies in front of Linkdesk (such as 1) or their addresses';
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops <= 10 ? { kind: "hops", hops } : "a hop count is at most 10";
  }
  const addresses = value.split(",").map((a) => normalise(a.trim()));
  const bad = addresses.find((a) => !isIP(a));
  if (bad !== undefined) return `${JSON.stringify(bad)} is neither a hop count nor an IP address`;
  return { kind: "addresses", addresses };
}

// IPv4 seen through a dual-stack socket arrives as ::ffff:a.b.c.d.
const normalise = (address: string) => (address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address.slice(0, 64));

/** Whether the hop at `index` (0 = the socket's peer) is a proxy we trust: Express's "trust proxy" function. */
export function trustsHop(trust: ProxyTrust): (address: string, index: number) => boolean {
  switch (trust.kind) {
    case "none":
      return () => false;
    case "hops":
      return (_address, index) => index < trust.hops;
    case "addresses": {
      const set = new Set(trust.addresses);
      return (address) => set.has(normalise(address));
    }
  }
}

/** The client's address from the socket's peer and the X-Forwarded-For header(s), under the configured trust. */
export function clientAddressOf(remoteAddress: string | undefined, forwardedFor: string | string[] | null | undefined, trust: ProxyTrust): string {
  const peer = normalise(remoteAddress ?? "unknown");
  if (trust.kind === "none") return peer;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
  const hops = [peer, ...header.split(",").map((a) => normalise(a.trim())).filter(Boolean).reverse()];
  const trusted = trustsHop(trust);
  for (let i = 0; i < hops.length - 1; i++) if (!trusted(hops[i]!, i)) return hops[i]!;
  return hops[hops.length - 1]!;
}
