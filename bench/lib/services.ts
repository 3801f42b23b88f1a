import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { loadConfig, type Config } from '../../services/config.ts';
import { migrate } from '../../services/db/migrate.ts';
import { createPool, type Db } from '../../services/db/pool.ts';
import { throwawayDatabase } from '../../tests/support/throwaway-database.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

/**
 * An isolated copy of the service for the benchmark: a throwaway database on the configured
 * Postgres server, its own queue prefix on the configured Redis, its own storage folder, and the
 * API and workers as separate OS processes, as in production. Loopback only.
 */
export class BenchServices {
  readonly config: Config;
  readonly db: Db;
  private readonly children = new Set<ChildProcess>();

  private constructor(
    config: Config,
    private readonly dropDatabase: () => Promise<void>,
    private readonly dataDir: string,
  ) {
    this.config = config;
    this.db = createPool(config.DATABASE_URL);
  }

  static async start(overrides: Record<string, string> = {}): Promise<BenchServices> {
    const base = loadConfig(process.env);
    const database = await throwawayDatabase(base.DATABASE_URL);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-services-'));
    const config = loadConfig(process.env, {
      DATABASE_URL: database.url,
      QUEUE_PREFIX: `bench-${crypto.randomBytes(4).toString('hex')}`,
      DATA_DIR: dataDir,
      DATASET_CACHE_DIR: path.join(ROOT, '.data', 'datasets'),
      ASSESSMENTS_DIR: path.join(ROOT, 'assessments'),
      ADMIN_API_KEY: BENCH_ADMIN_KEY,
      HOST: '127.0.0.1',
      PORT: await freePort(),
      LOG_LEVEL: 'warn',
      ...overrides,
    });
    const s = new BenchServices(config, database.drop, dataDir);
    await migrate(s.db);
    return s;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.config.PORT}`;
  }

  /** Environment of the API and worker processes: this benchmark's database, queue and storage. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const c = this.config;
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'development',
      DATABASE_URL: c.DATABASE_URL,
      REDIS_URL: c.REDIS_URL,
      ...(c.DOCKER_HOST ? { DOCKER_HOST: c.DOCKER_HOST } : {}),
      QUEUE_PREFIX: c.QUEUE_PREFIX,
      DATA_DIR: c.DATA_DIR,
      DATASET_CACHE_DIR: c.DATASET_CACHE_DIR ?? '',
      ASSESSMENTS_DIR: c.ASSESSMENTS_DIR,
      ADMIN_API_KEY: c.ADMIN_API_KEY,
      RUNNER_IMAGE: c.RUNNER_IMAGE,
      HOST: c.HOST,
      PORT: String(c.PORT),
      LOG_LEVEL: c.LOG_LEVEL,
      UPLOAD_RATE_PER_IP: String(c.UPLOAD_RATE_PER_IP),
      UPLOAD_MAX_BYTES: String(c.UPLOAD_MAX_BYTES),
      UPLOAD_MAX_UNCOMPRESSED_BYTES: String(c.UPLOAD_MAX_UNCOMPRESSED_BYTES),
      ...extra,
    };
  }

  /**
   * `services/api/server.ts` in its own process; resolves once /health answers. With `cpuProfileDir`
   * the process writes a V8 CPU profile there when it stops.
   */
  async startApi(opts: { cpuProfileDir?: string; env?: Record<string, string>; onStdout?: (stdout: Readable) => void; readyTimeoutS?: number } = {}): Promise<ChildProcess> {
    const flags = opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [];
    const child = this.spawnNode('services/api/server.ts', this.env(opts.env), flags, !!opts.onStdout);
    if (opts.onStdout) opts.onStdout(child.stdout!);
    // Readiness: /health answers (bounded: 15 s unless told, tries 250 ms apart).
    for (let i = 0; i < (opts.readyTimeoutS ?? 15) * 4; i++) {
      if (child.exitCode !== null) throw new Error(`the API process exited (code ${child.exitCode})`);
      const ok = await fetch(`${this.baseUrl}/health`).then(
        (r) => r.status < 500,
        () => false,
      );
      if (ok) return child;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the API did not answer /health within ${opts.readyTimeoutS ?? 15} s`);
  }

  /** `workers/grading-worker.ts` in its own process, with the given concurrency. */
  startWorker(concurrency: number): ChildProcess {
    return this.spawnNode('workers/grading-worker.ts', this.env({ WORKER_CONCURRENCY: String(concurrency) }));
  }

  private spawnNode(script: string, env: NodeJS.ProcessEnv, flags: string[] = [], stdout = false): ChildProcess {
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', script], { cwd: ROOT, env, stdio: ['ignore', stdout ? 'pipe' : 'ignore', 'pipe'] });
    let tail = '';
    child.stderr!.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
      if (process.env.BENCH_VERBOSE) process.stderr.write(d);
    });
    child.once('exit', (code, signal) => {
      this.children.delete(child);
      if (code && code !== 0 && !signal) process.stderr.write(`[bench] ${script} exited with code ${code}: ${tail}\n`);
    });
    this.children.add(child);
    return child;
  }

  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stop(c)));
    await this.db.end();
    const { Queue } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const redis = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    for (const name of ['grading', 'regrade', 'webhook']) {
      const q = new Queue(name, { connection: redis, prefix: this.config.QUEUE_PREFIX });
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    // Rate-limit counters and anything else under the prefix.
    const keys = await redis.keys(`${this.config.QUEUE_PREFIX}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await this.dropDatabase();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** POSTs an archive file as multipart/form-data, streamed from disk (never held in memory). */
export async function uploadArchive(baseUrl: string, assessmentId: string, file: string): Promise<{ status: number; body: { submissionId?: string; gradingId?: string } }> {
  const boundary = `----bench${crypto.randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="archive"; filename="${path.basename(file)}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = fs.statSync(file).size;
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}/v1/assessments/${assessmentId}/submissions`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${BENCH_ADMIN_KEY}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + size + tail.length),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: {} });
          }
        });
      },
    );
    req.on('error', reject);
    req.write(head);
    const body = fs.createReadStream(file);
    body.on('error', reject);
    body.on('end', () => req.end(tail));
    body.pipe(req, { end: false });
  });
}
