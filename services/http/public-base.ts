import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';

/** Absolute base URL for links we hand out: PUBLIC_URL when set, else what the request came to. */
export function publicBase(ctx: { config: Pick<Config, 'PUBLIC_URL'> }, req: FastifyRequest): string {
  return (ctx.config.PUBLIC_URL ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '');
}
