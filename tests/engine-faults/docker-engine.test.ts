import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { SubmissionService } from '../../services/submissions/submission-service.ts';
import { ROOT, eventually, testContext, type DockerContext } from '../support/context.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { spawnWorker, stopWorker } from '../support/worker-process.ts';
import { recordCase } from '../support/security-cases.ts';

/**
 * Stops the real (local) Docker engine mid-grading. It runs in its own vitest invocation after
 * the rest of the suite (scripts/test.sh), so an engine that is slow to come back cannot take
 * other tests down with it.
 */
const run = promisify(execFile);
const alive = (pid: string) =>
  run('kill', ['-0', pid]).then(
    () => true,
    () => false,
  );
const engineUp = () =>
  run('docker', ['info']).then(
    () => true,
    () => false,
  );
let ctx: DockerContext | undefined;
let worker: ChildProcess | undefined;
let restart: (() => Promise<void>) | undefined;

afterAll(async () => {
  if (restart && !(await engineUp())) await restart();
  if (worker) await stopWorker(worker);
  await ctx?.close();
});

describe('Docker engine', () => {
  it('case 18: stopping the Docker engine mid-job: retried with backoff until it is back', async () => {
    const pid = (await run('pidof', ['dockerd']).catch(() => ({ stdout: '' }))).stdout.trim().split(' ')[0];
    if (process.env.DOCKER_HOST || !pid) return; // only a local engine can be bounced
    const cmdline = (await run('ps', ['-o', 'args=', '-p', pid])).stdout.trim().split(/\s+/);
    restart = async () => {
      // The old daemon and its containerd must be gone before a new one can own the socket.
      await eventually(
        async () =>
          !(await alive(pid)) &&
          !(await run('pgrep', ['-f', 'containerd --config /var/run/docker/containerd']).then(
            () => true,
            () => false,
          )),
        60_000,
        250,
      );
      for (let attempt = 0; attempt < 3 && !(await engineUp()); attempt++) {
        spawn(cmdline[0]!, cmdline.slice(1), { detached: true, stdio: 'ignore' }).unref();
        await eventually(engineUp, 45_000, 500).catch(() => {});
      }
    };
    ctx = await testContext();
    const data = await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/slow'));
    const id = (await new SubmissionService(ctx).accept({ assessmentId: 'smoke-binary', fileName: 'slow.tar.gz', stream: Readable.from([data]) })).grading.id;
    worker = spawnWorker(ctx);
    await eventually(async () => (await ctx!.sandbox.listManaged()).some((c) => c.gradingId === id), 60_000);
    await run('kill', ['-TERM', pid]);
    await eventually(async () => !(await engineUp()), 60_000, 250);
    const failed = await eventually(async () => {
      const g = await ctx!.submissions.getGrading(id);
      return g?.lastError?.includes('docker') ? g : null;
    }, 90_000);
    expect(failed.status).not.toBe('running');
    await restart();
    expect(await engineUp()).toBe(true);
    await eventually(async () => (await ctx!.submissions.getGrading(id))?.status === 'completed', 240_000, 1_000);
    expect(await ctx.reports.countForGrading(id)).toBe(1);
    const g = (await ctx.submissions.getGrading(id))!;
    expect(g.attempts).toBeGreaterThanOrEqual(2);
    recordCase(
      18,
      'stop the Docker engine mid-job',
      `grading failed visibly ("${failed.lastError?.slice(0, 80)}"), was retried (${g.attempts} attempts) and completed once the engine was back`,
    );
  });
});
