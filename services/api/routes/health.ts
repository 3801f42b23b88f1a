import type { FastifyInstance } from 'fastify';
import client from 'prom-client';
import type { Redis } from 'ioredis';
import type { Db } from '../../db/pool.ts';
import type { GradingQueue } from '../../grading/grading-queue.ts';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { withTimeout } from '../../grading/grading-queue.ts';

/** Deep health (Postgres, Redis, Docker engine) and Prometheus metrics. */
export interface HealthDeps {
  db: Db;
  redis: Redis;
  queue: GradingQueue;
  sandbox: Pick<Sandbox, 'ping'>;
}

export async function healthRoutes(app: FastifyInstance, ctx: HealthDeps) {
  app.get('/health', { schema: { hide: true } }, async (_req, reply) => {
    const probe = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      try {
        await withTimeout(fn(), 2_000);
        return { ok: true, ms: Math.round(performance.now() - t) };
      } catch (err) {
        return { ok: false, ms: Math.round(performance.now() - t), error: (err as Error).message };
      }
    };
    const [postgres, redis, docker] = await Promise.all([probe(() => ctx.db.query('SELECT 1')), probe(() => ctx.redis.ping()), probe(() => ctx.sandbox.ping())]);
    const ok = postgres.ok && redis.ok && docker.ok;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks: { postgres, redis, docker } });
  });

  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'grader_api_' });
  new client.Gauge({
    name: 'grader_queue_jobs',
    help: 'Grading jobs in the queue by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await ctx.queue.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new client.Gauge({
    name: 'grader_gradings',
    help: 'Gradings by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const { rows } = await ctx.db.query('SELECT status, count(*)::int AS n FROM gradings GROUP BY status');
      this.reset();
      for (const r of rows) this.set({ status: r.status }, r.n);
    },
  });
  new client.Gauge({
    name: 'grader_reports_by_outcome',
    help: 'Reports of the last 24 hours by outcome (passed / not passed)',
    labelNames: ['outcome'],
    registers: [registry],
    async collect() {
      const { rows } = await ctx.db.query(`SELECT passed, count(*)::int AS n FROM reports WHERE created_at > now() - interval '1 day' GROUP BY passed`);
      this.reset();
      for (const r of rows) this.set({ outcome: r.passed ? 'passed' : 'not_passed' }, r.n);
    },
  });
  new client.Gauge({
    name: 'grader_phase_duration_seconds',
    help: 'Mean duration of each grading phase over the last 200 reports',
    labelNames: ['step', 'phase'],
    registers: [registry],
    async collect() {
      const { rows } = await ctx.db.query(
        `SELECT r->>'step' AS step, r->>'phase' AS phase, avg((r->>'durationMs')::float) / 1000 AS s
         FROM (SELECT document FROM reports WHERE grading_id IS NOT NULL ORDER BY created_at DESC LIMIT 200) d,
              jsonb_array_elements(d.document->'resources') r GROUP BY 1, 2`,
      );
      this.reset();
      for (const r of rows) this.set({ step: r.step, phase: r.phase }, r.s);
    },
  });
  // What an autoscaler watches (docs/SCALING.md): how long the oldest queued grading has waited, and
  // how many gradings each worker host runs now (worker_host is "<hostname>/<pid>").
  new client.Gauge({
    name: 'grader_oldest_queued_seconds',
    help: 'Age of the oldest grading still queued (0 when none)',
    registers: [registry],
    async collect() {
      const { rows } = await ctx.db.query(`SELECT coalesce(extract(epoch FROM now() - min(queued_at)), 0)::float AS s FROM gradings WHERE status = 'queued'`);
      this.set(rows[0]?.s ?? 0);
    },
  });
  new client.Gauge({
    name: 'grader_running_gradings',
    help: 'Gradings running now, by worker host',
    labelNames: ['host'],
    registers: [registry],
    async collect() {
      const { rows } = await ctx.db.query(`SELECT split_part(worker_host, '/', 1) AS host, count(*)::int AS n FROM gradings WHERE status = 'running' GROUP BY 1`);
      this.reset();
      for (const r of rows) this.set({ host: r.host ?? 'unknown' }, r.n);
    },
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
