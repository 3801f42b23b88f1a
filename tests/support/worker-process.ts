import { spawn, type ChildProcess } from 'node:child_process';
import type { Context } from '../../services/context.ts';
import { ROOT } from './context.ts';

/** A grading worker in its own OS process, on the test's queue and storage, so it can be SIGKILLed. */
export function spawnWorker(ctx: Pick<Context, 'config'>, env: Record<string, string> = {}): ChildProcess {
  const c = ctx.config;
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/grading-worker.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: c.DATABASE_URL,
      REDIS_URL: c.REDIS_URL,
      QUEUE_PREFIX: c.QUEUE_PREFIX,
      DATA_DIR: c.DATA_DIR,
      DATASET_CACHE_DIR: c.DATASET_CACHE_DIR ?? '',
      ASSESSMENTS_DIR: c.ASSESSMENTS_DIR,
      ADMIN_API_KEY: c.ADMIN_API_KEY,
      RUNNER_IMAGE: c.RUNNER_IMAGE,
      LOG_LEVEL: 'warn',
      WORKER_LOCK_MS: '4000',
      ...(c.PHASE_TIMEOUT_CAP_S ? { PHASE_TIMEOUT_CAP_S: String(c.PHASE_TIMEOUT_CAP_S) } : {}),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => process.env.WORKER_STDERR && process.stderr.write(d));
  return child;
}

export async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
