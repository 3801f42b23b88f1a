import crypto from 'node:crypto';
import type { Db } from '../db/pool.ts';
import type { WebhookDeliveryView, WebhookEndpointView, WebhookEvent } from './webhook-schema.ts';

export interface EndpointRow extends WebhookEndpointView {
  secret: string;
}

export interface DeliveryToSend {
  id: string;
  event: WebhookEvent;
  idempotencyKey: string;
  body: string;
  status: 'pending' | 'succeeded' | 'failed';
  endpoint: EndpointRow;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);

const toEndpoint = (r: Record<string, unknown>): EndpointRow => ({
  id: r.id as string,
  url: r.url as string,
  secret: r.secret as string,
  description: r.description as string,
  assessmentIds: (r.assessment_ids as string[]) ?? null,
  events: r.events as WebhookEvent[],
  createdBy: r.created_by as string,
  createdAt: iso(r.created_at)!,
  enabled: r.disabled_at === null,
  consecutiveFailures: r.consecutive_failures as number,
  disabledAt: iso(r.disabled_at),
  disabledReason: (r.disabled_reason as string) ?? null,
});

/** Endpoints and the delivery log. */
export class WebhookRepository {
  constructor(private readonly db: Db) {}

  async createEndpoint(e: { url: string; secret: string; description: string; assessmentIds: string[] | null; events: WebhookEvent[]; createdBy: string }): Promise<EndpointRow> {
    const { rows } = await this.db.query(`INSERT INTO webhook_endpoints (id, url, secret, description, assessment_ids, events, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *`, [
      crypto.randomUUID(),
      e.url,
      e.secret,
      e.description,
      e.assessmentIds,
      e.events,
      e.createdBy,
    ]);
    return toEndpoint(rows[0]);
  }

  async endpoints(): Promise<EndpointRow[]> {
    const { rows } = await this.db.query('SELECT * FROM webhook_endpoints ORDER BY created_at');
    return rows.map(toEndpoint);
  }

  async endpoint(id: string): Promise<EndpointRow | null> {
    const { rows } = await this.db.query('SELECT * FROM webhook_endpoints WHERE id = $1', [id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.db.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
  }

  async enableEndpoint(id: string): Promise<EndpointRow | null> {
    const { rows } = await this.db.query('UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0 WHERE id = $1 RETURNING *', [id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /** Enabled endpoints subscribed to this event for this assessment. */
  async subscribers(event: WebhookEvent, assessmentId: string): Promise<EndpointRow[]> {
    const { rows } = await this.db.query(`SELECT * FROM webhook_endpoints WHERE disabled_at IS NULL AND $1 = ANY(events) AND (assessment_ids IS NULL OR $2 = ANY(assessment_ids))`, [
      event,
      assessmentId,
    ]);
    return rows.map(toEndpoint);
  }

  /** Records deliveries (one per endpoint and idempotency key); returns the ids of new ones. */
  async insertDeliveries(rows: { endpointId: string; event: WebhookEvent; idempotencyKey: string; body: string }[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const { rows: inserted } = await this.db.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event, idempotency_key, body, status)
       SELECT x.id, x.endpoint_id, x.event, x.idempotency_key, x.body, 'pending'
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, endpoint_id uuid, event text, idempotency_key text, body text)
       ON CONFLICT (endpoint_id, idempotency_key) DO NOTHING RETURNING id`,
      [JSON.stringify(rows.map((r) => ({ id: crypto.randomUUID(), endpoint_id: r.endpointId, event: r.event, idempotency_key: r.idempotencyKey, body: r.body })))],
    );
    return inserted.map((r) => r.id);
  }

  async deliveryToSend(id: string): Promise<DeliveryToSend | null> {
    const { rows } = await this.db.query(
      `SELECT d.id AS delivery_id, d.event, d.idempotency_key, d.body, d.status AS delivery_status, e.*
       FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return { id: r.delivery_id, event: r.event, idempotencyKey: r.idempotency_key, body: r.body, status: r.delivery_status, endpoint: toEndpoint(r) };
  }

  /** Logs one attempt and returns its number. */
  async recordAttempt(id: string, a: { statusCode: number | null; error: string | null; durationMs: number }): Promise<number> {
    const { rows } = await this.db.query(
      `WITH d AS (
         UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $2, last_error = $3, last_attempt_at = now()
         WHERE id = $1 RETURNING attempts)
       INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms) SELECT $1, attempts, $2, $3, $4 FROM d
       RETURNING attempt`,
      [id, a.statusCode, a.error?.slice(0, 2000) ?? null, Math.round(a.durationMs)],
    );
    return rows[0]?.attempt ?? 0;
  }

  async markSucceeded(deliveryId: string, endpointId: string): Promise<void> {
    await this.db.query(`UPDATE webhook_deliveries SET status = 'succeeded', finished_at = now() WHERE id = $1`, [deliveryId]);
    await this.db.query('UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0', [endpointId]);
  }

  /** A delivery failed for good; `counts` false when it never reached the endpoint's judgement (endpoint disabled). */
  async markFailed(deliveryId: string, error: string, counts: boolean, endpointId: string, disableAfter: number): Promise<EndpointRow | null> {
    await this.db.query(`UPDATE webhook_deliveries SET status = 'failed', finished_at = now(), last_error = COALESCE(last_error, $2) WHERE id = $1 AND status = 'pending'`, [
      deliveryId,
      error.slice(0, 2000),
    ]);
    if (!counts) return null;
    const { rows } = await this.db.query(
      `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
              disabled_at = CASE WHEN disabled_at IS NULL AND consecutive_failures + 1 >= $2 THEN now() ELSE disabled_at END,
              disabled_reason = CASE WHEN disabled_at IS NULL AND consecutive_failures + 1 >= $2
                THEN format('disabled after %s deliveries in a row failed after every retry; last error: %s', consecutive_failures + 1, $3::text)
                ELSE disabled_reason END
       WHERE id = $1 RETURNING *`,
      [endpointId, disableAfter, error.slice(0, 500)],
    );
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async deliveries(endpointId: string, limit: number): Promise<WebhookDeliveryView[]> {
    const { rows } = await this.db.query(
      `SELECT d.*, COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at, 'statusCode', a.status_code, 'error', a.error, 'durationMs', a.duration_ms) ORDER BY a.attempt)
                             FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempt_log
       FROM webhook_deliveries d WHERE d.endpoint_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2`,
      [endpointId, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      event: r.event,
      idempotencyKey: r.idempotency_key,
      status: r.status,
      attempts: r.attempts,
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      createdAt: iso(r.created_at)!,
      lastAttemptAt: iso(r.last_attempt_at),
      finishedAt: iso(r.finished_at),
      attemptLog: r.attempt_log.map((a: Record<string, unknown>) => ({ ...a, at: new Date(a.at as string).toISOString() })),
    }));
  }

  /** Deliveries still pending a while after they were recorded (their job may be lost). */
  async stalePending(olderThanMs: number, limit = 1000): Promise<string[]> {
    const { rows } = await this.db.query(
      `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND created_at < now() - ($1 || ' milliseconds')::interval ORDER BY created_at LIMIT $2`,
      [String(olderThanMs), limit],
    );
    return rows.map((r) => r.id);
  }
}
