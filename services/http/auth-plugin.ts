import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, Role } from '../auth/api-keys.ts';
import { ForbiddenError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** preHandler: authenticates the bearer key and checks its role. */
export function requireRole(...roles: Role[]) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const principal = await req.server.apiKeys.authenticate(req.headers.authorization);
    if (!roles.includes(principal.role)) throw new ForbiddenError(`this endpoint needs one of the roles: ${roles.join(', ')}`);
    req.principal = principal;
  };
}
