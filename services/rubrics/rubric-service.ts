import type { RubricRepository, RubricSource } from './rubric-repository.ts';
import { canSeeAssessment, type Principal } from '../auth/api-keys.ts';
import { DomainError, NotFoundError } from '../errors.ts';
import { RubricError, type Rubric } from './rubric-schema.ts';
import type { RubricVersion } from './rubric-repository.ts';

export interface RubricVersionView {
  assessmentId: string;
  version: number;
  rubricId: string;
  contentSha256: string;
  createdAt: string;
  url: string;
}

const summary = (v: RubricVersion): RubricVersionView => ({
  assessmentId: v.assessmentId,
  version: v.version,
  rubricId: v.rubric.id,
  contentSha256: v.contentSha256,
  createdAt: v.createdAt,
  url: `/v1/assessments/${v.assessmentId}/rubrics/${v.version}`,
});

export interface RubricServiceDeps {
  assessments: Pick<RubricSource, 'has'>;
  rubrics: RubricRepository;
}

/** Rubric versions over the API: tenant checks, and validation errors that name each bad field. */
export class RubricService {
  constructor(private readonly ctx: RubricServiceDeps) {}

  async push(p: Principal, assessmentId: string, body: unknown): Promise<RubricVersionView & { created: boolean; rubric: Rubric }> {
    this.visible(p, assessmentId);
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const doc = body as Record<string, unknown>;
      if (doc.assessmentId === undefined) body = { ...doc, assessmentId };
      else if (doc.assessmentId !== assessmentId)
        throw invalid([{ path: 'assessmentId', message: `must be "${assessmentId}", the assessment in the URL (got ${JSON.stringify(doc.assessmentId)})` }]);
    }
    try {
      const v = await this.ctx.rubrics.push(body, p.name);
      return { ...summary(v), created: v.created, rubric: v.rubric };
    } catch (err) {
      if (err instanceof RubricError) throw invalid(err.issues);
      throw err;
    }
  }

  async list(p: Principal, assessmentId: string): Promise<RubricVersionView[]> {
    this.visible(p, assessmentId);
    return (await this.ctx.rubrics.list(assessmentId)).map(summary);
  }

  async get(p: Principal, assessmentId: string, version: number): Promise<RubricVersionView & { rubric: Rubric }> {
    this.visible(p, assessmentId);
    const v = await this.ctx.rubrics.get(assessmentId, version);
    return { ...summary(v), rubric: v.rubric };
  }

  private visible(p: Principal, assessmentId: string): void {
    if (!this.ctx.assessments.has(assessmentId) || !canSeeAssessment(p, assessmentId)) throw new NotFoundError(`assessment "${assessmentId}"`);
  }
}

function invalid(issues: { path: string; message: string }[]): DomainError {
  return new DomainError('invalid_input', 'invalid_rubric', `invalid rubric: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}
