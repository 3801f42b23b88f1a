import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Config } from '../config.ts';
import { DomainError } from '../errors.ts';
import { SubmissionService, type AcceptedSubmission, type SubmissionServiceDeps } from '../submissions/submission-service.ts';
import type { SubmissionRow } from '../submissions/submission-repository.ts';
import { InviteRepository, type InviteRow } from './invite-repository.ts';
import { hashInviteToken, signInviteToken, verifyInviteToken } from './invite-token.ts';

/** Why a link cannot be used; each has its own page and status code. */
export type InviteProblem = 'invalid' | 'expired' | 'used_up' | 'revoked';

export type ResolvedInvite = { ok: true; invite: InviteRow } | { ok: false; problem: InviteProblem; invite: InviteRow | null };

export interface CreatedInvite {
  invite: InviteRow;
  token: string;
  path: string;
}

export class InviteError extends DomainError {
  constructor(readonly problem: InviteProblem) {
    super(problem === 'invalid' ? 'not_found' : 'gone', `invite_${problem}`, INVITE_PROBLEM_TEXT[problem], { problem });
  }
}

export const INVITE_PROBLEM_TEXT: Record<InviteProblem, string> = {
  invalid: 'this invite link is not valid',
  expired: 'this invite link has expired',
  used_up: 'every upload allowed by this invite has been used',
  revoked: 'this invite has been withdrawn',
};

export const invitePath = (token: string) => `/i/${token}`;

export type InviteServiceDeps = SubmissionServiceDeps & { config: Pick<Config, 'INVITE_SECRET' | 'INVITE_DEFAULT_TTL_H' | 'INVITE_DEFAULT_MAX_ATTEMPTS'> };

/** Invites: making signed links, resolving them, and uploads that count against them. */
export class InviteService {
  readonly repo: InviteRepository;
  private readonly submissionService: SubmissionService;

  constructor(private readonly ctx: InviteServiceDeps) {
    this.repo = new InviteRepository(ctx.db);
    this.submissionService = new SubmissionService(ctx);
  }

  async create(input: { assessmentId: string; candidateName: string; candidateEmail: string; expiresAt?: Date; maxAttempts?: number; createdBy: string }): Promise<CreatedInvite> {
    const { config } = this.ctx;
    if (!this.ctx.assessments.has(input.assessmentId)) throw new DomainError('not_found', 'unknown_assessment', `assessment "${input.assessmentId}" does not exist`);
    // Whole seconds: the token carries seconds, and the row must agree with it exactly.
    const expiresAt = new Date(Math.floor((input.expiresAt?.getTime() ?? Date.now() + config.INVITE_DEFAULT_TTL_H * 3600_000) / 1000) * 1000);
    if (expiresAt.getTime() <= Date.now()) throw new DomainError('invalid_input', 'invalid_expiry', 'the expiry must be in the future');
    const id = crypto.randomUUID();
    const token = signInviteToken(config.INVITE_SECRET, { inviteId: id, expiresAt });
    const invite = await this.repo.insert({
      id,
      assessmentId: input.assessmentId,
      candidateName: input.candidateName.trim(),
      candidateEmail: input.candidateEmail.trim(),
      tokenSha256: hashInviteToken(token),
      expiresAt,
      maxAttempts: input.maxAttempts ?? config.INVITE_DEFAULT_MAX_ATTEMPTS,
      createdBy: input.createdBy,
    });
    return { invite, token, path: invitePath(token) };
  }

  /**
   * What a link is worth. `forUpload` also requires an attempt left; without it an authentic
   * link of an expired or used-up invite still resolves its invite, so the candidate can follow
   * the submissions already made.
   */
  async resolve(token: string): Promise<ResolvedInvite> {
    const payload = verifyInviteToken(this.ctx.config.INVITE_SECRET, token);
    if (!payload) return { ok: false, problem: 'invalid', invite: null };
    const invite = await this.repo.byToken(payload.inviteId, hashInviteToken(token));
    if (!invite || invite.expiresAt.getTime() !== payload.expiresAt.getTime()) return { ok: false, problem: 'invalid', invite: null };
    if (invite.revokedAt) return { ok: false, problem: 'revoked', invite };
    if (invite.expiresAt.getTime() <= Date.now()) return { ok: false, problem: 'expired', invite };
    if (invite.attemptsUsed >= invite.maxAttempts) return { ok: false, problem: 'used_up', invite };
    return { ok: true, invite };
  }

  /** An authentic, not withdrawn invite (expired or used up is fine): for following submissions. */
  async resolveForReading(token: string): Promise<InviteRow> {
    const r = await this.resolve(token);
    if (r.ok) return r.invite;
    if (r.problem === 'invalid' || r.problem === 'revoked' || !r.invite) throw new InviteError(r.problem);
    return r.invite;
  }

  /**
   * An upload through an invite: one attempt is taken first, and given back when the upload is
   * refused (too large, not an archive, queue full) or turns out to repeat an earlier one.
   */
  async upload(invite: InviteRow, input: { fileName: string; stream: Readable; uploadKey: string | null }): Promise<AcceptedSubmission> {
    const reserved = await this.repo.reserveAttempt(invite.id);
    if (!reserved) {
      input.stream.resume();
      const now = (await this.repo.get(invite.id)) ?? invite;
      throw new InviteError(now.revokedAt ? 'revoked' : now.expiresAt.getTime() <= Date.now() ? 'expired' : 'used_up');
    }
    let accepted: AcceptedSubmission;
    try {
      accepted = await this.submissionService.accept({
        assessmentId: invite.assessmentId,
        fileName: input.fileName,
        stream: input.stream,
        candidate: invite.candidateName,
        inviteId: invite.id,
        idempotencyKey: input.uploadKey ? `invite:${invite.id}:${input.uploadKey}` : null,
      });
    } catch (err) {
      await this.repo.releaseAttempt(invite.id);
      throw err;
    }
    if (accepted.duplicate) await this.repo.releaseAttempt(invite.id);
    return accepted;
  }

  async submissions(inviteId: string): Promise<SubmissionRow[]> {
    const { rows } = await this.ctx.db.query('SELECT id FROM submissions WHERE invite_id = $1 ORDER BY created_at DESC', [inviteId]);
    const out: SubmissionRow[] = [];
    for (const r of rows) {
      const s = await this.ctx.submissions.getSubmission(r.id);
      if (s) out.push(s);
    }
    return out;
  }
}
