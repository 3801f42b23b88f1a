import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { failedAttempt, handleFailedJob, parseJobPayload, type JobKind } from '../../services/jobs/job-queue.ts';
import { gradingJob } from '../../services/grading/grading-queue.ts';
import { regradeJob } from '../../services/regrades/regrade-queue.ts';
import { deliveryJob } from '../../services/webhooks/webhook-queue.ts';
import { GradingEvents, type GradingFinished } from '../../services/grading/grading-events.ts';
import { GRADING_PHASES, GRADING_STATE, GRADING_STATUSES, PHASES_OF_STATUS } from '../../services/submissions/grading-states.ts';
import { loadConfig } from '../../services/config.ts';
import { ROOT } from '../support/context.ts';

const ID = '00000000-0000-4000-8000-000000000001';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

const job = (data: unknown, attemptsMade: number, attempts: number) => ({ id: 'job-1', data, attemptsMade, opts: { attempts } });

describe('job payloads', () => {
  it.each<[JobKind<ZodType>, unknown]>([
    [gradingJob, { gradingId: ID }],
    [regradeJob, { regradeId: ID }],
    [deliveryJob, { deliveryId: ID }],
  ])('kind %# accepts its own payload and derives the job id from it', (kind, payload) => {
    expect(parseJobPayload(kind, payload)).toEqual(payload);
    expect(kind.jobId(payload)).toBe(ID);
  });

  it.each<[JobKind<ZodType>, unknown]>([
    [gradingJob, { gradingId: 'not-a-uuid' }],
    [gradingJob, { gradingId: ID, extra: 1 }],
    [regradeJob, {}],
    [deliveryJob, { deliveryId: 42 }],
    [deliveryJob, null],
  ])('malformed payload %# of a kind ends the job without retries', (kind, payload) => {
    expect(() => parseJobPayload(kind, payload)).toThrow(UnrecoverableError);
    expect(() => parseJobPayload(kind, payload)).toThrow(`malformed ${kind.label} job payload`);
  });
});

describe('failed jobs', () => {
  it('an attempt is final when the attempts are spent or the error is unrecoverable', () => {
    expect(failedAttempt(job({}, 1, 3), new Error('x'))).toEqual({ attempt: 1, final: false });
    expect(failedAttempt(job({}, 3, 3), new Error('x'))).toEqual({ attempt: 3, final: true });
    expect(failedAttempt(job({}, 1, 3), new UnrecoverableError('x'))).toEqual({ attempt: 1, final: true });
    expect(failedAttempt({ attemptsMade: 1, opts: {} }, new Error('x'))).toEqual({ attempt: 1, final: true });
  });

  it('every failed attempt is logged with the job id and payload, and the handler hears whether it was the last', async () => {
    const { logger, lines } = capture();
    const heard: unknown[] = [];
    await handleFailedJob(
      { kind: gradingJob, logger, onFailed: async (data, err, at) => void heard.push([data, err.message, at]) },
      job({ gradingId: ID }, 6, 6),
      new Error('docker: engine unreachable'),
    );
    expect(heard).toEqual([[{ gradingId: ID }, 'docker: engine unreachable', { attempt: 6, final: true }]]);
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: 'grading attempt failed', jobId: 'job-1', gradingId: ID, attempt: 6, final: true, err: 'docker: engine unreachable' })]);
  });

  it('a failing final-failure handler is logged with the job id and both errors, not swallowed', async () => {
    const { logger, lines } = capture();
    await handleFailedJob(
      { kind: gradingJob, logger, onFailed: () => Promise.reject(new Error('postgres: connection refused')) },
      job({ gradingId: ID }, 6, 6),
      new Error('docker: engine unreachable'),
    );
    expect(lines[1]).toMatchObject({
      level: 50,
      msg: 'recording the failed grading failed',
      jobId: 'job-1',
      gradingId: ID,
      final: true,
      err: 'postgres: connection refused',
      jobErr: 'docker: engine unreachable',
    });
  });

  it('a job whose payload does not parse is logged but not handed to the handler', async () => {
    const { logger, lines } = capture();
    let called = false;
    await handleFailedJob({ kind: regradeJob, logger, onFailed: async () => void (called = true) }, job({ regradeId: 'x' }, 1, 3), new UnrecoverableError('malformed'));
    expect(called).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'regrade attempt failed', final: true });
  });
});

describe('GradingFinished subscribers', () => {
  const event: GradingFinished = {
    status: 'completed',
    gradingId: ID,
    submissionId: ID,
    assessmentId: 'smoke-binary',
    reason: 'initial',
    regradeId: null,
    finishedAt: new Date(0).toISOString(),
    reportId: ID,
    score: 81.5,
    passed: true,
    rubricVersion: 2,
  };

  it('one failing subscriber does not stop the other; the failure is logged and never reaches the publisher', async () => {
    const { logger, lines } = capture();
    const heard: GradingFinished[] = [];
    const bus = new GradingEvents(logger).subscribe('webhooks', () => Promise.reject(new Error('redis down'))).subscribe('regrades', async (e) => void heard.push(e));
    await expect(bus.publish(event)).resolves.toBeUndefined();
    expect(heard).toEqual([event]);
    expect(lines).toEqual([expect.objectContaining({ level: 50, subscriber: 'webhooks', gradingId: ID, err: 'redis down' })]);
  });

  it('a subscriber that throws synchronously is isolated too', async () => {
    const { logger, lines } = capture();
    let ran = false;
    const bus = new GradingEvents(logger)
      .subscribe('bad', () => {
        throw new Error('boom');
      })
      .subscribe('good', async () => void (ran = true));
    await bus.publish(event);
    expect(ran).toBe(true);
    expect(lines[0]).toMatchObject({ subscriber: 'bad', err: 'boom' });
  });

  it('a malformed event reaches no subscriber', async () => {
    const { logger, lines } = capture();
    let ran = false;
    const bus = new GradingEvents(logger).subscribe('any', async () => void (ran = true));
    await bus.publish({ ...event, score: Number.NaN, reportId: 'nope' });
    expect(ran).toBe(false);
    expect(lines[0]).toMatchObject({ level: 50, msg: 'malformed grading-finished event not published' });
  });
});

describe('grading statuses and phases', () => {
  // Each constraint as the last migration that (re)defines it leaves it.
  const migrations = fs
    .readdirSync(path.join(ROOT, 'migrations'))
    .sort()
    .map((f) => fs.readFileSync(path.join(ROOT, 'migrations', f), 'utf8'));
  const lastDefining = (name: string) => migrations.filter((text) => new RegExp(`ADD CONSTRAINT ${name}\\s+CHECK`).test(text)).at(-1)!;
  const list = (s: string) => [...s.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);

  it('the database checks the same lists as the code', () => {
    expect(list(lastDefining('gradings_status_check').match(/gradings_status_check CHECK \(status IN \(([^)]*)\)/)![1]!)).toEqual([...GRADING_STATUSES]);
    expect(list(lastDefining('gradings_phase_check').match(/gradings_phase_check\s+CHECK \(phase IN \(([^)]*)\)/)![1]!)).toEqual([...GRADING_PHASES]);
    const pairs = lastDefining('gradings_status_phase_check').match(/gradings_status_phase_check CHECK \(([\s\S]*?)\);/)![1]!;
    for (const status of GRADING_STATUSES) {
      const clause = pairs.match(new RegExp(`status = '${status}' AND phase (?:IN \\(([^)]*)\\)|= ('[a-z]+'))`))!;
      expect(list(clause[1] ?? clause[2]!), status).toEqual([...PHASES_OF_STATUS[status]]);
    }
  });

  it('every state the code writes is an allowed pair', () => {
    for (const { status, phase } of Object.values(GRADING_STATE)) expect(PHASES_OF_STATUS[status] as readonly string[]).toContain(phase);
  });
});

describe('WORKER_LOCK_MS', () => {
  it('defaults to 30 s and is bounded', () => {
    expect(loadConfig({}).WORKER_LOCK_MS).toBe(30_000);
    expect(loadConfig({ WORKER_LOCK_MS: '4000' }).WORKER_LOCK_MS).toBe(4_000);
    expect(() => loadConfig({ WORKER_LOCK_MS: '10' })).toThrow(/WORKER_LOCK_MS/);
    expect(() => loadConfig({ WORKER_LOCK_MS: 'soon' })).toThrow(/WORKER_LOCK_MS/);
  });
});
