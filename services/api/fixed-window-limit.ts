import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';

/**
 * A second, independent rate limit on a route (the rate-limit plugin applies one limiter per
 * request): a fixed window counter in Redis. Throws 429 with Retry-After details when exceeded.
 */
export async function fixedWindowLimit(redis: Redis, key: string, max: number, windowMs: number, what = 'uploads for this link'): Promise<void> {
  const windowId = Math.floor(Date.now() / windowMs);
  const k = `${key}:${windowId}`;
  const [[, count]] = (await redis.multi().incr(k).pexpire(k, windowMs).exec()) as [[Error | null, number], [Error | null, number]];
  if (count > max) {
    const retryAfterSeconds = Math.ceil(((windowId + 1) * windowMs - Date.now()) / 1000);
    throw new AppError('rate_limited', `too many ${what}; try again in ${retryAfterSeconds} s`, 429, { retryAfterSeconds });
  }
}

/**
 * Counts failures only (a failed sign-in, say): `blocked` tells whether the window's count has
 * reached `max` without adding to it; `fail` adds one. -> seconds until the window ends.
 */
export class FailureWindow {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private key(who: string) {
    return `${this.prefix}:${who}:${Math.floor(Date.now() / this.windowMs)}`;
  }

  private retryAfterSeconds() {
    return Math.ceil(((Math.floor(Date.now() / this.windowMs) + 1) * this.windowMs - Date.now()) / 1000);
  }

  /** null when allowed, else the seconds until the window ends. */
  async blocked(who: string): Promise<number | null> {
    const count = Number((await this.redis.get(this.key(who))) ?? 0);
    return count >= this.max ? this.retryAfterSeconds() : null;
  }

  async fail(who: string): Promise<void> {
    const k = this.key(who);
    await this.redis.multi().incr(k).pexpire(k, this.windowMs).exec();
  }
}
