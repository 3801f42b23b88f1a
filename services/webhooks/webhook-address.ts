import dns from 'node:dns';
import net from 'node:net';

/**
 * Where a webhook may be sent. A registered URL is checked at registration and again at each
 * delivery: its host name is resolved once, every address it resolves to is classified, and the
 * delivery connects to the address that was checked (no second lookup that DNS could answer
 * differently). Hosts listed in WEBHOOK_ALLOWED_HOSTS skip the address check: that is the explicit
 * opt-in for internal receivers.
 *
 * Odd IPv4 spellings (2130706433, 0x7f.1, 0177.0.0.1, 127.1) need no code here: the WHATWG URL
 * parser rewrites every one of them to dotted decimal for http(s) URLs, and URLs are the only input.
 */

/** Address ranges refused by default, first match wins (so a specific phrase precedes its range). */
const REFUSED_RANGES: [cidr: string, phrase: string][] = [
  ['169.254.169.254/32', 'the cloud metadata address'],
  ['fd00:ec2::254/128', 'the cloud metadata address'],
  ['0.0.0.0/8', 'an unspecified ("this network") address'],
  ['10.0.0.0/8', 'a private address'],
  ['100.64.0.0/10', 'a carrier-grade NAT address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address'],
  ['172.16.0.0/12', 'a private address'],
  ['192.0.0.0/24', 'a reserved (IETF protocol) address'],
  ['192.168.0.0/16', 'a private address'],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['255.255.255.255/32', 'the broadcast address'],
  ['240.0.0.0/4', 'a reserved address'],
  ['::/128', 'an unspecified address'],
  ['::1/128', 'a loopback address'],
  ['::/96', 'an IPv4-compatible address'],
  ['fc00::/7', 'a private (unique local) address'],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a private (site-local) address'],
  ['ff00::/8', 'a multicast address'],
];

const subnet = (cidr: string) => {
  const [address, bits] = cidr.split('/') as [string, string];
  const list = new net.BlockList();
  list.addSubnet(address, Number(bits), net.isIPv6(address) ? 'ipv6' : 'ipv4');
  return list;
};
const RULES = REFUSED_RANGES.map(([cidr, phrase]) => ({ list: subnet(cidr), phrase }));
// Kept apart from RULES: BlockList compares IPv4 addresses as IPv4-mapped IPv6, so this range
// would match every IPv4 address. Only IPv6 addresses are checked against it.
const IPV4_MAPPED = subnet('::ffff:0:0/96');
// IPv6 prefixes that carry an IPv4 address a gateway forwards to: refused when that address is.
const NAT64 = [subnet('64:ff9b::/96'), subnet('64:ff9b:1::/48')];
const SIX_TO_FOUR = subnet('2002::/16');

/** The eight 16-bit groups of an IPv6 address (the URL parser writes any dotted tail in hex first). */
function groups(ip: string): number[] {
  const canonical = new URL(`http://[${ip.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.split('::').map((s) => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])) as [number[], number[]?];
  return tail ? [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
}

const ipv4At = (g: number[], i: number) => [g[i]! >> 8, g[i]! & 0xff, g[i + 1]! >> 8, g[i + 1]! & 0xff].join('.');

/** Why an IP address is refused as a webhook target (a phrase such as "a private address"), or null. */
export function addressRefusal(ip: string): string | null {
  const family = net.isIP(ip);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (family === 6 && IPV4_MAPPED.check(ip, 'ipv6')) return `an IPv4-mapped address (of ${ipv4At(groups(ip), 6)})`;
  const rule = RULES.find((r) => r.list.check(ip, type));
  if (rule) return rule.phrase;
  if (family === 6) {
    const embedded = NAT64.some((l) => l.check(ip, 'ipv6')) ? ipv4At(groups(ip), 6) : SIX_TO_FOUR.check(ip, 'ipv6') ? ipv4At(groups(ip), 1) : null;
    const inner = embedded && addressRefusal(embedded);
    if (inner) return `an address that embeds ${embedded}, ${inner}`;
  }
  return null;
}

/**
 * Why a host name is refused before any lookup, or null. Names that by definition point inside
 * the service's own network: localhost and *.localhost (RFC 6761), *.internal (reserved for
 * private use; metadata.google.internal, *.ec2.internal), *.local (mDNS), *.home.arpa (RFC 8375),
 * and single-label names (metadata, instance-data, redis, postgres: resolved through search
 * domains, hosts files and container DNS, never public).
 */
export function nameRefusal(name: string): string | null {
  const host = name.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'a loopback name';
  if (host === 'internal' || host.endsWith('.internal')) return 'an internal name (cloud metadata and private services)';
  if (host.endsWith('.local') || host.endsWith('.home.arpa')) return 'a local-network name';
  if (!host.includes('.')) return 'a single-label name (resolved inside the local network)';
  return null;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type LookupAll = (host: string) => Promise<ResolvedAddress[]>;

/** Every address the system resolver gives, in its order. */
export const systemLookup: LookupAll = async (host) => (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export type WebhookTarget =
  | ({ ok: true; host: string } & ResolvedAddress)
  /** host_not_allowed and address_refused are final; unresolved is worth retrying (DNS may recover). */
  | { ok: false; code: 'host_not_allowed' | 'address_refused' | 'unresolved'; reason: string };

const HINT = 'set WEBHOOK_ALLOWED_HOSTS to allow internal receivers';

/**
 * Resolves a webhook URL to the one address to connect to, or says why it may not be sent to.
 * With WEBHOOK_ALLOWED_HOSTS set only listed hosts pass, and they pass unchecked.
 */
export async function resolveWebhookTarget(url: string, allowedHosts: string[], lookup: LookupAll = systemLookup): Promise<WebhookTarget> {
  const hostname = new URL(url).hostname;
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  const refuse = (reason: string): WebhookTarget => ({ ok: false, code: 'address_refused', reason: `${reason}; ${HINT}` });
  const listed = allowedHosts.includes(host) || allowedHosts.includes(hostname);
  if (allowedHosts.length && !listed) return { ok: false, code: 'host_not_allowed', reason: `${host} is not in WEBHOOK_ALLOWED_HOSTS (${allowedHosts.join(', ')})` };
  const family = net.isIP(host);
  if (family !== 0) {
    const why = listed ? null : addressRefusal(host);
    return why ? refuse(`${host} is ${why}`) : { ok: true, host, address: host, family: family === 6 ? 6 : 4 };
  }
  const named = listed ? null : nameRefusal(host);
  if (named) return refuse(`${host} is ${named}`);
  let addresses: ResolvedAddress[];
  try {
    addresses = await lookup(host);
  } catch (err) {
    return { ok: false, code: 'unresolved', reason: `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  if (addresses.length === 0) return { ok: false, code: 'unresolved', reason: `${host} does not resolve (no addresses)` };
  for (const a of listed ? [] : addresses) {
    const why = addressRefusal(a.address);
    if (why) return refuse(`${host} resolves to ${a.address}, ${why}`);
  }
  return { ok: true, host, ...addresses[0]! };
}
