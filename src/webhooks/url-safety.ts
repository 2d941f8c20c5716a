/**
 * Webhook URL safety (docs/API.md): the relay POSTs to URLs its callers choose, so a URL
 * must not point it at its own network, a cloud metadata service or any other address a
 * stranger should not be able to reach through us (SSRF). Checked when a webhook is
 * registered and again before each delivery.
 *
 * The WHATWG URL parser does the normalisation (IPv4 in decimal, hex, octal or shortened
 * form becomes a dotted quad; IPv6 is lower-cased and compressed, embedded IPv4 turned to
 * hex; percent-encoding and full-width characters in hosts are decoded), and this module
 * then parses the resulting literal itself rather than pattern-matching the raw input.
 *
 * What it cannot see: a DNS name that resolves to a private address (or re-resolves to
 * one after the check: DNS rebinding). Workers offer no DNS lookup before fetch, and the
 * connection is made by Cloudflare's network, not from a host on a private network:
 * production `fetch()` from a Worker does not reach private or loopback addresses, so a
 * name pointing there fails to connect instead of reaching an internal service. The
 * checks here refuse what can be known from the URL alone; local runs (where fetch can
 * reach loopback) are the `allowPrivate` case anyway.
 */
import { ApiError } from "../errors/api-error";

export interface WebhookUrlOptions {
  /**
   * Local development and tests only (`WEBHOOK_ALLOW_PRIVATE=true`): lifts the host and
   * scheme rules. Credentials and non-http(s) schemes are still refused.
   */
  allowPrivate: boolean;
}

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

// Generous for real endpoints (query-string tokens included), small enough to store and
// log every attempt without thought.
const MAX_URL_LENGTH = 2048;

/**
 * Names that never resolve to a public host in the public DNS. If one resolves at all it
 * is through a local resolver, which is exactly the network we must not reach.
 * - localhost (RFC 6761), local (mDNS, RFC 6762), home.arpa (RFC 8375), and the rest of
 *   .arpa (reverse-DNS infrastructure, not hosts);
 * - internal (reserved by ICANN for private use, 2024; e.g. metadata.google.internal);
 * - test, invalid, example (RFC 2606/6761): reserved, never delegated. A webhook there
 *   can only be a mistake or a probe. (`example.com` and friends are real and allowed.)
 * - onion (RFC 7686): unreachable without Tor.
 * - localdomain, lan, home, corp, intranet, private: not delegated, and common as
 *   router/corporate search domains; ICANN has declined to delegate home and corp for
 *   precisely that collision risk.
 */
const NON_PUBLIC_SUFFIXES = [
  "localhost",
  "local",
  "arpa",
  "internal",
  "test",
  "invalid",
  "example",
  "onion",
  "localdomain",
  "lan",
  "home",
  "corp",
  "intranet",
  "private",
] as const;

export function checkWebhookUrl(raw: string, opts: WebhookUrlOptions): WebhookUrlCheck {
  if (raw.length > MAX_URL_LENGTH) {
    return { ok: false, reason: `must be at most ${MAX_URL_LENGTH} characters` };
  }
  // The URL parser silently drops surrounding spaces and inner tabs/newlines; refusing
  // them keeps what the caller sent, what was checked and what is shown back identical.
  if (/[\u0000-\u0020\u007f]/.test(raw)) {
    return { ok: false, reason: "must not contain spaces or control characters" };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not a valid absolute URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: "must be an https URL" };
  }
  // Credentials would be sent on every delivery and shown in every log and listing.
  if (url.username !== "" || url.password !== "") {
    return { ok: false, reason: "must not contain credentials (user:password@)" };
  }
  if (opts.allowPrivate) return { ok: true, url };

  if (url.protocol !== "https:") return { ok: false, reason: "must be an https URL" };
  const problem = hostProblem(url.hostname);
  if (problem) return { ok: false, reason: `host ${problem}` };
  return { ok: true, url };
}

/** `checkWebhookUrl` for request handlers: the URL, or a 400 naming `param`. */
export function assertWebhookUrl(raw: string, opts: WebhookUrlOptions, param = "webhook"): URL {
  const result = checkWebhookUrl(raw, opts);
  if (!result.ok) {
    throw new ApiError("invalid_request", `Webhook URL ${result.reason}.`, {
      param,
      detailCode: "invalid_webhook_url",
    });
  }
  return result.url;
}

/** Why `hostname` (as the URL parser normalised it) is not a public host, or null. */
function hostProblem(hostname: string): string | null {
  if (hostname.startsWith("[")) {
    const groups = parseIpv6(hostname.slice(1, -1));
    // Unreachable for a hostname the URL parser produced; refusing keeps this total.
    if (!groups) return "is not a valid IPv6 address";
    return ipv6Problem(groups);
  }
  const v4 = parseIpv4(hostname);
  if (v4 !== null) return ipv4Problem(v4);
  return domainProblem(hostname);
}

function domainProblem(hostname: string): string | null {
  // "localhost." is the same name as "localhost" (fully qualified).
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  // Single-label names resolve only through local search domains (e.g. "metadata",
  // "router"), never as public hosts.
  if (!name.includes(".")) return `${JSON.stringify(name)} is a single-label name, not a public domain`;
  const tld = name.slice(name.lastIndexOf(".") + 1);
  if ((NON_PUBLIC_SUFFIXES as readonly string[]).includes(tld)) {
    return `uses the reserved or private-use domain .${tld}`;
  }
  return null;
}

// ---------------------------------------------------------------------------- IPv4

/** A dotted quad as an unsigned 32-bit number; null for anything else. */
export function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    // Decimal only, no leading zeros: the URL parser has already converted other forms.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

interface Ipv4Range {
  base: number;
  prefix: number;
  label: string;
}

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

// IANA IPv4 Special-Purpose Address Registry, plus multicast and class E. Every range is
// refused whole, even where a sliver is globally reachable (e.g. 192.0.0.9): no webhook
// receiver lives there.
const IPV4_BLOCKED: readonly Ipv4Range[] = [
  { base: v4(0, 0, 0, 0), prefix: 8, label: '"this network" (0.0.0.0/8)' },
  { base: v4(10, 0, 0, 0), prefix: 8, label: "private (10.0.0.0/8)" },
  { base: v4(100, 64, 0, 0), prefix: 10, label: "shared/CGNAT (100.64.0.0/10)" },
  { base: v4(127, 0, 0, 0), prefix: 8, label: "loopback (127.0.0.0/8)" },
  { base: v4(169, 254, 0, 0), prefix: 16, label: "link-local, incl. cloud metadata (169.254.0.0/16)" },
  { base: v4(172, 16, 0, 0), prefix: 12, label: "private (172.16.0.0/12)" },
  { base: v4(192, 0, 0, 0), prefix: 24, label: "IETF protocol assignments (192.0.0.0/24)" },
  { base: v4(192, 0, 2, 0), prefix: 24, label: "documentation (192.0.2.0/24)" },
  { base: v4(192, 88, 99, 0), prefix: 24, label: "deprecated 6to4 relay anycast (192.88.99.0/24)" },
  { base: v4(192, 168, 0, 0), prefix: 16, label: "private (192.168.0.0/16)" },
  { base: v4(198, 18, 0, 0), prefix: 15, label: "benchmarking (198.18.0.0/15)" },
  { base: v4(198, 51, 100, 0), prefix: 24, label: "documentation (198.51.100.0/24)" },
  { base: v4(203, 0, 113, 0), prefix: 24, label: "documentation (203.0.113.0/24)" },
  { base: v4(224, 0, 0, 0), prefix: 4, label: "multicast (224.0.0.0/4)" },
  { base: v4(240, 0, 0, 0), prefix: 4, label: "reserved or broadcast (240.0.0.0/4)" },
];

function inV4Range(address: number, range: Ipv4Range): boolean {
  const size = 2 ** (32 - range.prefix);
  return address >= range.base && address < range.base + size;
}

/** The name of the non-public range holding `address`, or null when it is public. */
function ipv4BlockedRange(address: number): string | null {
  return IPV4_BLOCKED.find((range) => inV4Range(address, range))?.label ?? null;
}

function ipv4Problem(address: number): string | null {
  const range = ipv4BlockedRange(address);
  return range ? `is a non-public IPv4 address: ${range}` : null;
}

// ---------------------------------------------------------------------------- IPv6

/**
 * An IPv6 address (no brackets, no zone) as its eight 16-bit groups; null if malformed.
 * Accepts a trailing dotted quad too, although the URL parser never emits one.
 */
export function parseIpv6(text: string): number[] | null {
  let body = text.toLowerCase();
  const lastColon = body.lastIndexOf(":");
  if (lastColon >= 0 && body.includes(".", lastColon)) {
    const quad = parseIpv4(body.slice(lastColon + 1));
    if (quad === null) return null;
    const hex = (n: number): string => n.toString(16);
    body = `${body.slice(0, lastColon + 1)}${hex(Math.floor(quad / 65536))}:${hex(quad % 65536)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? "");
  if (!head) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const rest = parse(halves[1] ?? "");
  // "::" stands for at least one group of zeros.
  if (!rest || head.length + rest.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** The IPv4 address held in groups [i] and [i+1]. */
function embeddedV4(groups: readonly number[], i: number): number {
  return (groups[i] ?? 0) * 65536 + (groups[i + 1] ?? 0);
}

function formatV4(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join(".");
}

function startsWith(groups: readonly number[], prefix: readonly number[]): boolean {
  return prefix.every((g, i) => groups[i] === g);
}

function ipv6Problem(groups: readonly number[]): string | null {
  const g0 = groups[0] ?? 0;
  const zeroUpTo = (n: number): boolean => groups.slice(0, n).every((g) => g === 0);
  const refuse = (label: string): string => `is a non-public IPv6 address: ${label}`;

  // NAT64 (RFC 6052) is routable where a NAT64 gateway exists and reaches the embedded
  // IPv4 address, so it is judged by that address.
  if (startsWith(groups, [0x64, 0xff9b, 0, 0, 0, 0])) {
    const inner = embeddedV4(groups, 6);
    const range = ipv4BlockedRange(inner);
    return range ? refuse(`NAT64 (64:ff9b::/96) of ${formatV4(inner)}, ${range}`) : null;
  }

  // Global unicast is 2000::/3; everything outside it is refused, with a name where the
  // range has one.
  if (g0 < 0x2000 || g0 > 0x3fff) {
    if (groups.every((g) => g === 0)) return refuse("unspecified (::)");
    if (zeroUpTo(7) && groups[7] === 1) return refuse("loopback (::1)");
    // Mapped and compatible forms only exist to smuggle IPv4 through IPv6 APIs; a receiver
    // with a public IPv4 address can be given as such.
    if (zeroUpTo(5) && groups[5] === 0xffff) return refuse("IPv4-mapped (::ffff:0:0/96)");
    if (zeroUpTo(4) && groups[4] === 0xffff && groups[5] === 0) {
      return refuse("IPv4-translated (::ffff:0:0:0/96)");
    }
    if (zeroUpTo(6)) return refuse("IPv4-compatible, deprecated (::/96)");
    if (startsWith(groups, [0x64, 0xff9b, 1])) return refuse("local-use NAT64 (64:ff9b:1::/48)");
    if (startsWith(groups, [0x100, 0, 0, 0])) return refuse("discard-only (100::/64)");
    if ((g0 & 0xfe00) === 0xfc00) return refuse("unique local (fc00::/7)");
    if ((g0 & 0xffc0) === 0xfe80) return refuse("link-local (fe80::/10)");
    if ((g0 & 0xffc0) === 0xfec0) return refuse("site-local, deprecated (fec0::/10)");
    if ((g0 & 0xff00) === 0xff00) return refuse("multicast (ff00::/8)");
    return refuse("outside global unicast (2000::/3)");
  }

  const g1 = groups[1] ?? 0;
  if (g0 === 0x2001 && g1 === 0) return refuse("Teredo (2001::/32)");
  if (g0 === 0x2001 && g1 === 0xdb8) return refuse("documentation (2001:db8::/32)");
  // The rest of 2001::/23: benchmarking (2001:2::/48), ORCHID and other IETF protocol
  // assignments, none of which hosts a webhook receiver.
  if (g0 === 0x2001 && g1 < 0x200) return refuse("IETF protocol assignments (2001::/23)");
  if (g0 === 0x3fff && g1 < 0x1000) return refuse("documentation (3fff::/20)");
  // 6to4 (RFC 3056) carries the IPv4 address of the tunnel end point in bits 16-47.
  if (g0 === 0x2002) {
    const inner = embeddedV4(groups, 1);
    const range = ipv4BlockedRange(inner);
    return range ? refuse(`6to4 (2002::/16) of ${formatV4(inner)}, ${range}`) : null;
  }
  return null;
}
