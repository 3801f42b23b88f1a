import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../services/config.ts';
import type { Context } from '../../services/context.ts';
import { buildApp } from '../../services/api/app.ts';
import { startGradingWorker } from '../../workers/grading-worker.ts';
import { ROOT, testContext } from '../support/context.ts';

export const SCREENSHOTS = path.join(ROOT, 'artifacts', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export interface BrowserEnv {
  ctx: Context;
  app: FastifyInstance;
  baseUrl: string;
  browser: Browser;
  /** A fresh browser profile per call: its own cookies, optionally without JavaScript. */
  newContext(opts?: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number } }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * A whole service for browser tests: its own Postgres database (rubric versions pushed here
 * cannot leak into other suites), its own queue prefix, the app listening on a random port, an
 * in-process grading worker, and Debian's Chromium driven by playwright-core.
 */
export async function startBrowserEnv(overrides: Partial<Record<keyof Config, unknown>> = {}, opts: { worker?: boolean } = {}): Promise<BrowserEnv> {
  const baseDbUrl = process.env.DATABASE_URL ?? 'postgres://grader@127.0.0.1:55432/grader_test';
  const dbName = `grader_browser_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseDbUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = new URL(baseDbUrl);
  dbUrl.pathname = `/${dbName}`;

  const ctx = await testContext({ DATABASE_URL: dbUrl.toString(), PHASE_TIMEOUT_CAP_S: 20, SANDBOX_MEMORY_BYTES: 512 * 1024 * 1024, ...overrides });
  const app = await buildApp(ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no listening address');
  const baseUrl = `http://127.0.0.1:${addr.port}`;
  const worker = opts.worker === false ? null : await startGradingWorker(ctx, { concurrency: 1 });
  // launch() gives every run a fresh temporary profile (user-data-dir) and removes it on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const contexts: BrowserContext[] = [];
  return {
    ctx,
    app,
    baseUrl,
    browser,
    async newContext(o = {}) {
      const c = await browser.newContext({ baseURL: baseUrl, javaScriptEnabled: o.javaScriptEnabled ?? true, viewport: o.viewport ?? { width: 1280, height: 900 } });
      contexts.push(c);
      return c;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await worker?.close();
      await app.close();
      await ctx.close();
      const drop = new pg.Client({ connectionString: baseDbUrl });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await drop.end();
    },
  };
}

/** Writes a buffer to a temp file with the given name (file inputs take paths). */
export function tempFile(name: string, data: Buffer | string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-upload-'));
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
}

/**
 * Text whose colour contrast against its background is below WCAG AA (4.5:1, or 3:1 for large
 * text). SVG chart labels are left out: they are checked by their own fixed colours.
 */
export async function contrastProblems(page: import('playwright-core').Page): Promise<{ text: string; ratio: number }[]> {
  return page.evaluate(() => {
    const parse = (c: string) => {
      const p = (/rgba?\(([^)]+)\)/.exec(c)?.[1] ?? '0,0,0,0').split(',').map((v) => Number(v.trim()));
      return { rgb: p.slice(0, 3), a: p[3] ?? 1 };
    };
    const lum = (rgb: number[]) => {
      const [r, g, b] = rgb.map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = (start: Element | null) => {
      for (let el = start; el; el = el.parentElement) {
        const c = parse(getComputedStyle(el).backgroundColor);
        if (c.a > 0.5) return c.rgb;
      }
      return [255, 255, 255];
    };
    const out: { text: string; ratio: number }[] = [];
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      if (el.closest('svg') || el.closest('[hidden]')) continue;
      const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
      if (!own) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden') continue;
      const fg = lum(parse(st.color).rgb);
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push({ text: el.textContent!.trim().slice(0, 60), ratio: Math.round(ratio * 100) / 100 });
    }
    return out;
  });
}

/** Signs in on the reviewer pages with `key` through the sign-in form, in a new browser profile; answers the page, left on /review. */
export async function signInWith(env: BrowserEnv, key: string): Promise<Page> {
  const context = await env.newContext();
  const page = await context.newPage();
  await page.goto('/review/sign-in');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/review$/);
  return page;
}

/** A browser profile signed in on the reviewer pages with a new reviewer key; answers the profile and the key. */
export async function signedInReviewer(env: BrowserEnv, name = 'Rita Reviewer'): Promise<{ context: BrowserContext; key: string }> {
  const key = (await env.app.apiKeys.create({ name, role: 'reviewer', assessmentIds: null })).key;
  const page = await signInWith(env, key);
  const context = page.context();
  await page.close();
  return { context, key };
}
