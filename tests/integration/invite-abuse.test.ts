import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/app.ts';
import type { Context } from '../../services/context.ts';
import { InviteService } from '../../services/invites/invite-service.ts';
import { testContext } from '../support/context.ts';
import { multipart } from '../support/multipart.ts';
import { recordCase } from '../support/security-cases.ts';

let ctx: Context;
let app: FastifyInstance;
beforeAll(async () => {
  ctx = await testContext({ UPLOAD_RATE_PER_INVITE: 3, UPLOAD_RATE_PER_IP: 5 });
  app = await buildApp(ctx);
});
afterAll(async () => {
  await app.close();
  await ctx.close();
});

const upload = (token: string, ip: string) => {
  const body = multipart({ name: 'notes.txt', data: Buffer.from('not an archive') });
  return app.inject({ method: 'POST', url: `/i/${token}/submissions`, payload: body.payload, headers: body.headers, remoteAddress: ip });
};

describe('invite link abuse', () => {
  it('rate-limits uploads per invite token, whatever the IP', async () => {
    const { token } = await new InviteService(ctx).create({ assessmentId: 'smoke-binary', candidateName: 'A', candidateEmail: 'a@example.com', maxAttempts: 10, createdBy: 'test' });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await upload(token, `10.0.0.${i + 1}`)).statusCode);
    expect(codes).toEqual([400, 400, 400, 429, 429]);
    recordCase(14, 'upload flood on one invite link', `per-token limit: ${codes.join(', ')}`);
  });

  it('rate-limits uploads per IP across invite links', async () => {
    const svc = new InviteService(ctx);
    const codes = [];
    for (let i = 0; i < 7; i++) {
      const { token } = await svc.create({ assessmentId: 'smoke-binary', candidateName: `B${i}`, candidateEmail: 'b@example.com', maxAttempts: 5, createdBy: 'test' });
      codes.push((await upload(token, '10.1.1.1')).statusCode);
    }
    expect(codes.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
    expect(codes.slice(5)).toEqual([429, 429]);
  });

  it('a guessed or altered token gets a clear 404 page, not a stack trace', async () => {
    const res = await app.inject({ url: '/i/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).not.toMatch(/at \S+\.ts:\d+|node_modules/);
  });
});
