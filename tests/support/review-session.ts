import type { FastifyInstance } from 'fastify';
import { ADMIN } from './context.ts';

/** Signs in on the reviewer pages (with the admin key unless told) and answers the session's Cookie header. */
export async function reviewerCookie(app: FastifyInstance, apiKey = ADMIN.authorization.slice(7)): Promise<string> {
  const signIn = await app.inject({ method: 'POST', url: '/review/sign-in', payload: { api_key: apiKey } });
  const cookie = [signIn.headers['set-cookie']]
    .flat()
    .filter(Boolean)
    .map((c) => String(c).split(';')[0])
    .join('; ');
  if (!cookie) throw new Error(`reviewer sign-in gave no session cookie (status ${signIn.statusCode})`);
  return cookie;
}
