import { fixedWindowLimit } from '../../http/fixed-window-limit.ts';
import fs from 'node:fs';
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import type { AssessmentRegistry } from '../../assessments/assessment-registry.ts';
import type { DatasetStore } from '../../assessments/dataset-store.ts';
import type { Config } from '../../config.ts';
import type { GradingQueue } from '../../grading/grading-queue.ts';
import type { ReportRepository } from '../../reports/report-repository.ts';
import type { RubricRepository } from '../../rubrics/rubric-repository.ts';
import type { SubmissionRepository } from '../../submissions/submission-repository.ts';
import { ArchiveRejectedError, PayloadTooLargeError, QueueFullError } from '../../errors.ts';
import { InviteError, type InviteService } from '../../invites/invite-service.ts';
import type { InviteRow } from '../../invites/invite-repository.ts';
import { canUploadAgain, invitePageContent, statusPageContent } from '../candidate-page-data.ts';
import { html } from '../html.ts';
import { formatBytes, sendHtml } from '../layout.ts';
import { invitePage, inviteProblemPage, phaseInfo, statusPage } from '../pages/candidate-pages.ts';
import { problemPage } from '../pages/problem-page.ts';

type TokenParams = { token: string };
type SubParams = { token: string; id: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MULTIPART_OVERHEAD = 64 * 1024;
const SSE_POLL_MS = 1_000;
const SSE_HEARTBEAT_MS = 15_000;
const SSE_MAX_MS = 10 * 60_000;

export interface CandidateRoutesDeps {
  config: Pick<Config, 'QUEUE_PREFIX' | 'UPLOAD_MAX_BYTES' | 'UPLOAD_RATE_PER_INVITE' | 'UPLOAD_RATE_PER_IP'>;
  redis: Redis;
  assessments: AssessmentRegistry;
  datasets: DatasetStore;
  queue: Pick<GradingQueue, 'position'>;
  reports: ReportRepository;
  /** The report's rubric version: its thresholds mark the charts of checks shown in full. */
  rubrics: Pick<RubricRepository, 'get'>;
  submissions: SubmissionRepository;
}

/** Open server-sent-event streams, ended when the app closes so shutdown does not wait on them. */
export type StreamRegistry = Set<() => void>;

/** Candidate pages: everything hangs off the invite link, no account needed. */
export async function candidateRoutes(app: FastifyInstance, ctx: CandidateRoutesDeps, invites: InviteService, streams: StreamRegistry) {
  const maxBytes = ctx.config.UPLOAD_MAX_BYTES;

  const backTo = (token: string) => html`<a class="button" href="/i/${token}#upload">Back to the upload form</a>`;

  const tooLargePage = (token: string) =>
    problemPage({
      title: 'This file is too large',
      lead: `Archives can be at most ${formatBytes(maxBytes)}. Nothing was kept and your upload was not counted.`,
      more: html`<p>Most large archives contain the data or a virtual environment. Leave out <code>train.csv</code>, <code>.venv</code>, <code>__pycache__</code> and model files, then upload again.</p>`,
      actions: backTo(token),
      reference: 'payload_too_large',
    });

  /** An invite that cannot take uploads; authentic links still list what was uploaded. */
  async function sendInviteProblem(reply: FastifyReply, token: string, problem: InviteError['problem'], invite: InviteRow | null) {
    const subs = invite && problem !== 'invalid' && problem !== 'revoked' ? await invites.submissions(invite.id) : [];
    const p = inviteProblemPage(problem, invite ? { token, submissions: subs } : undefined);
    return sendHtml(reply, p.status, p.body);
  }

  app.get<{ Params: TokenParams }>('/i/:token', async (req, reply) => {
    const { token } = req.params;
    const r = await invites.resolve(token);
    if (!r.ok) return sendInviteProblem(reply, token, r.problem, r.invite);
    const content = await invitePageContent(ctx, invites, r.invite);
    return sendHtml(reply, 200, invitePage({ invite: r.invite, token, ...content, maxBytes, uploadKey: crypto.randomBytes(16).toString('base64url') }));
  });

  /** Downloads need a live invite (expired or withdrawn links get their page). */
  async function liveInvite(token: string): Promise<InviteRow> {
    const r = await invites.resolve(token);
    if (r.ok || (r.problem === 'used_up' && r.invite)) return r.invite!;
    throw new InviteError(r.problem);
  }

  app.get<{ Params: TokenParams }>('/i/:token/files/train.csv', async (req, reply) => {
    const invite = await liveInvite(req.params.token);
    // Only the public training file: holdout features and labels never leave the grader.
    const dataset = await ctx.datasets.get(ctx.assessments.get(invite.assessmentId));
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="train.csv"') // the name the brief uses
      .send(fs.createReadStream(dataset.trainCsv));
  });

  app.get<{ Params: TokenParams }>('/i/:token/files/data-dictionary.md', async (req, reply) => {
    const invite = await liveInvite(req.params.token);
    return reply
      .type('text/markdown; charset=utf-8')
      .header('content-disposition', 'attachment; filename="data-dictionary.md"')
      .send(await ctx.assessments.readDoc(invite.assessmentId, 'dataDictionary'));
  });

  app.post<{ Params: TokenParams }>(
    '/i/:token/submissions',
    {
      onRequest: [
        // Per client IP, and per invite link whatever the IP.
        app.rateLimit({ max: ctx.config.UPLOAD_RATE_PER_IP, timeWindow: 60_000, keyGenerator: (req) => `ip:${req.ip}` }),
        async (req) => fixedWindowLimit(ctx.redis, `${ctx.config.QUEUE_PREFIX}:rate:invite:${(req.params as TokenParams).token.slice(0, 200)}`, ctx.config.UPLOAD_RATE_PER_INVITE, 60_000),
        // An announced over-size body is refused before any of it is read.
        async (req, reply) => {
          const declared = Number(req.headers['content-length'] ?? 0);
          if (declared > maxBytes + MULTIPART_OVERHEAD) return sendHtml(reply, 413, tooLargePage((req.params as TokenParams).token));
        },
      ],
    },
    async (req, reply) => {
      const { token } = req.params;
      const r = await invites.resolve(token);
      if (!r.ok) return sendInviteProblem(reply, token, r.problem, r.invite);
      if (!req.isMultipart())
        return sendHtml(
          reply,
          400,
          problemPage({ title: 'No file was sent', lead: 'Choose your archive in the upload form and send it again.', actions: backTo(token), reference: 'not_multipart' }),
        );
      let part;
      try {
        part = await req.file({ limits: { fileSize: maxBytes + 1, files: 1 } });
      } catch (err) {
        if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') return sendHtml(reply, 413, tooLargePage(token));
        throw err;
      }
      if (!part || !part.filename) {
        part?.file.resume();
        return sendHtml(
          reply,
          400,
          problemPage({ title: 'No file was chosen', lead: 'Choose your .zip or .tar.gz archive, then press “Upload”.', actions: backTo(token), reference: 'no_file' }),
        );
      }
      const key = fieldValue(part.fields.upload_key);
      try {
        const accepted = await invites.upload(r.invite, {
          fileName: part.filename,
          stream: part.file,
          uploadKey: key && /^[A-Za-z0-9_-]{8,64}$/.test(key) ? key : null,
        });
        req.log.info({ submissionId: accepted.submission.id, inviteId: r.invite.id, duplicate: accepted.duplicate }, 'candidate upload accepted');
        // The reply is thenable, but redirect() has sent it already: nothing to wait for.
        // eslint-disable-next-line @typescript-eslint/return-await
        return reply.redirect(`/i/${token}/submissions/${accepted.submission.id}`, 303);
      } catch (err) {
        if (err instanceof InviteError) return sendInviteProblem(reply, token, err.problem, r.invite);
        if (err instanceof PayloadTooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') return sendHtml(reply, 413, tooLargePage(token));
        if (err instanceof ArchiveRejectedError) {
          const notArchive = err.entry === null && /not a \.zip or \.tar\.gz/.test(err.reason);
          return sendHtml(
            reply,
            400,
            notArchive
              ? problemPage({
                  title: 'This file is not an archive',
                  lead: `“${part.filename}” is not a .zip or .tar.gz archive. Nothing was kept and your upload was not counted.`,
                  more: html`<p>Put <code>solution.py</code> (and <code>NOTES.md</code> if you wrote one) in a folder, compress it as a .zip or .tar.gz, and upload that file.</p>`,
                  actions: backTo(token),
                  reference: 'not_an_archive',
                })
              : problemPage({
                  title: 'This archive cannot be accepted',
                  lead: html`${err.entry ? html`The entry <code>${err.entry}</code> was refused: ` : 'The archive was refused: '}${err.reason}. Nothing was kept and your upload was not counted.`,
                  actions: backTo(token),
                  reference: 'archive_rejected',
                }),
          );
        }
        if (err instanceof QueueFullError) {
          reply.header('retry-after', String(err.retryAfterSeconds));
          return sendHtml(
            reply,
            503,
            problemPage({
              title: 'We are very busy right now',
              lead: `Too many submissions are waiting to be graded. Please try again in about ${Math.max(1, Math.round(err.retryAfterSeconds / 60))} minute(s); your upload was not counted.`,
              actions: backTo(token),
              reference: 'queue_full',
              tone: 'warn',
            }),
          );
        }
        throw err;
      }
    },
  );

  async function candidateSubmission(token: string, id: string) {
    const invite = await invites.resolveForReading(token);
    const sub = UUID.test(id) ? await ctx.submissions.getSubmission(id) : null;
    if (!sub || sub.inviteId !== invite.id) throw new InviteError('invalid');
    return { invite, sub };
  }

  app.get<{ Params: SubParams }>('/i/:token/submissions/:id', async (req, reply) => {
    const { token, id } = req.params;
    const { invite, sub } = await candidateSubmission(token, id);
    const content = await statusPageContent(ctx, sub);
    return sendHtml(reply, 200, statusPage({ invite, token, submission: sub, ...content, canUploadAgain: canUploadAgain(invite) }));
  });

  app.get<{ Params: SubParams }>('/i/:token/submissions/:id/events', async (req, reply) => {
    const { sub } = await candidateSubmission(req.params.token, req.params.id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    const started = Date.now();
    let lastSent = '';
    let lastWrite = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    res.on('close', end);
    // Phases are written to the grading row by the worker; one small read per second per open page.
    const tick = async () => {
      if (ended) return;
      try {
        const g = await ctx.submissions.latestGrading(sub.id);
        if (g) {
          const position = g.status === 'queued' ? await ctx.queue.position(g.id).catch(() => null) : null;
          const data = JSON.stringify(phaseInfo(g, position));
          if (data !== lastSent) {
            res.write(`event: status\ndata: ${data}\n\n`);
            lastSent = data;
            lastWrite = Date.now();
          }
          if (g.status === 'completed' || g.status === 'failed') return end();
        }
        if (Date.now() - lastWrite > SSE_HEARTBEAT_MS) {
          res.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        // The browser reconnects by itself; a bounded stream keeps stale connections from piling up.
        if (Date.now() - started > SSE_MAX_MS) return end();
      } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'status stream read failed');
      }
      if (!ended) timer = setTimeout(() => void tick(), SSE_POLL_MS);
    };
    void tick();
  });
}

function fieldValue(field: unknown): string | null {
  const f = Array.isArray(field) ? field[0] : field;
  return f && typeof f === 'object' && 'value' in f && typeof f.value === 'string' ? f.value : null;
}
