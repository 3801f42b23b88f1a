import crypto from 'node:crypto';

/**
 * Invite link tokens: `base64url(id ‖ expiry) . base64url(HMAC-SHA256(secret, id ‖ expiry))`.
 * The id is the invite's random UUID (16 bytes), the expiry whole seconds since the epoch (8 bytes).
 * The signature lets a tampered or made-up link be refused without a database lookup; the
 * database keeps only a SHA-256 of the whole token.
 */
export interface InviteTokenPayload {
  inviteId: string;
  expiresAt: Date;
}

const ID_BYTES = 16;
const PAYLOAD_BYTES = ID_BYTES + 8;
const MAC_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/;

function mac(secret: string, payload: Buffer): Buffer {
  return crypto.createHmac('sha256', secret).update('invite-v1\0').update(payload).digest();
}

export function signInviteToken(secret: string, p: InviteTokenPayload): string {
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  Buffer.from(p.inviteId.replace(/-/g, ''), 'hex').copy(payload, 0);
  payload.writeBigUInt64BE(BigInt(Math.floor(p.expiresAt.getTime() / 1000)), ID_BYTES);
  return `${payload.toString('base64url')}.${mac(secret, payload).toString('base64url')}`;
}

/** The payload of an authentic token, or null for anything malformed or not signed by us. */
export function verifyInviteToken(secret: string, token: string): InviteTokenPayload | null {
  if (!TOKEN_SHAPE.test(token)) return null;
  const [p64, m64] = token.split('.') as [string, string];
  const payload = Buffer.from(p64, 'base64url');
  const given = Buffer.from(m64, 'base64url');
  if (payload.length !== PAYLOAD_BYTES || given.length !== MAC_BYTES) return null;
  // Non-canonical base64url (extra low bits) would give two spellings of one token.
  if (payload.toString('base64url') !== p64 || given.toString('base64url') !== m64) return null;
  if (!crypto.timingSafeEqual(given, mac(secret, payload))) return null;
  const hex = payload.subarray(0, ID_BYTES).toString('hex');
  const inviteId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { inviteId, expiresAt: new Date(Number(payload.readBigUInt64BE(ID_BYTES)) * 1000) };
}

export function hashInviteToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}
