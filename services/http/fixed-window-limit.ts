import type { Redis } from 'ioredis';
import { RateLimitedError } from '../errors.ts';

/**
 * A second, independent rate limit on a route (the rate-limit plugin applies one limiter per
 * request): a fixed window counter in Redis. Throws RateLimitedError (with the seconds until the window ends) when exceeded.
 */
export async function fixedWindowLimit(redis: Redis, key: string, max: number, windowMs: number, what = 'uploads for this link'): Promise<void> {
  const w = currentWindow(key, windowMs);
  const [[, count]] = (await redis.multi().incr(w.key).pexpire(w.key, windowMs).exec()) as [[Error | null, number], [Error | null, number]];
  if (count > max) throw new RateLimitedError(w.retryAfterSeconds, `too many ${what}; try again in ${w.retryAfterSeconds} s`);
}

/** The Redis key of the fixed window `now` falls in, and the seconds until that window ends. */
function currentWindow(key: string, windowMs: number): { key: string; retryAfterSeconds: number } {
  const now = Date.now();
  const id = Math.floor(now / windowMs);
  return { key: `${key}:${id}`, retryAfterSeconds: Math.ceil(((id + 1) * windowMs - now) / 1000) };
}

/**
 * Counts failures only (a failed sign-in, say): `blocked` tells whether the window's count has
 * reached `max` without adding to it; `fail` adds one.
 */
export class FailureWindow {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** null when allowed, else the seconds until the window ends. */
  async blocked(who: string): Promise<number | null> {
    const w = currentWindow(`${this.prefix}:${who}`, this.windowMs);
    const count = Number((await this.redis.get(w.key)) ?? 0);
    return count >= this.max ? w.retryAfterSeconds : null;
  }

  async fail(who: string): Promise<void> {
    const { key } = currentWindow(`${this.prefix}:${who}`, this.windowMs);
    await this.redis.multi().incr(key).pexpire(key, this.windowMs).exec();
  }
}
