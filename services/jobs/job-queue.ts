import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { SystemError } from '../errors.ts';

/**
 * One kind of background job, defined once: its queue and job name, the payload schema (checked
 * when a job is added and again when a worker takes it), and how its job id follows from the
 * payload (so adding the same work twice queues it once).
 */
export interface JobKind<S extends z.ZodType> {
  queue: string;
  name: string;
  /** What logs and errors call one job ("grading", "regrade", ...). */
  label: string;
  schema: S;
  jobId: (data: z.infer<S>) => string;
}

export const defineJob = <S extends z.ZodType>(kind: JobKind<S>): JobKind<S> => kind;

/**
 * The retry policy of after-grading work that must not be lost but never holds a grading up
 * (webhook deliveries, similarity runs): WEBHOOK_ATTEMPTS attempts with exponential backoff from
 * WEBHOOK_BACKOFF_MS; finished jobs kept a day, failed ones a week, for inspection.
 */
export const afterGradingRetry = (config: Pick<Config, 'WEBHOOK_ATTEMPTS' | 'WEBHOOK_BACKOFF_MS'>): JobsOptions => ({
  attempts: config.WEBHOOK_ATTEMPTS,
  backoff: { type: 'exponential', delay: config.WEBHOOK_BACKOFF_MS },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
});

/** The producer side: validated adds with the kind's job id and options. */
export class JobQueue<S extends z.ZodType> {
  readonly queue: Queue<z.infer<S>>;

  constructor(
    readonly kind: JobKind<S>,
    connection: ConnectionOptions,
    private readonly opts: { prefix: string; jobOptions: JobsOptions; addTimeoutMs?: number },
  ) {
    this.queue = new Queue<z.infer<S>>(kind.queue, { connection, prefix: opts.prefix });
  }

  /** Adds one job; a Redis that does not answer in time or refuses it is a SystemError. */
  async add(payload: z.input<S>, extra: Pick<JobsOptions, 'priority'> = {}): Promise<void> {
    const data = this.kind.schema.parse(payload);
    const jobId = this.kind.jobId(data);
    const add = this.queue.add(this.kind.name as never, data as never, { ...this.opts.jobOptions, ...extra, jobId });
    try {
      await (this.opts.addTimeoutMs ? withTimeout(add, this.opts.addTimeoutMs) : add);
    } catch (err) {
      throw new SystemError(`could not enqueue ${this.kind.label} ${jobId}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Adds many jobs, `chunk` per round trip. */
  async addBulk(payloads: z.input<S>[], chunk = 500): Promise<void> {
    const data = payloads.map((p) => this.kind.schema.parse(p) as z.infer<S>);
    for (let i = 0; i < data.length; i += chunk)
      await this.queue.addBulk(data.slice(i, i + chunk).map((d) => ({ name: this.kind.name as never, data: d as never, opts: { ...this.opts.jobOptions, jobId: this.kind.jobId(d) } })));
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

export interface FailedAttempt {
  /** 1-based. */
  attempt: number;
  /** No retry follows: attempts spent, or an UnrecoverableError. */
  final: boolean;
}

/** A periodic task that runs beside a worker, stopped with it (recovery of lost jobs, ...). */
export interface Sweep {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
}

export interface JobWorkerSpec<S extends z.ZodType, R> {
  kind: JobKind<S>;
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  concurrency: number;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
  process: (data: z.infer<S>, job: Job<z.infer<S>>, signal?: AbortSignal) => Promise<R>;
  /** Errors that no retry can mend: they end the job at once. */
  unrecoverable?: (err: Error) => boolean;
  /** After every failed attempt (including jobs BullMQ fails as stalled); `final` when none follows. */
  onFailed?: (data: z.infer<S>, err: Error, attempt: FailedAttempt) => Promise<void>;
  sweeps?: Sweep[];
  /** Close the connection with the worker (BullMQ leaves a connection it was given open). */
  disconnect?: () => void;
}

/** Checks a job's payload in the worker; a payload that does not parse will never run. */
export function parseJobPayload<S extends z.ZodType>(kind: JobKind<S>, data: unknown): z.infer<S> {
  const parsed = kind.schema.safeParse(data);
  if (!parsed.success) throw new UnrecoverableError(`malformed ${kind.label} job payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

/** Whether a failed job is done for good (read in the 'failed' event, after BullMQ counted the attempt). */
export function failedAttempt(job: Pick<Job, 'attemptsMade' | 'opts'>, err: Error): FailedAttempt {
  return { attempt: job.attemptsMade, final: job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError' };
}

/**
 * Logs a failed attempt with the job's id and payload, then runs the kind's failure handling; if
 * that fails too, it is logged with the same fields (never swallowed: the job's state in Postgres
 * may now lag behind the queue until a sweep repairs it).
 */
export async function handleFailedJob<S extends z.ZodType>(
  spec: Pick<JobWorkerSpec<S, unknown>, 'kind' | 'logger' | 'onFailed'>,
  job: Pick<Job, 'id' | 'data' | 'attemptsMade' | 'opts'>,
  err: Error,
): Promise<void> {
  const { kind, logger } = spec;
  const at = failedAttempt(job, err);
  const fields = { queue: kind.queue, jobId: job.id, ...(job.data as object), attempt: at.attempt, final: at.final };
  logger.error({ ...fields, err: err.message }, `${kind.label} attempt failed`);
  if (!spec.onFailed) return;
  const data = kind.schema.safeParse(job.data);
  if (!data.success) return;
  try {
    await spec.onFailed(data.data, err, at);
  } catch (handlerErr) {
    logger.error({ ...fields, err: (handlerErr as Error).message, jobErr: err.message }, `recording the failed ${kind.label} failed`);
  }
}

/** A BullMQ worker for one job kind: payload checked, failures logged and handled, sweeps run beside it. */
export function startJobWorker<S extends z.ZodType, R>(spec: JobWorkerSpec<S, R>) {
  const { kind, logger } = spec;
  const worker = new Worker<z.infer<S>, R>(
    kind.queue,
    async (job, _token, signal) => {
      const data = parseJobPayload(kind, job.data);
      try {
        return await spec.process(data, job, signal);
      } catch (err) {
        if (spec.unrecoverable?.(err as Error)) throw new UnrecoverableError((err as Error).message);
        throw err;
      }
    },
    {
      connection: spec.connection,
      prefix: spec.prefix,
      concurrency: spec.concurrency,
      ...(spec.lockDuration !== undefined && { lockDuration: spec.lockDuration }),
      ...(spec.stalledInterval !== undefined && { stalledInterval: spec.stalledInterval }),
      ...(spec.maxStalledCount !== undefined && { maxStalledCount: spec.maxStalledCount }),
    },
  );
  worker.on('failed', (job, err) => {
    if (job) void handleFailedJob(spec, job, err);
  });
  worker.on('error', (err) => logger.error({ queue: kind.queue, err: err.message }, `${kind.label} worker error`));
  const timers = (spec.sweeps ?? []).map((s) => {
    const t = setInterval(() => void s.run().catch((err) => logger.warn({ queue: kind.queue, err: (err as Error).message }, `${s.name} failed`)), s.everyMs);
    t.unref();
    return t;
  });
  return {
    worker,
    async close() {
      for (const t of timers) clearInterval(t);
      await worker.close();
      spec.disconnect?.();
    },
  };
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}
