import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/app.ts';
import type { Context } from '../../services/context.ts';
import type { Principal } from '../../services/auth/api-keys.ts';
import { WebhookService } from '../../services/webhooks/webhook-service.ts';
import { startWebhookWorker } from '../../workers/webhook-worker.ts';
import type { LookupAll } from '../../services/webhooks/webhook-address.ts';
import { ADMIN, eventually, testContext } from '../support/context.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';
import { recordCase } from '../support/security-cases.ts';

/**
 * Case 24: webhook URLs aimed at the service's own network. No WEBHOOK_ALLOWED_HOSTS here (the
 * default), so every internal target is refused; a loopback receiver stands where an internal
 * service would and must hear nothing.
 */
let db: Awaited<ReturnType<typeof throwawayDatabase>>;
let ctx: Context;
let app: FastifyInstance;
let worker: { close(): Promise<unknown> } | undefined;
const heard: string[] = [];
const internal = http.createServer((req, res) => {
  heard.push(`${req.method} ${req.headers.host}${req.url}`);
  res.end('ok');
});
let port = 0;
const admin: Principal = { keyId: null, name: 'admin', role: 'admin', assessmentIds: null };

/** A name that is public when registered and points at loopback afterwards (DNS rebinding). */
function rebindingDns(name: string) {
  let calls = 0;
  const lookup: LookupAll = async (host) => {
    if (host !== name) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return calls++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
  };
  return lookup;
}

beforeAll(async () => {
  db = await throwawayDatabase();
  ctx = await testContext({ DATABASE_URL: db.url, WEBHOOK_ATTEMPTS: 2, WEBHOOK_BACKOFF_MS: 100 });
  expect(ctx.config.WEBHOOK_ALLOWED_HOSTS).toEqual([]);
  app = await buildApp(ctx);
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  port = (internal.address() as AddressInfo).port;
});

afterAll(async () => {
  await worker?.close();
  await app?.close();
  internal.closeAllConnections();
  await new Promise((resolve) => internal.close(resolve));
  await ctx?.webhookQueue.queue.obliterate({ force: true }).catch(() => {});
  await ctx?.close();
  await db?.drop();
});

describe('case 24: webhooks cannot reach the service network', () => {
  it('registration refuses internal addresses in any spelling, metadata names and names that resolve inside', async () => {
    const refused: [url: string, says: string][] = [
      [`http://127.0.0.1:${port}/hook`, '127.0.0.1 is a loopback address'],
      [`http://2130706433:${port}/hook`, '127.0.0.1 is a loopback address'],
      [`http://0x7f.1:${port}/hook`, '127.0.0.1 is a loopback address'],
      [`http://0177.0.0.1:${port}/hook`, '127.0.0.1 is a loopback address'],
      [`http://127.1:${port}/hook`, '127.0.0.1 is a loopback address'],
      [`http://[::1]:${port}/hook`, '::1 is a loopback address'],
      [`http://[::ffff:127.0.0.1]:${port}/hook`, '::ffff:7f00:1 is an IPv4-mapped address (of 127.0.0.1)'],
      ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is the cloud metadata address'],
      ['http://10.0.0.5/hook', '10.0.0.5 is a private address'],
      ['http://100.100.100.200/latest/meta-data/', '100.100.100.200 is a carrier-grade NAT address'],
      [`http://localhost:${port}/hook`, 'localhost is a loopback name'],
      ['http://metadata.google.internal/computeMetadata/v1/', 'metadata.google.internal is an internal name'],
      ['http://metadata/computeMetadata/v1/', 'metadata is a single-label name'],
    ];
    for (const [url, says] of refused) {
      const res = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: ADMIN, payload: { url } });
      expect([url, res.statusCode, res.json().error.code]).toEqual([url, 400, 'webhook_address_refused']);
      expect(res.json().error.message).toMatch(new RegExp(`^webhook URL refused: ${says.replace(/[.()[\]]/g, '\\$&')}.*; set WEBHOOK_ALLOWED_HOSTS to allow internal receivers$`));
    }
    // A public-looking name whose DNS answer is internal.
    const inside: LookupAll = async () => [{ address: '192.168.1.20', family: 4 }];
    await expect(new WebhookService(ctx, inside).create(admin, { url: 'https://hooks.example.com/x', description: '', assessmentIds: null, events: ['report.created'] })).rejects.toThrow(
      'webhook URL refused: hooks.example.com resolves to 192.168.1.20, a private address',
    );
    expect((await app.inject({ url: '/v1/webhooks', headers: ADMIN })).json().webhooks).toEqual([]);
    recordCase(
      24,
      'webhook registration',
      `${refused.length + 1} internal URLs (loopback in 5 IPv4 spellings, ::1, IPv4-mapped, metadata IP and names, private, CGNAT, a name resolving to 192.168.1.20) refused with 400 naming the address`,
    );
  });

  it('delivery checks again after resolving and connects only to what it checked: a rebound name and a stored internal URL fail unsent', async () => {
    const lookup = rebindingDns('hooks.example.com');
    const rebound = await new WebhookService(ctx, lookup).create(admin, {
      url: `http://hooks.example.com:${port}/hook`,
      description: 'public at registration',
      assessmentIds: null,
      events: ['report.created'],
    });
    // Stored before the check existed (or written to the table by hand): checked at delivery all the same.
    const stored = await ctx.webhooks.createEndpoint({
      url: `http://0x7f.1:${port}/hook`,
      secret: 'whsec_x',
      description: 'old',
      assessmentIds: null,
      events: ['report.created'],
      createdBy: 'admin',
    });
    worker = startWebhookWorker(ctx, { lookup });
    const ids = await ctx.webhooks.insertDeliveries(
      [rebound.id, stored.id].map((endpointId) => ({ endpointId, event: 'report.created' as const, idempotencyKey: 'report:ssrf', body: '{}' })),
    );
    await ctx.webhookQueue.enqueue(ids);
    const logOf = (endpointId: string) =>
      eventually(async () => {
        const [d] = await ctx.webhooks.deliveries(endpointId, 10);
        return d?.status === 'failed' ? d : null;
      }, 30_000);
    const [a, b] = [await logOf(rebound.id), await logOf(stored.id)];
    expect(a).toMatchObject({ attempts: 0, lastError: 'not sent: hooks.example.com resolves to 127.0.0.1, a loopback address; set WEBHOOK_ALLOWED_HOSTS to allow internal receivers' });
    expect(b).toMatchObject({ attempts: 0, lastError: 'not sent: 127.0.0.1 is a loopback address; set WEBHOOK_ALLOWED_HOSTS to allow internal receivers' });
    expect(heard).toEqual([]);
    recordCase(
      24,
      'webhook delivery',
      `a name public at registration and loopback at delivery (DNS rebinding), and a stored http://0x7f.1 URL: both failed unsent ("${a.lastError?.slice(0, 70)}..."); the loopback receiver heard nothing`,
    );
  });
});
