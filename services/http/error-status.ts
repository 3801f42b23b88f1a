import type { FastifyReply } from 'fastify';
import type { DomainError, DomainErrorKind } from '../errors.ts';

/** The one table from a domain error's kind to its HTTP status (API JSON and web pages alike). */
export const HTTP_STATUS_OF_KIND = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  timeout: 408,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
} as const satisfies Record<DomainErrorKind, number>;

export function httpStatusOf(err: DomainError): number {
  return HTTP_STATUS_OF_KIND[err.kind];
}

/** Headers that go with the error's status: when to retry, and whether to drop the connection. */
export function errorHeaders(err: DomainError): Record<string, string> {
  const headers: Record<string, string> = {};
  // The rest of the body is not wanted: close instead of reading it to keep the connection.
  if (err.kind === 'timeout' || err.kind === 'payload_too_large') headers.connection = 'close';
  const retryAfter = (err.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if ((err.kind === 'unavailable' || err.kind === 'rate_limited') && typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  return headers;
}

/** The API's JSON answer to a domain error: status, headers and `{error: {code, message, details?}}`. */
export function sendDomainError(reply: FastifyReply, err: DomainError): FastifyReply {
  return reply
    .code(httpStatusOf(err))
    .headers(errorHeaders(err))
    .send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
}
