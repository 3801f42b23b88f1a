import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './context.ts';

const run = promisify(execFile);

/**
 * Throwaway Redis and Postgres servers for fault tests: each test kills or stops its own server,
 * never the ones the rest of the suite shares.
 */
export class DedicatedRedis {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-'));
  constructor(
    readonly port: number,
    private readonly policy = 'noeviction',
  ) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        this.policy,
        '--save',
        '',
        '--daemonize',
        'no',
      ],
      {
        stdio: 'ignore',
        detached: true,
      },
    ).unref();
    await eventually(async () => (await run('redis-cli', ['-p', String(this.port), 'ping'])).stdout.includes('PONG'), 10_000, 100);
  }
  async kill(): Promise<void> {
    await run('pkill', ['-9', '-f', `redis-server 127.0.0.1:${this.port}`]).catch(() => {});
    await eventually(
      async () =>
        !(await run('redis-cli', ['-p', String(this.port), 'ping']).then(
          () => true,
          () => false,
        )),
      10_000,
      100,
    );
  }
  async destroy(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class DedicatedPostgres {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-'));
  private readonly bin = '/usr/lib/postgresql/15/bin';
  constructor(readonly port: number) {
    fs.chmodSync(this.dir, 0o777);
  }
  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  private pg(args: string[]) {
    return run('runuser', ['-u', 'postgres', '--', ...args]);
  }
  async init(): Promise<void> {
    await this.pg([`${this.bin}/initdb`, '-D', `${this.dir}/data`, '-A', 'trust', '-U', 'postgres']);
  }
  async start(): Promise<void> {
    await this.pg([`${this.bin}/pg_ctl`, '-D', `${this.dir}/data`, '-w', '-l', `${this.dir}/log`, '-o', `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1`, 'start']);
  }
  async stop(): Promise<void> {
    await this.pg([`${this.bin}/pg_ctl`, '-D', `${this.dir}/data`, '-m', 'immediate', 'stop']).catch(() => {});
  }
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
