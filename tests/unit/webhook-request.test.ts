import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postPinned } from '../../services/webhooks/webhook-request.ts';

// A self-signed certificate for receiver.example.test (a name under .test, which never resolves).
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBj6io8ex0E0RuFLN
YvwFlFmHPPX/9I3QNw0NxT+EcTihRANCAATKypFYa1xTk0KNqrDFVZSmFt+W8d7C
d4PXNg2rvX68ZWf1nz3LXuaObZIfIEpTrDGtZ8fUjZm02NiDY3pUgRkS
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBujCCAV+gAwIBAgIUEcelgQsasHdYxTe7sEKlpNhy6pAwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVcmVjZWl2ZXIuZXhhbXBsZS50ZXN0MCAXDTI2MTIwMTE2Mzgx
MVoYDzIxMjYxMTA3MTYzODExWjAgMR4wHAYDVQQDDBVyZWNlaXZlci5leGFtcGxl
LnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATKypFYa1xTk0KNqrDFVZSm
Ft+W8d7Cd4PXNg2rvX68ZWf1nz3LXuaObZIfIEpTrDGtZ8fUjZm02NiDY3pUgRkS
o3UwczAdBgNVHQ4EFgQU0qskqwQ4z8PoEZ/kflO0o/hWEe0wHwYDVR0jBBgwFoAU
0qskqwQ4z8PoEZ/kflO0o/hWEe0wDwYDVR0TAQH/BAUwAwEB/zAgBgNVHREEGTAX
ghVyZWNlaXZlci5leGFtcGxlLnRlc3QwCgYIKoZIzj0EAwIDSQAwRgIhANElZwgh
naPXlcZX6t6bx6jRndER9p24apU8wgSCbMABAiEAwpAYsCfBSBUpZmx7e7YSVq11
safPvFrAN48M3k4Hp7Y=
-----END CERTIFICATE-----`;

const LOOPBACK = { address: '127.0.0.1', family: 4 as const };
const seen: { url: string; host: string | undefined; body: string }[] = [];
const sniNames: string[] = [];

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    seen.push({ url: req.url!, host: req.headers.host, body });
    if (req.url === '/redirect') res.writeHead(302, { location: '/elsewhere' }).end();
    else if (req.url === '/fail') res.writeHead(500).end('x'.repeat(10_000));
    else if (req.url === '/silent')
      return; // never answers
    else res.writeHead(200).end('ok');
  });
});
const tlsServer = https.createServer({ key: KEY, cert: CERT, SNICallback: (name, cb) => (sniNames.push(name), cb(null, undefined)) }, (_req, res) => res.end('ok'));
let port = 0;
let tlsPort = 0;
const listen = async (s: http.Server) => {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
};

beforeAll(async () => {
  port = await listen(server);
  tlsPort = await listen(tlsServer);
});
afterAll(async () => {
  for (const s of [server, tlsServer]) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

describe('postPinned', () => {
  it('connects to the checked address while the URL host stays the Host header (no lookup of the name)', async () => {
    const result = await postPinned(LOOPBACK, `http://receiver.example.test:${port}/hook`, { 'content-type': 'application/json' }, '{"a":1}', 5_000);
    expect(result).toMatchObject({ statusCode: 200, error: null });
    expect(seen.at(-1)).toEqual({ url: '/hook', host: `receiver.example.test:${port}`, body: '{"a":1}' });
  });

  it('does not follow a redirect', async () => {
    const before = seen.length;
    expect(await postPinned(LOOPBACK, `http://receiver.example.test:${port}/redirect`, {}, '{}', 5_000)).toMatchObject({ statusCode: 302, error: 'HTTP 302: redirects are not followed' });
    expect(seen.slice(before).map((r) => r.url)).toEqual(['/redirect']);
  });

  it('keeps at most 300 characters of an error body', async () => {
    const result = await postPinned(LOOPBACK, `http://receiver.example.test:${port}/fail`, {}, '{}', 5_000);
    expect(result).toMatchObject({ statusCode: 500, error: `HTTP 500: ${'x'.repeat(300)}` });
  });

  it('gives up after the timeout, and reports a refused connection by its code', async () => {
    const slow = await postPinned(LOOPBACK, `http://receiver.example.test:${port}/silent`, {}, '{}', 300);
    expect(slow).toMatchObject({ statusCode: null, error: 'request failed: no answer within 300 ms' });
    expect(slow.durationMs).toBeLessThan(3_000);
    // Nothing listens on port 1.
    expect(await postPinned(LOOPBACK, 'http://receiver.example.test:1/x', {}, '{}', 5_000)).toMatchObject({ statusCode: null, error: 'request failed: ECONNREFUSED' });
  });

  it('https: the URL host is the TLS server name and the certificate is checked', async () => {
    const result = await postPinned(LOOPBACK, `https://receiver.example.test:${tlsPort}/hook`, {}, '{}', 5_000);
    expect(sniNames).toEqual(['receiver.example.test']);
    // Self-signed: refused by the default certificate check, so the check is on.
    expect(result).toMatchObject({ statusCode: null, error: 'request failed: DEPTH_ZERO_SELF_SIGNED_CERT' });
  });
});
