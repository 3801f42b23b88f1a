import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeTarGz } from '../support/archives.ts';
import { ADMIN, ROOT } from '../support/context.ts';
import { SCREENSHOTS, startBrowserEnv, type BrowserEnv } from './support.ts';

/** Every payload sets window.__pwned if it ever runs as markup. */
const SCRIPT = '<script>window.__pwned = 1</script>';
const IMG = '<img src=x onerror="window.__pwned = 2">';
const NOTES = `# My notes ${IMG}

I used a pipeline. ${SCRIPT}

<div onmouseover="window.__pwned = 3">hover me</div>

[a harmless-looking link](javascript:window.__pwned=4) and ![pixel](https://tracker.example/p.gif)
`;
const FILE_NAME = '<svg onload=window.__pwned=5>.tar.gz';
const CANDIDATE = `Eve ${SCRIPT}`;

let env: BrowserEnv;

beforeAll(async () => {
  env = await startBrowserEnv();
});
afterAll(async () => {
  await env?.close();
});

async function expectInert(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  // The only scripts on our pages are our own files.
  const srcs = await page.locator('script').evaluateAll((els) => els.map((e) => e.getAttribute('src')));
  for (const s of srcs) expect(s).toMatch(/^\/static\/[a-z]+\.js\?v=[0-9a-f]+$/);
  expect(await page.locator('main img, main svg[onload], main [onerror], main [onmouseover]').count()).toBe(0);
}

describe('candidate-controlled text is rendered as text', () => {
  it('script tags in the candidate name, file name, NOTES.md and logs never run', async () => {
    const solution = fs
      .readFileSync(path.join(ROOT, 'tests/fixtures/submissions/smoke/good/solution.py'), 'utf8')
      .replace('def train(train_csv):\n', `def train(train_csv):\n    import sys\n    print(${JSON.stringify(SCRIPT)})\n    print(${JSON.stringify(IMG)}, file=sys.stderr)\n`);
    const archive = await makeTarGz([
      { name: 'solution.py', data: solution },
      { name: 'NOTES.md', data: NOTES },
    ]);
    const { token } = (
      await env.app.inject({ method: 'POST', url: '/v1/invites', headers: ADMIN, payload: { assessmentId: 'smoke-binary', candidateName: CANDIDATE, candidateEmail: 'eve@example.com' } })
    ).json();

    const dialogs: string[] = [];
    const candidate = await (await env.newContext()).newPage();
    candidate.on('dialog', (d) => void dialogs.push(d.message()));
    await candidate.goto(`/i/${token}`);
    expect(await candidate.locator('.page-head .sub').textContent()).toContain(`Hello ${CANDIDATE}.`);
    await expectInert(candidate);
    await candidate.setInputFiles('input[type=file]', { name: FILE_NAME, mimeType: 'application/gzip', buffer: archive });
    await candidate.getByRole('button', { name: 'Upload and start grading' }).click();
    await candidate.waitForURL(/\/submissions\/[0-9a-f-]{36}$/);
    const subId = candidate.url().split('/').pop()!;
    await candidate.getByRole('heading', { name: 'Your submission has been graded' }).waitFor({ timeout: 120_000 });
    expect(await candidate.locator('main strong').first().textContent()).toBe(FILE_NAME);
    await expectInert(candidate);

    const reviewer = await (await env.newContext()).newPage();
    reviewer.on('dialog', (d) => void dialogs.push(d.message()));
    await reviewer.goto('/review/sign-in');
    await reviewer.getByLabel('API key').fill(ADMIN.authorization.replace('Bearer ', ''));
    await reviewer.getByRole('button', { name: 'Sign in' }).click();
    await reviewer.waitForURL(/\/review$/);

    await reviewer.goto('/review/assessments/smoke-binary');
    const row = reviewer.locator(`tr[data-submission="${subId}"]`);
    // Columns: compare checkbox, candidate, submitted (time, then the file name), verdict, ...
    expect(await row.locator('td').nth(1).textContent()).toContain(CANDIDATE);
    expect(await row.locator('td').nth(2).textContent()).toContain(FILE_NAME);
    expect(await row.locator('td').nth(0).locator('input').getAttribute('aria-label')).toBe(`Compare ${CANDIDATE}`);
    await expectInert(reviewer);

    await reviewer.goto(`/review/submissions/${subId}`);
    expect(await reviewer.getByRole('heading', { level: 1 }).textContent()).toBe(CANDIDATE);
    expect(await reviewer.locator('[data-file-name]').textContent()).toBe(FILE_NAME);
    // NOTES.md: Markdown is rendered, raw HTML is shown as text, unsafe links are dropped.
    const notes = reviewer.locator('[data-notes]');
    expect(await notes.locator('h2').textContent()).toBe(`My notes ${IMG}`);
    expect(await notes.textContent()).toContain(SCRIPT);
    expect(await notes.textContent()).toContain('<div onmouseover="window.__pwned = 3">');
    expect(await notes.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(['https://tracker.example/p.gif']);
    expect(await notes.textContent()).toContain('a harmless-looking link');
    // Logs: the candidate's prints, as text.
    const train = reviewer.locator('details.log[data-log="train/train"]');
    await train.locator('summary').click();
    expect(await train.locator('pre').first().textContent()).toContain(SCRIPT);
    expect(await train.textContent()).toContain(IMG);
    await expectInert(reviewer);
    await reviewer.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-report-hostile-notes.png'), fullPage: true });
    expect(dialogs).toEqual([]);

    // The raw HTML bytes are escaped too (not only the DOM the browser built).
    const raw = await reviewer.request.get(`/review/submissions/${subId}`).then((r) => r.text());
    expect(raw).not.toContain(SCRIPT);
    expect(raw).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    expect(raw).not.toContain('javascript:');
  });
});
