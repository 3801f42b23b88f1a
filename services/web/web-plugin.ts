import crypto from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Config } from '../config.ts';
import { DomainError } from '../errors.ts';
import { httpStatusOf } from '../http/error-status.ts';
import { InviteError, InviteService, type InviteServiceDeps } from '../invites/invite-service.ts';
import { inviteProblemPage } from './pages/candidate-pages.ts';
import { problemPage } from './pages/problem-page.ts';
import { html } from './html.ts';
import { sendHtml } from './layout.ts';
import { ASSETS } from './static-assets.ts';
import { candidateRoutes, type CandidateRoutesDeps, type StreamRegistry } from './routes/candidate-routes.ts';
import { reviewRoutes, type ReviewRoutesDeps } from './routes/review-routes.ts';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export type WebDeps = InviteServiceDeps & CandidateRoutesDeps & ReviewRoutesDeps & { config: Pick<Config, 'PUBLIC_URL' | 'UPLOAD_MAX_BYTES'> };

/**
 * The web experience: candidate pages under /i/<token>, reviewer pages under /review (the invites
 * API is services/api/routes/invites.ts). Pages live in their own encapsulated scope with cookies,
 * form bodies, security headers and an error handler that renders HTML instead of JSON.
 */
export async function registerWeb(app: FastifyInstance, ctx: WebDeps): Promise<void> {
  const invites = new InviteService(ctx);

  await app.register(async (scope) => {
    await scope.register(cookie);
    await scope.register(formbody, { bodyLimit: 64 * 1024 });

    scope.addHook('onRequest', async (req, reply) => {
      if (req.method !== 'POST') return;
      if (!sameOrigin(ctx, req))
        return reply
          .code(403)
          .type('text/html; charset=utf-8')
          .send(problemPage({ title: 'Request refused', lead: 'This form was sent from another site, so it was not accepted.', reference: 'cross_origin' }));
    });
    scope.addHook('onSend', async (req, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff');
      // same-origin: invite tokens in our URLs never reach other sites, and form POSTs keep a real Origin.
      reply.header('referrer-policy', 'same-origin');
      reply.header('x-frame-options', 'DENY');
      if (!req.url.startsWith('/static/')) {
        reply.header('content-security-policy', CSP);
        reply.header('cache-control', 'no-store');
      }
      return payload;
    });
    scope.setErrorHandler((err: FastifyError, req, reply) => htmlError(err, req, reply, ctx));

    scope.get('/static/:name', async (req, reply) => {
      const asset = ASSETS.get((req.params as { name: string }).name);
      if (!asset) return reply.code(404).type('text/plain').send('not found');
      return reply.type(asset.type).header('cache-control', 'public, max-age=31536000, immutable').send(asset.body);
    });

    // Unknown addresses under our prefixes get a page too, not the API's JSON 404.
    for (const prefix of ['/i', '/review'])
      await scope.register(
        async (s) => {
          s.setNotFoundHandler((req, reply) =>
            sendHtml(
              reply,
              404,
              problemPage({
                title: 'Page not found',
                lead: 'There is nothing at this address. If you followed an invite link, open it again from the original message.',
                reference: 'not_found',
              }),
            ),
          );
        },
        { prefix },
      );

    const streams: StreamRegistry = new Set();
    scope.addHook('preClose', async () => {
      for (const end of [...streams]) end();
    });
    await candidateRoutes(scope, ctx, invites, streams);
    await reviewRoutes(scope, ctx, invites);
  });
}

function sameOrigin(ctx: WebDeps, req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  // Browsers send Origin on every cross-site POST; its absence means a same-site or non-browser client.
  if (!origin) return true;
  const allowed = new Set([`${req.protocol}://${req.host}`]);
  if (ctx.config.PUBLIC_URL) allowed.add(new URL(ctx.config.PUBLIC_URL).origin);
  return allowed.has(origin);
}

/** Errors on pages become pages: what happened and what to do, never a stack or JSON. */
function htmlError(err: FastifyError, req: FastifyRequest, reply: FastifyReply, ctx: WebDeps) {
  if (err instanceof InviteError) {
    const p = inviteProblemPage(err.problem);
    return sendHtml(reply, p.status, p.body);
  }
  if (hasZodFastifySchemaValidationErrors(err))
    return sendHtml(
      reply,
      400,
      problemPage({ title: 'That request was not understood', lead: 'Some of the values sent are not valid. Go back, check the form and try again.', reference: 'invalid_request' }),
    );
  const status = err instanceof DomainError ? httpStatusOf(err) : (err.statusCode ?? 500);
  if (status === 413 || err.code === 'FST_REQ_FILE_TOO_LARGE' || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return sendHtml(
      reply,
      413,
      problemPage({
        title: 'That was too large',
        lead: `The request is larger than the limit of ${Math.round(ctx.config.UPLOAD_MAX_BYTES / 1024 / 1024)} MB.`,
        reference: 'payload_too_large',
      }),
    );
  if (status === 404)
    return sendHtml(reply, 404, problemPage({ title: 'Page not found', lead: 'There is nothing at this address. It may have moved, or the link is incomplete.', reference: 'not_found' }));
  if (status < 500)
    return sendHtml(
      reply,
      status,
      problemPage({
        title: 'That did not work',
        lead: err instanceof DomainError ? err.message : 'The request could not be handled.',
        reference: err instanceof DomainError ? err.code : 'bad_request',
      }),
    );
  const ref = crypto.randomBytes(4).toString('hex');
  req.log.error({ err, ref }, 'page failed');
  return sendHtml(
    reply,
    status === 503 ? 503 : 500,
    problemPage({
      title: 'Something went wrong on our side',
      lead: 'This is not caused by anything you did. Please try again in a minute.',
      more: html`<p class="muted small">If it keeps happening, send us the reference below.</p>`,
      reference: `${req.id}/${ref}`,
    }),
  );
}
