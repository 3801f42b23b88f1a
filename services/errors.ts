/**
 * What went wrong, in the domain's terms. The HTTP edge (services/http/error-status.ts) is the only
 * place that turns a kind into a status code; services, repositories and workers never name one.
 */
export const DOMAIN_ERROR_KINDS = ['invalid_input', 'unauthorized', 'forbidden', 'not_found', 'timeout', 'conflict', 'gone', 'payload_too_large', 'rate_limited', 'unavailable'] as const;
export type DomainErrorKind = (typeof DOMAIN_ERROR_KINDS)[number];

/** A refusal with a stable `code` (clients branch on it), a message for people, and optional details. */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('not_found', 'not_found', `${what} not found`);
  }
}

export class ArchiveRejectedError extends DomainError {
  constructor(
    readonly entry: string | null,
    readonly reason: string,
  ) {
    super('invalid_input', 'archive_rejected', entry ? `archive entry "${entry}": ${reason}` : `archive rejected: ${reason}`, { entry, reason });
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(limitBytes: number) {
    super('payload_too_large', 'payload_too_large', `upload is larger than the limit of ${limitBytes} bytes`, { limitBytes });
  }
}

/** The queue refuses work for now (full or unreachable); `retryAfterSeconds` says when to come back. */
export class QueueFullError extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'the grading queue is full; retry later',
  ) {
    super('unavailable', 'queue_unavailable', message, { retryAfterSeconds });
  }
}

/** Too many requests in a window; `retryAfterSeconds` is when the window ends. */
export class RateLimitedError extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super('rate_limited', 'rate_limited', message, { retryAfterSeconds });
  }
}

/** No valid credentials (missing, unknown or revoked key). */
export class AuthError extends DomainError {
  constructor(message = 'a valid API key is required') {
    super('unauthorized', 'unauthorized', message);
  }
}

/** Valid credentials that do not allow this. */
export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super('forbidden', 'forbidden', message);
  }
}

/**
 * A failure of the platform (Docker, Postgres, Redis), not of the candidate: the job is retried
 * and the failure stays visible on the grading row.
 */
export class SystemError extends Error {
  override name = 'SystemError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
