import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { loadConfig, type Config } from '../../services/config.ts';
import { createContext, type Context } from '../../services/context.ts';
import { DockerSandbox } from '../../services/sandbox/docker-sandbox.ts';
import { migrate } from '../../services/db/migrate.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const ADMIN = { authorization: 'Bearer test-admin-key-0123456789' };

/** The integration suites look at the containers themselves (listManaged, engine events). */
export type DockerContext = Context & { sandbox: DockerSandbox };

/**
 * A context on the real services, isolated per test file: its own queue prefix and its own blob
 * storage folder; datasets are shared (they are immutable and cached by version).
 */
export async function testContext(overrides: Partial<Record<keyof Config, unknown>> = {}): Promise<DockerContext> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-test-'));
  const config = loadConfig(process.env, {
    QUEUE_PREFIX: `test-${crypto.randomBytes(4).toString('hex')}`,
    DATA_DIR: dataDir,
    DATASET_CACHE_DIR: path.join(ROOT, '.data', 'datasets'),
    ASSESSMENTS_DIR: path.join(ROOT, 'assessments'),
    ADMIN_API_KEY: 'test-admin-key-0123456789',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  const created = createContext(config, 'test');
  if (!(created.sandbox instanceof DockerSandbox)) throw new Error(`these suites need SANDBOX=docker, not ${config.SANDBOX}`);
  const ctx = created as DockerContext;
  await migrate(ctx.db);
  const close = ctx.close.bind(ctx);
  ctx.close = async () => {
    await ctx.queue.queue.obliterate({ force: true }).catch(() => {});
    await close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return ctx;
}

/** Files under a folder, relative, recursively (to assert nothing was left behind). */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name);
      if (d.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out;
}

/** Waits for a condition by subscribing-free polling with a deadline (used on DB state only). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}
