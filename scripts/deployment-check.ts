/**
 * Runs the deployment of docker-compose.yml on this machine as far as it can go without pulling
 * images: its API and two workers, read from the compose file (image, command, environment, user,
 * read-only root, tmpfs, group, volumes, health checks), as containers of the service image built
 * offline by scripts/build-service-image.sh, then grades submissions end to end through the API.
 *
 * Where it departs from the file, and why: Postgres and Redis are this machine's (started by
 * scripts/lib.sh; their images cannot be pulled here), reached over the host network, so the three
 * containers use the host network with DATABASE_URL and REDIS_URL pointed there (and the API on
 * 127.0.0.1:3000 rather than every interface); the database is a throwaway one and Redis a database
 * index of its own, both removed at the end; each worker's data folder is a throwaway one.
 *
 *   npx tsx scripts/deployment-check.ts     # after scripts/lib.sh's setup_all and both image builds
 *
 * Asserted: the API has no Docker socket and is healthy without one; both workers become healthy;
 * every upload is graded once, by a worker container, with a report whose check statuses are the
 * reference set's (tests/fixtures/submissions/churn/expected.json). Exit code 1 otherwise.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { parse } from 'yaml';
import { z } from 'zod';
import { tarGzOfFolder } from '../tests/support/archives.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const PG_ADMIN = process.env.DEPLOY_CHECK_PG ?? 'postgres://grader@127.0.0.1:55432/postgres';
const REDIS = process.env.DEPLOY_CHECK_REDIS ?? 'redis://127.0.0.1:56379/7';
const SUBMISSIONS = ['exemplary', 'leak-preprocessing', 'serving-slow', 'imbalance-accuracy'];
const expected: Record<string, { checks: Record<string, string> }> = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/submissions/churn/expected.json'), 'utf8'));
const log = (msg: string) => console.error(`[deployment-check ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const healthSchema = z.object({ test: z.array(z.string()).min(2), interval: z.string(), timeout: z.string(), retries: z.number().int() });
const serviceSchema = z.object({
  image: z.string(),
  command: z.array(z.string()),
  environment: z.record(z.string(), z.union([z.string(), z.number()])),
  read_only: z.boolean().optional(),
  tmpfs: z.array(z.string()).optional(),
  group_add: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: healthSchema,
});
type Service = z.infer<typeof serviceSchema>;

/** Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, from `vars`. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_]+)(?:(:-|:\?)([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string | undefined) => {
    const value = vars[name];
    if (value !== undefined && value !== '') return value;
    if (op === ':-') return arg ?? '';
    throw new Error(`docker-compose.yml needs ${name}${op === ':?' ? `: ${arg}` : ''}`);
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** docker run arguments for one compose service, on the host network, with `env` overriding its environment. */
function dockerRunArgs(name: string, s: Service, vars: Record<string, string>, env: Record<string, string>): string[] {
  const args = ['run', '-d', '--name', name, '--network', 'host', '--label', 'grader.deployment-check=1'];
  if (s.read_only) args.push('--read-only');
  for (const t of s.tmpfs ?? []) args.push('--tmpfs', t);
  for (const g of s.group_add ?? []) args.push('--group-add', interpolate(g, vars));
  for (const v of s.volumes ?? []) args.push('-v', interpolate(v, vars));
  const environment = { ...Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, interpolate(String(v), vars)])), ...env };
  for (const [k, v] of Object.entries(environment)) args.push('-e', `${k}=${v}`);
  const [kind, ...test] = s.healthcheck.test;
  if (kind !== 'CMD') throw new Error(`${name}: only CMD health checks are translated, not ${kind}`);
  args.push(
    '--health-cmd',
    test.map(shellQuote).join(' '),
    '--health-interval',
    s.healthcheck.interval,
    '--health-timeout',
    s.healthcheck.timeout,
    '--health-retries',
    String(s.healthcheck.retries),
  );
  args.push(interpolate(s.image, vars), ...s.command);
  return args;
}

const docker = async (...args: string[]) => (await run('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

/** A probe's failure that waiting longer cannot mend (a container that exited). */
class Fatal extends Error {}

/** Polls `probe` every second until it gives a value; a failed probe counts as "not yet" unless it throws a Fatal. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe().catch((err) => {
      if (err instanceof Fatal) throw err;
      return null;
    });
    if (got !== null) return got;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main(): Promise<number> {
  const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, unknown> };
  const services = {
    api: serviceSchema.parse(compose.services.api),
    'worker-1': serviceSchema.parse(compose.services['worker-1']),
    'worker-2': serviceSchema.parse(compose.services['worker-2']),
  };

  // The compose file publishes the API on 3000 and its health check asks there: so does this run.
  const port = '3000';
  if (
    await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    )
  )
    throw new Error(`port ${port} is taken on this machine: stop what listens there`);
  const runnerImage = (await run('bash', [path.join(ROOT, 'scripts/build-runner-image.sh')], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split('\n').at(-1)!;
  const serviceImage = (await run('bash', [path.join(ROOT, 'scripts/build-service-image.sh')], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split('\n').at(-1)!;
  log(`images: ${serviceImage}, ${runnerImage}`);

  const db = `grader_deploy_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const databaseUrl = Object.assign(new URL(PG_ADMIN), { pathname: `/${db}` }).toString();
  const dataRoot = fs.mkdtempSync(path.join('/var/tmp', 'grader-deploy-'));
  fs.chmodSync(dataRoot, 0o755);
  const key = crypto.randomBytes(24).toString('hex');
  const vars: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PWD: ROOT,
    ADMIN_API_KEY: key,
    INVITE_SECRET: crypto.randomBytes(24).toString('hex'),
    DOCKER_GID: String(fs.statSync('/var/run/docker.sock').gid),
  };
  const prefix = `deploy-${crypto.randomBytes(3).toString('hex')}`;
  const names = Object.keys(services).map((n) => `${prefix}-${n}`);
  const problems: string[] = [];
  try {
    const common = { DATABASE_URL: databaseUrl, REDIS_URL: REDIS, RUNNER_IMAGE: runnerImage };
    // Workers: each its own data folder, at the same path inside as outside (the sandbox bind-mounts from it).
    for (const w of ['worker-1', 'worker-2'] as const) {
      const s = services[w];
      const dir = path.join(dataRoot, w);
      fs.mkdirSync(dir);
      fs.chownSync(dir, 65534, 65534);
      const volumes = (s.volumes ?? []).map((v) => (v.startsWith(`/var/lib/grader/${w}:`) ? `${dir}:${dir}` : v));
      services[w] = { ...s, volumes, environment: { ...s.environment, DATA_DIR: dir } };
    }
    if ((services.api.volumes ?? []).some((v) => v.includes('docker.sock'))) problems.push('the API service mounts the Docker socket');
    await docker(...dockerRunArgs(names[0]!, services.api, vars, { ...common, HOST: '127.0.0.1' }));
    await docker(...dockerRunArgs(names[1]!, services['worker-1'], vars, common));
    await docker(...dockerRunArgs(names[2]!, services['worker-2'], vars, common));
    const health = (name: string) => docker('inspect', '-f', '{{.State.Health.Status}} {{.State.Status}}', name);
    for (const name of names) {
      // Its last log lines are printed with the problems (below).
      await waitFor(`${name} to be healthy`, 180_000, async () => {
        const h = await health(name);
        if (h.endsWith('exited')) throw new Fatal(`${name} exited`);
        return h.startsWith('healthy') ? h : null;
      });
      log(`${name}: healthy`);
    }
    const mounts = await docker('inspect', '-f', '{{range .Mounts}}{{.Source}} {{end}}', names[0]!);
    if (mounts.includes('docker.sock')) problems.push(`the API container has the Docker socket: ${mounts}`);

    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${key}` };
    const ids: { name: string; id: string }[] = [];
    for (const name of SUBMISSIONS) {
      const form = new FormData();
      const bytes = await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/churn', name));
      form.append('archive', new Blob([new Uint8Array(bytes)]), `${name}.tar.gz`);
      const res = await fetch(`${base}/v1/assessments/churn-messy-csv/submissions`, { method: 'POST', body: form, headers: auth });
      const body = (await res.json()) as { submissionId?: string };
      if (res.status !== 202 || !body.submissionId) throw new Error(`upload of ${name}: ${res.status} ${JSON.stringify(body)}`);
      ids.push({ name, id: body.submissionId });
    }
    log(`${ids.length} uploads accepted; grading`);
    const t0 = Date.now();
    for (const { name, id } of ids) {
      const status = await waitFor(`${name} to be graded`, 900_000, async () => {
        const s = (await (await fetch(`${base}/v1/submissions/${id}`, { headers: auth })).json()) as { status: string; phase: string };
        return s.status === 'completed' || s.status === 'failed' ? s.status : null;
      });
      if (status !== 'completed') {
        problems.push(`${name}: grading ${status}`);
        continue;
      }
      const report = (await (await fetch(`${base}/v1/submissions/${id}/report`, { headers: auth })).json()) as {
        score: number;
        checks: { id: string; status: string }[];
        provenance: { workerHost: string; runnerImage: string };
      };
      log(`${name}: score ${report.score}, graded by ${report.provenance.workerHost} with ${report.provenance.runnerImage} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      // The same verdicts as the reference set's (tests/fixtures/submissions/churn/expected.json).
      const got = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
      const differ = Object.entries(expected[name]!.checks).filter(([check, status]) => got[check] !== status);
      if (differ.length) problems.push(`${name}: ${differ.map(([check, status]) => `${check} ${got[check]} (expected ${status})`).join(', ')}`);
    }
    const graded = await pgCount(databaseUrl, "SELECT count(*) AS n FROM gradings WHERE status = 'completed'");
    const reports = await pgCount(databaseUrl, 'SELECT count(*) AS n FROM reports');
    if (graded !== SUBMISSIONS.length || reports !== SUBMISSIONS.length) problems.push(`${graded} completed gradings and ${reports} reports for ${SUBMISSIONS.length} uploads`);
    const workerLogs = await Promise.all(names.slice(1).map((n) => run('docker', ['logs', n]).then((r) => r.stdout + r.stderr)));
    // Every grading was done by one of the two worker containers (their logs say so; the API grades nothing).
    const perWorker = workerLogs.map((l) => (l.match(/"msg":"grading finished"/g) ?? []).length);
    log(`gradings finished per worker container: ${perWorker.join(', ')}`);
    if (perWorker.reduce((a, b) => a + b, 0) !== SUBMISSIONS.length)
      problems.push(`the worker containers logged ${perWorker.join(' + ')} finished gradings for ${SUBMISSIONS.length} uploads`);
  } catch (err) {
    problems.push((err as Error).message);
  } finally {
    if (problems.length)
      for (const n of names) {
        const out = await run('docker', ['logs', '--tail', '15', n]).then(
          (r) => r.stdout + r.stderr,
          () => '',
        );
        log(`last lines of ${n}:\n${out}`);
      }
    await docker('rm', '-f', ...names).catch(() => '');
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    await admin.end();
    await run('redis-cli', ['-u', REDIS, 'FLUSHDB']).catch(() => {});
    fs.rmSync(dataRoot, { recursive: true, force: true });
  }
  for (const p of problems) log(`PROBLEM: ${p}`);
  log(problems.length ? 'failed' : `passed: API (no Docker socket) + 2 workers from docker-compose.yml graded ${SUBMISSIONS.length} submissions`);
  return problems.length ? 1 : 0;
}

async function pgCount(url: string, sql: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>(sql)).rows[0]!.n);
  } finally {
    await c.end();
  }
}

process.exitCode = await main();
