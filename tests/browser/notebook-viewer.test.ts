import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { makeTarGz } from '../support/archives.ts';
import { ADMIN, ROOT, eventually } from '../support/context.ts';
import { multipart } from '../support/multipart.ts';
import { SCREENSHOTS, startBrowserEnv, type BrowserEnv } from './support.ts';

/**
 * Notebook submissions in the reviewer's code viewer and the compare page's code diff: one real
 * grading of a notebook (solution.ipynb, the smoke solution split into cells, with stored outputs a
 * hostile candidate could leave), and a second submission that is a copy of it with other code.
 */
const GOOD = fs.readFileSync(path.join(ROOT, 'tests/fixtures/submissions/smoke/good/solution.py'), 'utf8');
/** A lint fixture with two findings at cell 5, lines 1 and 2. */
const EXPLORE = fs.readFileSync(path.join(ROOT, 'tests/fixtures/lint/notebook_stats_before_split.ipynb'), 'utf8');
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const code = (source: string, outputs: unknown[] = []) => ({ cell_type: 'code', execution_count: outputs.length ? 3 : null, metadata: {}, outputs, source });
const markdown = (source: string) => ({ cell_type: 'markdown', metadata: {}, source });

/** The smoke solution as a notebook: a Markdown cell, one code cell per top-level block, a cell with hostile outputs, a cell with a very long line. */
function solutionNotebook(base: string, solution: string): string {
  const hostile = [
    {
      output_type: 'display_data',
      metadata: {},
      data: {
        'text/html': [`<script>window.__pwned = 1</script><img src="${base}/evil-img" onerror="window.__pwned = 2; alert(2)">`, `<iframe src="${base}/evil-frame"></iframe>`],
        'text/plain': ['<IPython.core.display.HTML object>'],
      },
    },
    { output_type: 'display_data', metadata: {}, data: { 'application/javascript': `fetch("${base}/evil-js"); alert(3)`, 'image/png': PNG, 'text/plain': '<Figure size 1x1>' } },
    { output_type: 'display_data', metadata: {}, data: { 'image/svg+xml': `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(4)"><image href="${base}/evil-svg"/></svg>` } },
    { output_type: 'stream', name: 'stdout', text: [`<img src="${base}/evil-stream" onerror="alert(5)">\n`] },
    { output_type: 'error', ename: 'ValueError', evalue: '</pre><script>alert(6)</script>', traceback: ['\u001b[0;31mValueError\u001b[0m: </pre><b>x</b>'] },
  ];
  const blocks = solution.split(/\n\n\n(?=def )/);
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { language_info: { name: 'python' } },
    cells: [
      markdown('# Smoke solution\n\nA **clean** pipeline. <script>window.__pwned = 7</script> ![remote](https://tracker.example/p.png)'),
      ...blocks.map((b) => code(`${b.trim()}\n`)),
      code('_shown = "what the candidate displayed"', hostile),
      code(`LONG = "${'x'.repeat(6000)}"`),
    ],
  });
}

let env: BrowserEnv;
let reviewer: BrowserContext;
let subId: string;
let archive: Buffer;

beforeAll(async () => {
  env = await startBrowserEnv();
  archive = await makeTarGz([
    { name: 'solution.ipynb', data: solutionNotebook(env.baseUrl, GOOD) },
    { name: 'explore.ipynb', data: EXPLORE },
    { name: 'broken.ipynb', data: '{"cells": [{"cell_type": "code", "source": ' },
  ]);
  const body = multipart({ name: 'nora.tar.gz', data: archive }, { candidate: 'Nora Notebook' });
  const res = await env.app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/submissions', payload: body.payload, headers: { ...body.headers, ...ADMIN } });
  expect(res.statusCode).toBe(202);
  subId = res.json().submissionId as string;
  // Done when the report is there; if the grading failed, the timeout names its error.
  await eventually(
    async () => {
      const g = await env.ctx.submissions.latestGrading(subId);
      if (g?.status === 'failed') throw new Error(`the notebook's grading failed: ${g.lastError}`);
      return (await env.ctx.reports.latest(subId)) !== null;
    },
    270_000,
    500,
  );
  // Signed in by posting the form (the session cookie lands in the profile); the form itself is tested elsewhere.
  reviewer = await env.newContext();
  const signIn = await reviewer.request.post('/review/sign-in', { form: { api_key: ADMIN.authorization.replace('Bearer ', '') }, headers: { origin: env.baseUrl }, maxRedirects: 0 });
  expect(signIn.status()).toBe(303);
}, 330_000);

afterAll(async () => {
  await env?.close();
});

/** Dialogs opened and requests made that a hostile output would cause. */
function watch(page: Page): { dialogs: string[]; evil: string[] } {
  const seen = { dialogs: [] as string[], evil: [] as string[] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (/evil|tracker\.example/.test(r.url())) seen.evil.push(r.url());
  });
  return seen;
}

const horizontalOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('notebook in the code viewer', () => {
  it('evidence at explore.ipynb#cell-5 opens the cell at its line, marked', async () => {
    const page = await reviewer.newPage();
    const report = await page.goto(`/review/submissions/${subId}`);
    expect(report!.status()).toBe(200);
    const hrefs = await page.locator('a[data-code-link]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs, `links: ${JSON.stringify(hrefs)} / ${(await page.locator('main').textContent())!.slice(0, 3000)}`).toContainEqual(expect.stringContaining('explore.ipynb#cell-5-L'));
    const link = page.locator('a[data-code-link][href*="explore.ipynb#cell-5-L"]').first();
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/\/code\?file=explore\.ipynb#cell-5-L[12]$/);
    const line = href.split('-L')[1]!;
    // The reviewer reads the place, not the anchor.
    expect(await link.textContent()).toBe(`explore.ipynb, cell 5, line ${line}`);
    await link.click();
    await page.waitForURL(/\/code\?file=explore\.ipynb#cell-5-L[12]$/);
    const row = page.locator(`tr#cell-5-L${line}`);
    expect(await row.getAttribute('class')).toContain('marked');
    expect(await row.evaluate((el) => el.matches(':target'))).toBe(true);
    expect(await row.locator('td.src').textContent()).toMatch(line === '1' ? /median/ : /mean\(\)/);
    expect(await row.evaluate((el) => el.getBoundingClientRect().top >= 0 && el.getBoundingClientRect().bottom <= window.innerHeight)).toBe(true);
    // The cell is one of six, numbered as the harness numbers them, and says how many lines are marked.
    expect(await page.locator('section[data-cell]').count()).toBe(6);
    expect(await page.locator('section#cell-5 .nb-head').textContent()).toMatch(/Cell 5 · code.*2 marked line\(s\)/);
    expect(await page.locator('#files tr[data-file="explore.ipynb"] td').last().textContent()).toBe('2');
    await page.close();
  });

  it('renders the graded notebook as cells with every stored output inert; a malformed notebook gets its reason', async () => {
    const page = await reviewer.newPage();
    const seen = watch(page);
    const res = await page.goto(`/review/submissions/${subId}/code`);
    expect(await page.locator('h1').textContent()).toBe('solution.ipynb');
    const csp = res!.headers()['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("img-src 'self' data:");
    expect(csp).not.toContain('unsafe-inline');
    expect(await page.evaluate(() => document.querySelectorAll('script:not([src])').length)).toBe(0);

    const cells = page.locator('section[data-cell]');
    const count = await cells.count();
    expect(count).toBeGreaterThanOrEqual(5);
    expect(await page.locator('section#cell-1.nb-markdown h2').textContent()).toBe('Smoke solution');
    expect(await page.locator('section#cell-1 strong').textContent()).toBe('clean');
    expect(await page.locator('section#cell-2 tr#cell-2-L2 .hljs-keyword').count()).toBeGreaterThan(0);

    const outputs = page.locator(`section#cell-${count - 1} .nb-outputs`);
    expect(await outputs.locator('details[data-output-source="text/html"] pre').textContent()).toContain('<script>window.__pwned = 1</script>');
    expect(await outputs.locator('details[data-output-source="application/javascript"] pre').textContent()).toContain('fetch(');
    expect(await outputs.locator('details[data-output-source="image/svg+xml"] pre').textContent()).toContain('onload="alert(4)"');
    expect(await outputs.textContent()).toContain('ValueError: </pre><script>alert(6)</script>');
    const img = outputs.locator('img[data-output-image]');
    expect(await img.count()).toBe(1);
    expect(await img.getAttribute('src')).toBe(`data:image/png;base64,${PNG}`);
    expect(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(1);
    // Nothing of the candidate's became markup: no script, frame, SVG or other image anywhere in the notebook.
    expect(await page.locator('.nb script, .nb iframe, .nb svg, .nb img:not([data-output-image]), .nb b').count()).toBe(0);
    await page.locator('details[data-output-source="text/html"] summary').click();
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(seen).toEqual({ dialogs: [], evil: [] });

    await page.goto(`/review/submissions/${subId}/code?file=broken.ipynb`);
    expect(await page.locator('[data-notebook-problem]').textContent()).toMatch(/cannot be shown as cells: not JSON/);
    expect(await page.locator('tr#L1 td.src').textContent()).toContain('"cells"');
    await page.close();
  });

  it('does not scroll sideways at 390 px: the long line scrolls inside its cell', async () => {
    const phone = await env.newContext({ viewport: { width: 390, height: 844 } });
    await phone.addCookies(await reviewer.cookies());
    const page = await phone.newPage();
    await page.goto(`/review/submissions/${subId}/code`);
    const last = page.locator('section[data-cell]').last();
    await last.scrollIntoViewIfNeeded();
    expect(await horizontalOverflow(page)).toBe(0);
    const box = await last.locator('.code-scroll').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(box.scroll).toBeGreaterThan(box.client * 10);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'notebook-viewer-390.png'), fullPage: false });
  });
});

describe('compare: code diff', () => {
  it('shows the shared files line by line, paired under their folders, and stays within 390 px', async () => {
    // A second submission: the same notebook with one changed line, inside a folder, with a helper file.
    const changed = GOOD.replace('class_weight="balanced", max_iter=1000', 'max_iter=200');
    expect(changed).not.toBe(GOOD);
    const other = await makeTarGz([
      { name: 'bo/solution.ipynb', data: solutionNotebook(env.baseUrl, changed) },
      { name: 'bo/explore.ipynb', data: EXPLORE },
      { name: 'bo/helper.py', data: 'def helper():\n    return "<b>not markup</b>"\n' },
    ]);
    const blob = await env.ctx.blobs.put(Readable.from([other]), 10 * 1024 * 1024);
    const boId = crypto.randomUUID();
    await env.ctx.db.query(
      `INSERT INTO submissions (id, assessment_id, archive_sha256, archive_bytes, archive_format, file_name, candidate, created_at)
       SELECT $1, assessment_id, $2, $3, archive_format, 'bo.tar.gz', 'Bo Variant', now() FROM submissions WHERE id = $4`,
      [boId, blob.sha256, blob.bytes, subId],
    );
    await env.ctx.db.query(
      `INSERT INTO reports (id, submission_id, grading_id, rubric_id, rubric_version, score, passed, document, created_at)
       SELECT gen_random_uuid(), $1, NULL, rubric_id, rubric_version, score, passed, document, now() FROM reports WHERE submission_id = $2`,
      [boId, subId],
    );

    const page = await reviewer.newPage();
    const seen = watch(page);
    await page.goto(`/review/compare?ids=${subId}&ids=${boId}`);
    const pair = page.locator(`[data-diff-pair="${boId}"]`);
    expect(await pair.locator('h3').textContent()).toBe('Nora Notebook → Bo Variant');
    const solution = pair.locator('li[data-diff-status="changed"]');
    expect(await solution.count()).toBe(1);
    expect(await solution.locator('summary code').textContent()).toBe('solution.ipynb');
    expect(await solution.locator('.diff-stat').textContent()).toBe('+1 −1');
    const del = solution.locator('tr[data-diff-row="del"]');
    const add = solution.locator('tr[data-diff-row="add"]');
    expect(await del.locator('td.src').textContent()).toContain('class_weight="balanced", max_iter=1000');
    expect(await add.locator('td.src').textContent()).toContain('LogisticRegression(max_iter=200)');
    // Both sides' line numbers: the same line of the cell-joined text, left and right.
    const [delOld, delNew] = await del.locator('td.ln').allTextContents();
    const [addOld, addNew] = await add.locator('td.ln').allTextContents();
    expect([delNew, addOld]).toEqual(['', '']);
    expect(delOld).toMatch(/^\d+$/);
    expect(addNew).toBe(delOld);
    expect(await pair.locator('li[data-diff-status="same"] code').allTextContents()).toEqual(['explore.ipynb']);
    expect(await pair.locator('[data-only-first]').textContent()).toContain('broken.ipynb');
    expect(await pair.locator('[data-only-second]').textContent()).toContain('helper.py');
    expect(await page.locator('#code-diff script, #code-diff img, #code-diff b').count()).toBe(0);
    expect(seen).toEqual({ dialogs: [], evil: [] });
    await page.close();

    const phone = await env.newContext({ viewport: { width: 390, height: 844 } });
    await phone.addCookies(await reviewer.cookies());
    const small = await phone.newPage();
    await small.goto(`/review/compare?ids=${subId}&ids=${boId}`);
    await small.locator('#code-diff').scrollIntoViewIfNeeded();
    expect(await horizontalOverflow(small)).toBe(0);
    const box = await small
      .locator('#code-diff .code-scroll')
      .first()
      .evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, right: el.getBoundingClientRect().right }));
    expect(box.scroll).toBeGreaterThan(box.client);
    expect(box.right).toBeLessThanOrEqual(390);
    await small.screenshot({ path: path.join(SCREENSHOTS, 'compare-diff-390.png'), fullPage: false });
  });
});
