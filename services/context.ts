import path from 'node:path';
import os from 'node:os';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { createPool, type Db } from './db/pool.ts';
import { DiskBlobStore, type BlobStore } from './storage/blob-store.ts';
import { PostgresBlobStore } from './storage/postgres-blob-store.ts';
import { AssessmentRegistry } from './assessments/assessment-registry.ts';
import { DatasetStore } from './assessments/dataset-store.ts';
import { createSandbox } from './sandbox/create-sandbox.ts';
import type { Sandbox } from './sandbox/sandbox.ts';
import { Grader } from './grading/grader.ts';
import { GradingQueue } from './grading/grading-queue.ts';
import { SubmissionRepository } from './submissions/submission-repository.ts';
import { ReportRepository } from './reports/report-repository.ts';
import { RubricRepository } from './rubrics/rubric-repository.ts';
import { RegradeRepository } from './regrades/regrade-repository.ts';
import { RegradeQueue } from './regrades/regrade-queue.ts';
import { WebhookRepository } from './webhooks/webhook-repository.ts';
import { WebhookQueue } from './webhooks/webhook-queue.ts';
import { PythonParser } from './archive/python-parser.ts';

/**
 * The composition root: everything a process (API, worker, CLI) shares, built once from the config.
 * Features never import it (npm run lint:imports): each declares the part it uses (SubmissionServiceDeps,
 * GradingProcessorDeps, ...), and the entry points (services/api, workers/, bench/) pass this object,
 * which satisfies them all.
 */
export interface Context {
  config: Config;
  logger: Logger;
  db: Db;
  redis: Redis;
  blobs: BlobStore;
  assessments: AssessmentRegistry;
  sandbox: Sandbox;
  datasets: DatasetStore;
  grader: Grader;
  queue: GradingQueue;
  submissions: SubmissionRepository;
  reports: ReportRepository;
  rubrics: RubricRepository;
  regrades: RegradeRepository;
  regradeQueue: RegradeQueue;
  webhooks: WebhookRepository;
  webhookQueue: WebhookQueue;
  pythonParser: PythonParser;
  close(): Promise<void>;
}

export function createLogger(config: Config, name: string): Logger {
  return pino({ name, level: config.LOG_LEVEL, base: { pid: process.pid, host: os.hostname() } });
}

export function redisConnection(url: string): Redis {
  // BullMQ workers need blocking commands without a per-request retry cap.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

/** Refuses a Redis that may evict keys: BullMQ would silently lose jobs. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = res[1];
  if (policy !== 'noeviction') throw new Error(`Redis maxmemory-policy is "${policy}"; it must be "noeviction" or queued gradings can be evicted and lost`);
}

export function createContext(config: Config, name: string): Context {
  const logger = createLogger(config, name);
  const db = createPool(config.DATABASE_URL);
  const redis = redisConnection(config.REDIS_URL);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const assessments = AssessmentRegistry.load(config.ASSESSMENTS_DIR);
  const sandbox = createSandbox(config, logger);
  const datasets = new DatasetStore(config.DATASET_CACHE_DIR ?? path.join(config.DATA_DIR, 'datasets'), sandbox, config.RUNNER_IMAGE);
  const grader = new Grader({ config, sandbox, assessments, datasets, logger });
  const queue = new GradingQueue(redis, config);
  const regradeQueue = new RegradeQueue(redis, config);
  const webhookQueue = new WebhookQueue(redis, config);
  const pythonParser = new PythonParser({ processes: config.UPLOAD_PARSERS, timeoutMs: 5_000, maxRequestsPerProcess: 500 });
  return {
    config,
    logger,
    db,
    redis,
    blobs: config.BLOB_STORE === 'postgres' ? new PostgresBlobStore(db, config.DATA_DIR) : new DiskBlobStore(config.DATA_DIR),
    assessments,
    sandbox,
    datasets,
    grader,
    queue,
    submissions: new SubmissionRepository(db),
    reports: new ReportRepository(db),
    rubrics: new RubricRepository(db, assessments),
    regrades: new RegradeRepository(db),
    regradeQueue,
    webhooks: new WebhookRepository(db),
    webhookQueue,
    pythonParser,
    async close() {
      await pythonParser.close();
      await queue.close().catch(() => {});
      await regradeQueue.close().catch(() => {});
      await webhookQueue.close().catch(() => {});
      redis.disconnect();
      await db.end().catch(() => {});
    },
  };
}
