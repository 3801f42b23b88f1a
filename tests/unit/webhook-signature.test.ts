import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signPayload, verifySignature } from '../../services/webhooks/webhook-signature.ts';

describe('webhook signatures', () => {
  const secret = newWebhookSecret();
  const body = JSON.stringify({ event: 'report.created', score: 71.5 });
  const ts = 1_700_000_000;

  it('is the hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint secret', () => {
    const expected = crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
    expect(signPayload(secret, ts, body)).toBe(`sha256=${expected}`);
  });

  it('verifies a fresh signature and refuses tampering, another secret and replays', () => {
    const signature = signPayload(secret, ts, body);
    expect(verifySignature(secret, { signature, timestamp: String(ts) }, body, { nowS: ts + 10 })).toEqual({ ok: true });
    expect(verifySignature(secret, { signature, timestamp: String(ts) }, body.replace('71.5', '99'), { nowS: ts })).toMatchObject({ ok: false, reason: 'signature mismatch' });
    expect(verifySignature(newWebhookSecret(), { signature, timestamp: String(ts) }, body, { nowS: ts })).toMatchObject({ ok: false, reason: 'signature mismatch' });
    // The timestamp is signed too: moving it forward breaks the signature...
    expect(verifySignature(secret, { signature, timestamp: String(ts + 600) }, body, { nowS: ts + 600 })).toMatchObject({ ok: false, reason: 'signature mismatch' });
    // ...and an old, correctly signed request is a replay.
    expect(verifySignature(secret, { signature, timestamp: String(ts) }, body, { nowS: ts + 301 })).toMatchObject({ ok: false, reason: 'timestamp outside the 300 s window' });
    expect(verifySignature(secret, { signature: undefined, timestamp: String(ts) }, body)).toMatchObject({ ok: false });
    expect(verifySignature(secret, { signature, timestamp: '12abc' }, body)).toMatchObject({ ok: false, reason: 'malformed X-Timestamp' });
  });

  it('makes a different 32-byte secret every time', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(newWebhookSecret());
  });
});
