import { describe, expect, it } from 'vitest';
import { addressRefusal, nameRefusal, resolveWebhookTarget, type LookupAll, type ResolvedAddress } from '../../services/webhooks/webhook-address.ts';

/** A resolver that answers from a table and counts its calls; names not in it do not exist. */
function fakeDns(table: Record<string, string[]>) {
  const calls: string[] = [];
  const lookup: LookupAll = async (host) => {
    calls.push(host);
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup, calls };
}

describe('addressRefusal: every refused range, at its edges', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['10.0.0.0', 'a private address'],
    ['10.255.255.255', 'a private address'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['100.100.100.200', 'carrier-grade NAT'], // Alibaba Cloud's metadata service
    ['127.0.0.1', 'a loopback address'],
    ['127.255.255.254', 'a loopback address'],
    ['169.254.169.254', 'the cloud metadata address'],
    ['169.254.0.1', 'a link-local address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.0.0.170', 'reserved (IETF protocol)'],
    ['192.168.1.1', 'a private address'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.1', 'a multicast address'],
    ['239.255.255.250', 'a multicast address'],
    ['240.0.0.1', 'a reserved address'],
    ['255.255.255.255', 'the broadcast address'],
    ['::', 'an unspecified address'],
    ['::1', 'a loopback address'],
    ['0:0:0:0:0:0:0:1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'an IPv4-mapped address (of 127.0.0.1)'],
    ['::ffff:7f00:1', 'an IPv4-mapped address (of 127.0.0.1)'],
    ['::ffff:a9fe:a9fe', 'an IPv4-mapped address (of 169.254.169.254)'],
    ['::ffff:93.184.216.34', 'an IPv4-mapped address (of 93.184.216.34)'], // mapped at all: refused
    ['::7f00:1', 'an IPv4-compatible address'],
    ['fc00::1', 'a private (unique local) address'],
    ['fdff:ffff::1', 'a private (unique local) address'],
    ['fd00:ec2::254', 'the cloud metadata address'],
    ['fe80::1', 'a link-local address'],
    ['fe80::1%eth0', 'a link-local address'],
    ['febf:ffff::1', 'a link-local address'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'a multicast address'],
    ['64:ff9b::a00:5', 'embeds 10.0.0.5, a private address'], // NAT64 to a private address
    ['2002:7f00:1::1', 'embeds 127.0.0.1, a loopback address'], // 6to4 of loopback
  ])('%s is refused as %s', (ip, phrase) => {
    expect(addressRefusal(ip)).toContain(phrase);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.167.255.255',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700::1',
    '2001:4860:4860::8888',
    'fbff::1',
    'fe7f::1',
    '2a00:1450::1',
    '64:ff9b::5db8:d822',
    '2002:5db8:d822::1',
  ])('%s (public) is allowed', (ip) => {
    expect(addressRefusal(ip)).toBeNull();
  });

  it('says when the input is no IP address at all', () => {
    expect(addressRefusal('127.1')).toBe('not an IP address');
    expect(addressRefusal('example.com')).toBe('not an IP address');
  });
});

describe('nameRefusal', () => {
  it.each([
    ['localhost', 'loopback name'],
    ['LOCALHOST.', 'loopback name'],
    ['api.localhost', 'loopback name'],
    ['metadata.google.internal', 'internal name'],
    ['metadata.google.internal.', 'internal name'],
    ['instance-data.ec2.internal', 'internal name'],
    ['metadata', 'single-label'],
    ['instance-data', 'single-label'],
    ['redis', 'single-label'],
    ['printer.local', 'local-network name'],
    ['nas.home.arpa', 'local-network name'],
  ])('%s is refused (%s)', (name, phrase) => {
    expect(nameRefusal(name)).toContain(phrase);
  });

  it.each(['hooks.example.com', 'ats.example.co.uk', 'localhost.example.com', 'internal.example.com'])('%s is allowed', (name) => {
    expect(nameRefusal(name)).toBeNull();
  });
});

describe('resolveWebhookTarget', () => {
  // The WHATWG URL parser writes every IPv4 spelling as dotted decimal; each is checked as such.
  it.each([
    ['http://2130706433/hook', '127.0.0.1'],
    ['http://0x7f000001/hook', '127.0.0.1'],
    ['http://0x7f.1/hook', '127.0.0.1'],
    ['http://0x7F.0.0.1/hook', '127.0.0.1'],
    ['http://0177.0.0.1/hook', '127.0.0.1'],
    ['http://017700000001/hook', '127.0.0.1'],
    ['http://127.1/hook', '127.0.0.1'],
    ['http://127.0.1/hook', '127.0.0.1'],
    ['http://0/hook', '0.0.0.0'],
    ['https://0xa9fea9fe/latest/meta-data/', '169.254.169.254'],
    ['http://169.254.169.254./latest/meta-data/', '169.254.169.254'],
    ['http://2852039166/latest/meta-data/', '169.254.169.254'],
    ['http://0xffffffff/', '255.255.255.255'],
    ['http://10.1/', '10.0.0.1'],
    ['http://[::1]:8080/hook', '::1'],
    ['http://[0:0:0:0:0:0:0:1]/hook', '::1'],
    ['http://[::ffff:127.0.0.1]/hook', '::ffff:7f00:1'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254'],
  ])('%s is refused as %s, without a lookup', async (url, shown) => {
    const dns = fakeDns({});
    const target = await resolveWebhookTarget(url, [], dns.lookup);
    expect(target).toMatchObject({ ok: false, code: 'address_refused' });
    expect(!target.ok && target.reason).toMatch(new RegExp(`^${shown.replace(/\./g, '\\.')} is .+; set WEBHOOK_ALLOWED_HOSTS to allow internal receivers$`));
    expect(dns.calls).toEqual([]);
  });

  it.each(['http://localhost:3000/hook', 'http://LocalHost./hook', 'http://metadata.google.internal/computeMetadata/v1/', 'http://metadata/', 'http://instance-data/latest/'])(
    '%s is refused by name, without a lookup',
    async (url) => {
      const dns = fakeDns({});
      expect(await resolveWebhookTarget(url, [], dns.lookup)).toMatchObject({ ok: false, code: 'address_refused' });
      expect(dns.calls).toEqual([]);
    },
  );

  it('refuses a name when any address it resolves to is internal, naming that address', async () => {
    const dns = fakeDns({ 'hooks.example.com': ['93.184.216.34', '10.0.0.5'], 'v6.example.com': ['2606:4700::1', '::ffff:169.254.169.254'] });
    expect(await resolveWebhookTarget('https://hooks.example.com/x', [], dns.lookup)).toEqual({
      ok: false,
      code: 'address_refused',
      reason: 'hooks.example.com resolves to 10.0.0.5, a private address; set WEBHOOK_ALLOWED_HOSTS to allow internal receivers',
    });
    const v6 = await resolveWebhookTarget('https://v6.example.com/x', [], dns.lookup);
    expect(!v6.ok && v6.reason).toContain('resolves to ::ffff:169.254.169.254, an IPv4-mapped address (of 169.254.169.254)');
  });

  it('gives the first public address to connect to, resolving once', async () => {
    const dns = fakeDns({ 'hooks.example.com': ['2606:4700::1', '93.184.216.34'] });
    expect(await resolveWebhookTarget('https://hooks.example.com:8443/x', [], dns.lookup)).toEqual({ ok: true, host: 'hooks.example.com', address: '2606:4700::1', family: 6 });
    expect(await resolveWebhookTarget('http://93.184.216.34/x', [], dns.lookup)).toEqual({ ok: true, host: '93.184.216.34', address: '93.184.216.34', family: 4 });
    expect(dns.calls).toEqual(['hooks.example.com']);
  });

  it('a name that does not resolve is "unresolved" (retried at delivery), not refused', async () => {
    expect(await resolveWebhookTarget('https://gone.example.com/x', [], fakeDns({}).lookup)).toEqual({
      ok: false,
      code: 'unresolved',
      reason: 'gone.example.com does not resolve (ENOTFOUND)',
    });
    expect(await resolveWebhookTarget('https://empty.example.com/x', [], fakeDns({ 'empty.example.com': [] }).lookup)).toMatchObject({ ok: false, code: 'unresolved' });
  });

  it('WEBHOOK_ALLOWED_HOSTS: listed hosts skip the address check, others are refused', async () => {
    const dns = fakeDns({ 'grader-hooks': ['10.0.0.5'] });
    expect(await resolveWebhookTarget('http://127.0.0.1:9000/hook', ['127.0.0.1', 'grader-hooks'], dns.lookup)).toEqual({ ok: true, host: '127.0.0.1', address: '127.0.0.1', family: 4 });
    expect(await resolveWebhookTarget('http://grader-hooks/hook', ['127.0.0.1', 'grader-hooks'], dns.lookup)).toEqual({ ok: true, host: 'grader-hooks', address: '10.0.0.5', family: 4 });
    expect(await resolveWebhookTarget('http://[::1]/hook', ['::1'], dns.lookup)).toMatchObject({ ok: true, address: '::1', family: 6 });
    expect(await resolveWebhookTarget('https://hooks.example.com/x', ['127.0.0.1'], dns.lookup)).toEqual({
      ok: false,
      code: 'host_not_allowed',
      reason: 'hooks.example.com is not in WEBHOOK_ALLOWED_HOSTS (127.0.0.1)',
    });
    // A listed host written another way is still that host; another loopback spelling is not listed.
    expect(await resolveWebhookTarget('http://0x7f.1:9000/hook', ['127.0.0.1'], dns.lookup)).toMatchObject({ ok: true, address: '127.0.0.1' });
    expect(await resolveWebhookTarget('http://localhost:9000/hook', ['127.0.0.1'], dns.lookup)).toMatchObject({ ok: false, code: 'host_not_allowed' });
  });
});
