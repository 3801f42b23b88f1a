import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';

/**
 * A second, independent rate limit on a route (the rate-limit plugin applies one limiter per
 * request): a fixed window counter in Redis. Throws 429 with Retry-After details when exceeded.
 */
export async function fixedWindowLimit(redis: Redis, key: string, max: number, windowMs: number): Promise<void> {
  const windowId = Math.floor(Date.now() / windowMs);
  const k = `${key}:${windowId}`;
  const [[, count]] = (await redis.multi().incr(k).pexpire(k, windowMs).exec()) as [[Error | null, number], [Error | null, number]];
  if (count > max) {
    const retryAfterSeconds = Math.ceil(((windowId + 1) * windowMs - Date.now()) / 1000);
    throw new AppError('rate_limited', `too many uploads for this link; try again in ${retryAfterSeconds} s`, 429, { retryAfterSeconds });
  }
}
