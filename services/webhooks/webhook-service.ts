import type { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import type { Config } from '../config.ts';
import type { RegradeRepository } from '../regrades/regrade-repository.ts';
import { canSeeAssessment, withinScope, type Principal } from '../auth/api-keys.ts';
import { DomainError, NotFoundError } from '../errors.ts';
import type { RegradeRow } from '../regrades/regrade-repository.ts';
import type { EndpointRow, WebhookRepository } from './webhook-repository.ts';
import type { WebhookQueue } from './webhook-queue.ts';
import { newWebhookSecret } from './webhook-signature.ts';
import { resolveWebhookTarget, type LookupAll } from './webhook-address.ts';
import type { GradingFinished } from '../grading/grading-events.ts';
import type { CreateWebhook, GradingFailedEvent, RegradeEvent, ReportEvent, WebhookEndpointView, WebhookEvent } from './webhook-schema.ts';

export interface WebhookServiceDeps {
  config: Pick<Config, 'PUBLIC_URL' | 'WEBHOOK_ALLOWED_HOSTS'>;
  assessments: Pick<AssessmentRegistry, 'has'>;
  regrades: Pick<RegradeRepository, 'publishedReports'>;
  webhooks: WebhookRepository;
  webhookQueue: WebhookQueue;
}

const view = ({ secret: _secret, ...e }: EndpointRow): WebhookEndpointView => e;

/**
 * Registering endpoints (admins, within their own assessments) and publishing events: each event
 * becomes one delivery row per subscribed endpoint, then one queued job per delivery.
 */
export class WebhookService {
  constructor(
    private readonly ctx: WebhookServiceDeps,
    /** The resolver registration checks addresses with (tests answer for names offline). */
    private readonly lookup?: LookupAll,
  ) {}

  async create(p: Principal, input: CreateWebhook): Promise<WebhookEndpointView & { secret: string }> {
    const assessmentIds = input.assessmentIds ?? p.assessmentIds;
    for (const id of assessmentIds ?? [])
      if (!this.ctx.assessments.has(id) || !canSeeAssessment(p, id)) throw new DomainError('invalid_input', 'unknown_assessment', `assessment "${id}" does not exist`);
    // Checked again at each delivery: what a name resolves to can change after registration.
    const target = await resolveWebhookTarget(input.url, this.ctx.config.WEBHOOK_ALLOWED_HOSTS, this.lookup);
    if (!target.ok) throw new DomainError('invalid_input', `webhook_${target.code}`, `webhook URL refused: ${target.reason}`);
    const secret = newWebhookSecret();
    const e = await this.ctx.webhooks.createEndpoint({ url: input.url, secret, description: input.description, assessmentIds, events: input.events, createdBy: p.name });
    return { ...view(e), secret };
  }

  async list(p: Principal): Promise<WebhookEndpointView[]> {
    return (await this.ctx.webhooks.endpoints()).filter((e) => withinScope(p, e.assessmentIds)).map(view);
  }

  async get(p: Principal, id: string): Promise<WebhookEndpointView> {
    return view(await this.visible(p, id));
  }

  async remove(p: Principal, id: string): Promise<void> {
    await this.visible(p, id);
    await this.ctx.webhooks.deleteEndpoint(id);
  }

  async enable(p: Principal, id: string): Promise<WebhookEndpointView> {
    await this.visible(p, id);
    return view((await this.ctx.webhooks.enableEndpoint(id))!);
  }

  async deliveries(p: Principal, id: string, limit: number) {
    await this.visible(p, id);
    return this.ctx.webhooks.deliveries(id, limit);
  }

  private async visible(p: Principal, id: string): Promise<EndpointRow> {
    const e = await this.ctx.webhooks.endpoint(id);
    if (!e || !withinScope(p, e.assessmentIds)) throw new NotFoundError('webhook');
    return e;
  }

  /**
   * A sandbox grading finished (subscribed to GradingFinished): report.created for its report, or
   * grading.failed when it failed for good. Everything the body says comes with the event.
   */
  async publishGradingFinished(e: GradingFinished): Promise<number> {
    if (e.status === 'completed') {
      const body: ReportEvent = {
        event: 'report.created',
        eventId: `report:${e.reportId}`,
        occurredAt: e.finishedAt,
        source: 'grading',
        submissionId: e.submissionId,
        assessmentId: e.assessmentId,
        reportId: e.reportId,
        gradingId: e.gradingId,
        regradeId: e.regradeId,
        score: e.score,
        passed: e.passed,
        rubricVersion: e.rubricVersion,
        reportUrl: this.url(`/v1/submissions/${e.submissionId}/report?reportId=${e.reportId}`),
      };
      return this.publish('report.created', e.assessmentId, [body]);
    }
    const body: GradingFailedEvent = {
      event: 'grading.failed',
      eventId: `grading-failed:${e.gradingId}`,
      occurredAt: e.finishedAt,
      submissionId: e.submissionId,
      assessmentId: e.assessmentId,
      gradingId: e.gradingId,
      reason: e.reason,
      attempts: e.attempts,
      error: e.error,
      statusUrl: this.url(`/v1/submissions/${e.submissionId}`),
      retryUrl: this.url(`/v1/submissions/${e.submissionId}/gradings`),
    };
    return this.publish('grading.failed', e.assessmentId, [body]);
  }

  /** A finished (published, not dry-run) regrade: report.created per rescored report, then regrade.completed. */
  async publishRegrade(regrade: RegradeRow, summary: { total: number; done: number; failed: number; skipped: number; flips: number }): Promise<number> {
    let n = 0;
    const occurredAt = new Date().toISOString();
    if ((await this.ctx.webhooks.subscribers('report.created', regrade.assessmentId)).length > 0) {
      const reports = await this.ctx.regrades.publishedReports(regrade.id);
      const bodies: ReportEvent[] = reports.map((r) => ({
        event: 'report.created',
        eventId: `report:${r.reportId}`,
        occurredAt,
        source: 'rescore',
        submissionId: r.submissionId,
        assessmentId: regrade.assessmentId,
        reportId: r.reportId,
        gradingId: null,
        regradeId: regrade.id,
        score: r.score,
        passed: r.passed,
        rubricVersion: r.rubricVersion,
        reportUrl: this.url(`/v1/submissions/${r.submissionId}/report?reportId=${r.reportId}`),
      }));
      n += await this.publish('report.created', regrade.assessmentId, bodies);
    }
    const done: RegradeEvent = {
      event: 'regrade.completed',
      eventId: `regrade:${regrade.id}`,
      occurredAt,
      regradeId: regrade.id,
      assessmentId: regrade.assessmentId,
      rubricVersion: regrade.rubricVersion,
      path: regrade.path,
      ...summary,
      regradeUrl: this.url(`/v1/regrades/${regrade.id}`),
    };
    return n + (await this.publish('regrade.completed', regrade.assessmentId, [done]));
  }

  private async publish(event: WebhookEvent, assessmentId: string, bodies: (ReportEvent | RegradeEvent | GradingFailedEvent)[]): Promise<number> {
    const endpoints = await this.ctx.webhooks.subscribers(event, assessmentId);
    if (endpoints.length === 0 || bodies.length === 0) return 0;
    const texts = bodies.map((b) => ({ key: b.eventId, body: JSON.stringify(b) }));
    let created = 0;
    for (let i = 0; i < texts.length; i += 2000) {
      const chunk = texts.slice(i, i + 2000);
      const ids = await this.ctx.webhooks.insertDeliveries(endpoints.flatMap((e) => chunk.map((t) => ({ endpointId: e.id, event, idempotencyKey: t.key, body: t.body }))));
      // Recorded first, queued second: a delivery whose job is lost is re-queued by the sweep.
      await this.ctx.webhookQueue.enqueue(ids);
      created += ids.length;
    }
    return created;
  }

  private url(path: string): string {
    return `${(this.ctx.config.PUBLIC_URL ?? '').replace(/\/$/, '')}${path}`;
  }
}
