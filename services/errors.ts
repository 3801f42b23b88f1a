/** Errors with a stable code and HTTP status. The one HTTP error handler maps them to responses. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('not_found', `${what} not found`, 404);
  }
}

export class ArchiveRejectedError extends AppError {
  constructor(
    readonly entry: string | null,
    readonly reason: string,
  ) {
    super('archive_rejected', entry ? `archive entry "${entry}": ${reason}` : `archive rejected: ${reason}`, 400, { entry, reason });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super('payload_too_large', `upload is larger than the limit of ${limitBytes} bytes`, 413, { limitBytes });
  }
}

export class QueueFullError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'the grading queue is full; retry later',
  ) {
    super('queue_unavailable', message, 503, { retryAfterSeconds });
  }
}

export class AuthError extends AppError {
  constructor(message = 'a valid API key is required', statusCode = 401) {
    super(statusCode === 401 ? 'unauthorized' : 'forbidden', message, statusCode);
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
