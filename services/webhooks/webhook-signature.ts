import crypto from 'node:crypto';

/**
 * Webhook signatures: X-Signature is `sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<body>">` keyed
 * with the endpoint's secret. Signing the timestamp with the body lets a receiver refuse replays
 * (an old timestamp) without keeping state; X-Idempotency-Key deduplicates retries.
 */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** What a receiver does: constant-time comparison, then a freshness window against replays. */
export function verifySignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  opts: { toleranceS?: number; nowS?: number } = {},
): VerifyResult {
  const { toleranceS = 300, nowS = Math.floor(Date.now() / 1000) } = opts;
  if (!headers.signature || !headers.timestamp) return { ok: false, reason: 'missing X-Signature or X-Timestamp' };
  if (!/^\d{1,12}$/.test(headers.timestamp)) return { ok: false, reason: 'malformed X-Timestamp' };
  const ts = Number(headers.timestamp);
  const expected = Buffer.from(signPayload(secret, ts, body));
  const got = Buffer.from(headers.signature);
  if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) return { ok: false, reason: 'signature mismatch' };
  if (Math.abs(nowS - ts) > toleranceS) return { ok: false, reason: `timestamp outside the ${toleranceS} s window` };
  return { ok: true };
}

/** A new endpoint secret: 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64url')}`;
}
