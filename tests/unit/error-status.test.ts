import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveRejectedError,
  AuthError,
  DOMAIN_ERROR_KINDS,
  DomainError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  QueueFullError,
  RateLimitedError,
} from '../../services/errors.ts';
import { HTTP_STATUS_OF_KIND, errorHeaders, httpStatusOf, sendDomainError } from '../../services/http/error-status.ts';
import { InviteError } from '../../services/invites/invite-service.ts';

describe('domain error kind → HTTP status', () => {
  it('has exactly one status per kind, each a 4xx or 503', () => {
    expect(Object.keys(HTTP_STATUS_OF_KIND).sort()).toEqual([...DOMAIN_ERROR_KINDS].sort());
    for (const status of Object.values(HTTP_STATUS_OF_KIND)) expect(status === 503 || (status >= 400 && status < 500)).toBe(true);
  });

  // The statuses and codes the API answered with when errors carried their own status.
  it.each([
    [new NotFoundError('submission'), 404, 'not_found', 'submission not found'],
    [new ArchiveRejectedError('a/b', 'symbolic links are not allowed'), 400, 'archive_rejected', 'archive entry "a/b": symbolic links are not allowed'],
    [new PayloadTooLargeError(1024), 413, 'payload_too_large', 'upload is larger than the limit of 1024 bytes'],
    [new QueueFullError(30), 503, 'queue_unavailable', 'the grading queue is full; retry later'],
    [new RateLimitedError(12, 'too many uploads'), 429, 'rate_limited', 'too many uploads'],
    [new AuthError(), 401, 'unauthorized', 'a valid API key is required'],
    [new ForbiddenError('admins only'), 403, 'forbidden', 'admins only'],
    [new DomainError('conflict', 'not_failed', 'only a failed grading can be started again'), 409, 'not_failed', 'only a failed grading can be started again'],
    [new DomainError('timeout', 'upload_timeout', 'too slow'), 408, 'upload_timeout', 'too slow'],
    [new InviteError('invalid'), 404, 'invite_invalid', 'this invite link is not valid'],
    [new InviteError('expired'), 410, 'invite_expired', 'this invite link has expired'],
    [new InviteError('revoked'), 410, 'invite_revoked', 'this invite has been withdrawn'],
  ])('%s → %i', (err, status, code, message) => {
    expect(httpStatusOf(err)).toBe(status);
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
    expect(err).not.toHaveProperty('statusCode');
  });

  it('adds Retry-After to rate limits and queue refusals, and closes the connection on timeouts and oversized uploads', () => {
    expect(errorHeaders(new QueueFullError(17))).toEqual({ 'retry-after': '17' });
    expect(errorHeaders(new RateLimitedError(5, 'slow down'))).toEqual({ 'retry-after': '5' });
    expect(errorHeaders(new DomainError('unavailable', 'queue_unavailable', 'no retry hint'))).toEqual({});
    expect(errorHeaders(new PayloadTooLargeError(10))).toEqual({ connection: 'close' });
    expect(errorHeaders(new DomainError('timeout', 'upload_timeout', 'too slow'))).toEqual({ connection: 'close' });
    expect(errorHeaders(new NotFoundError('x'))).toEqual({});
  });
});

describe('sendDomainError', () => {
  const app = Fastify();
  const thrown: Record<string, DomainError> = {
    queue: new QueueFullError(42, 'the regrade queue is unreachable; retry later'),
    rubric: new DomainError('invalid_input', 'invalid_rubric', 'invalid rubric: pass: too big', { issues: [{ path: 'pass', message: 'too big' }] }),
    missing: new NotFoundError('webhook'),
  };
  beforeAll(async () => {
    app.setErrorHandler((err, _req, reply) => (err instanceof DomainError ? sendDomainError(reply, err) : reply.code(500).send()));
    app.get('/:what', async (req) => {
      // Throws non-Errors too, on purpose: the handler must cope with whatever a route throws.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw thrown[(req.params as { what: string }).what];
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it('answers with the mapped status, its headers and {error: {code, message, details}}', async () => {
    const queue = await app.inject({ url: '/queue' });
    expect(queue.statusCode).toBe(503);
    expect(queue.headers['retry-after']).toBe('42');
    expect(queue.json()).toEqual({ error: { code: 'queue_unavailable', message: 'the regrade queue is unreachable; retry later', details: { retryAfterSeconds: 42 } } });

    const rubric = await app.inject({ url: '/rubric' });
    expect(rubric.statusCode).toBe(400);
    expect(rubric.json()).toEqual({ error: { code: 'invalid_rubric', message: 'invalid rubric: pass: too big', details: { issues: [{ path: 'pass', message: 'too big' }] } } });
  });

  it('leaves details out when there are none', async () => {
    const missing = await app.inject({ url: '/missing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'webhook not found' } });
  });
});
