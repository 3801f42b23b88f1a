import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { makeTarGz } from '../support/archives.ts';
import { ADMIN, ROOT } from '../support/context.ts';
import { multipart } from '../support/multipart.ts';
import { makeZip } from '../support/zip-writer.ts';
import { SCREENSHOTS, startBrowserEnv, type BrowserEnv } from './support.ts';

const GOOD = fs.readFileSync(path.join(ROOT, 'tests/fixtures/submissions/smoke/good/solution.py'), 'utf8');
/** A script with a lint finding (a scaler fitted before the split) at a known line. */
const EXPLORE = fs.readFileSync(path.join(ROOT, 'tests/fixtures/lint/scaler_before_split.py'), 'utf8');
const HOSTILE = `# ${'</script><script>window.__pwned = 1</script>'}
html = "<img src=x onerror=\\"window.__pwned = 2\\"><b>bold</b>"
frame = "<iframe src='/evil-frame'></iframe><svg onload=alert(1)>"
long_line = "${'x'.repeat(6000)}"
`;
const NOTES = `# Notes\n\nThe cache lives at \`${'/very/long/path/segment'.repeat(12)}\` on my machine.\n`;
const FILE_NAME = 'ada-solution.tar.gz';

let env: BrowserEnv;

beforeAll(async () => {
  env = await startBrowserEnv();
});
afterAll(async () => {
  await env?.close();
});

async function invite(name: string, maxAttempts = 3): Promise<string> {
  const res = await env.app.inject({
    method: 'POST',
    url: '/v1/invites',
    headers: ADMIN,
    payload: { assessmentId: 'smoke-binary', candidateName: name, candidateEmail: 'c@example.com', maxAttempts },
  });
  expect(res.statusCode).toBe(201);
  return res.json().token as string;
}

async function upload(page: Page, token: string, name: string, buffer: Buffer) {
  await page.goto(`/i/${token}`);
  await page.setInputFiles('input[type=file]', { name, mimeType: 'application/gzip', buffer });
  await page.getByRole('button', { name: 'Upload and start grading' }).click();
}

async function signIn(ctx: BrowserContext): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto('/review/sign-in');
  await page.getByLabel('API key').fill(ADMIN.authorization.replace('Bearer ', ''));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/review$/);
  return page;
}

const horizontalOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('code viewer', () => {
  it('evidence links to the line in the viewer, the archive downloads for reviewers only, hostile files stay inert', async () => {
    const big = crypto.randomBytes(3_900_000).toString('base64'); // ~5.2 MB of text that does not compress
    const archive = await makeTarGz([
      { name: 'solution.py', data: GOOD },
      { name: 'explore.py', data: EXPLORE },
      { name: 'hostile.py', data: HOSTILE },
      { name: 'NOTES.md', data: NOTES },
      { name: 'big.txt', data: big },
      { name: 'model.bin', data: Buffer.from([0x80, 0x04, 0x00, 0xff, 0xfe]) },
    ]);
    const token = await invite('Ada');
    const candidate = await (await env.newContext()).newPage();
    await upload(candidate, token, FILE_NAME, archive);
    await candidate.waitForURL(/\/submissions\/[0-9a-f-]{36}$/);
    const subId = candidate.url().split('/').pop()!;
    await candidate.getByRole('heading', { name: 'Your submission has been graded' }).waitFor({ timeout: 120_000 });
    // Candidates have neither the viewer nor the download.
    for (const p of ['archive', 'code']) expect((await candidate.goto(`/i/${token}/submissions/${subId}/${p}`))!.status()).toBe(404);
    // Nor does anyone without a session: the reviewer address sends them to sign in.
    const anonymous = await env.app.inject({ method: 'GET', url: `/review/submissions/${subId}/archive` });
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toMatch(/^\/review\/sign-in/);

    const reviewerCtx = await env.newContext();
    const reviewer = await signIn(reviewerCtx);
    const reportRes = await reviewer.goto(`/review/submissions/${subId}`);
    const csp = reportRes!.headers()['content-security-policy'];
    const link = reviewer.locator('a[data-code-link][href*="#L"]').first();
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/\/code\?file=explore\.py#L\d+$/);
    const line = href.split('#L')[1]!;
    await link.click();
    await reviewer.waitForURL(/\/code\?file=explore\.py#L\d+$/);
    const row = reviewer.locator(`tr#L${line}`);
    expect(await row.getAttribute('class')).toContain('marked');
    expect(await row.evaluate((el) => el.matches(':target'))).toBe(true);
    expect(await row.locator('td.src').textContent()).toContain('fit_transform');
    expect(
      await row.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight;
      }),
    ).toBe(true);
    // Highlighted by highlight.js: keywords are spans of our own classes.
    expect(await reviewer.locator('tr#L2 .hljs-keyword').count()).toBeGreaterThan(0);

    // Every file is listed; the large and the binary one are not rendered.
    const kinds = Object.fromEntries(await reviewer.locator('#files tr[data-file]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-file'), r.getAttribute('data-kind')])));
    expect(kinds).toEqual({ 'solution.py': 'text', 'explore.py': 'text', 'hostile.py': 'text', 'NOTES.md': 'text', 'big.txt': 'large', 'model.bin': 'binary' });
    expect(await reviewer.locator('#files tr[data-file="big.txt"] a').count()).toBe(0);
    expect((await reviewer.goto(`/review/submissions/${subId}/code?file=big.txt`))!.status()).toBe(404);

    // Archive download: the uploaded bytes, as an attachment under the uploaded name.
    await reviewer.goto(`/review/submissions/${subId}/code`);
    expect(await reviewer.locator('h1').textContent()).toBe('solution.py');
    const [download] = await Promise.all([reviewer.waitForEvent('download'), reviewer.locator('[data-archive-download]').click()]);
    expect(download.suggestedFilename()).toBe(FILE_NAME);
    expect(fs.readFileSync((await download.path())!).equals(archive)).toBe(true);
    const res = await reviewerCtx.request.get(`/review/submissions/${subId}/archive`);
    expect(res.headers()['content-disposition']).toBe(`attachment; filename="${FILE_NAME}"; filename*=UTF-8''${FILE_NAME}`);
    expect(res.headers()['content-type']).toBe('application/gzip');

    // Hostile text renders as text, on a phone without widening the page; CSP as on every page.
    const phone = await (await env.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await phone.context().addCookies(await reviewerCtx.cookies());
    const dialogs: string[] = [];
    const requests: string[] = [];
    phone.on('dialog', (d) => void d.dismiss().then(() => dialogs.push(d.message())));
    phone.on('request', (r) => void (r.url().startsWith('http') && requests.push(new URL(r.url()).pathname)));
    const hostile = await phone.goto(`/review/submissions/${subId}/code?file=hostile.py`);
    expect(hostile!.headers()['content-security-policy']).toBe(csp);
    // No inline script on the page at all, no dialog, and nothing loaded but the page and its own assets.
    expect(await phone.evaluate(() => document.querySelectorAll('script:not([src])').length)).toBe(0);
    expect(dialogs).toEqual([]);
    expect(requests.filter((p) => !p.startsWith('/static/') && !p.endsWith('/code'))).toEqual([]);
    expect(await phone.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await phone.locator('main script, main img, main b, main iframe, main svg').count()).toBe(0);
    expect(await phone.locator('tr#L1 td.src').textContent()).toContain('</script><script>window.__pwned = 1</script>');
    expect(await horizontalOverflow(phone)).toBe(0);
    const scroller = await phone.locator('.code-scroll').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(scroller.scroll).toBeGreaterThan(scroller.client * 10);
    await phone.screenshot({ path: path.join(SCREENSHOTS, 'code-viewer-390.png'), fullPage: false });
    // The report too: the long inline code span in NOTES.md wraps.
    await phone.goto(`/review/submissions/${subId}`);
    expect(await phone.locator('[data-notes] code').count()).toBe(1);
    expect(await horizontalOverflow(phone)).toBe(0);
  }, 240_000);
});

describe('refused at upload', () => {
  it('an archive the harness could not grade is refused with the reason and costs no upload', async () => {
    const token = await invite('Bo', 2);
    const page = await (await env.newContext()).newPage();
    const cases: [string, Buffer, RegExp][] = [
      ['no-solution.zip', makeZip([{ name: 'main.py', data: GOOD }]), /no solution\.py/],
      ['syntax.tar.gz', await makeTarGz([{ name: 'sub/solution.py', data: 'def train(p):\n    return (\n' }]), /sub\/solution\.py.*does not parse as Python/s],
      ['no-predict.tar.gz', await makeTarGz([{ name: 'solution.py', data: 'def train(p):\n    return 1\n' }]), /defines no top-level predict\(\)/],
      ['deep.tar.gz', await makeTarGz([{ name: 'a/b/solution.py', data: GOOD }]), /directly inside one folder; found a\/b\/solution\.py/],
    ];
    for (const [name, data, reason] of cases) {
      await upload(page, token, name, data);
      // upload.js shows the refusal page it received in place.
      await expect.poll(() => page.locator('main').textContent(), { timeout: 20_000 }).toMatch(reason);
      expect(await page.locator('main').textContent()).toContain('your upload was not counted');
    }
    await page.goto(`/i/${token}`);
    expect(await page.locator('[data-uploads-left]').textContent()).toBe('2 of 2');
    const { rows } = await env.ctx.db.query('SELECT count(*)::int AS n FROM submissions s JOIN invites i ON i.id = s.invite_id WHERE i.candidate_name = $1', ['Bo']);
    expect(rows[0].n).toBe(0);

    // The API refuses it the same way.
    const body = multipart({ name: 'x.zip', data: makeZip([{ name: 'solution.py', data: 'import os\nos.system("touch /tmp/never")\n' }]) });
    const api = await env.app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/submissions', headers: { ...ADMIN, ...body.headers }, payload: body.payload });
    expect(api.statusCode).toBe(400);
    expect(api.json().error?.code ?? api.json().code).toBe('archive_rejected');
    expect(JSON.stringify(api.json())).toMatch(/defines no top-level train\(\) or predict\(\)/);
  }, 60_000);
});

describe('a pipeline that did not run', () => {
  it('shows the candidate the failing phase, never six green steps; the reviewer sees Invalid', async () => {
    const crash = GOOD.replace('def train(train_csv):\n', 'def train(train_csv):\n    raise RuntimeError("boom")\n');
    const token = await invite('Cy');
    const page = await (await env.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await upload(page, token, 'crash.tar.gz', await makeTarGz([{ name: 'solution.py', data: crash }]));
    await page.waitForURL(/\/submissions\/[0-9a-f-]{36}$/);
    const subId = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: 'Graded — did not run' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-phase-label]').textContent()).toMatch(/^Graded — did not run: train stopped with an error\.$/);
    expect(await page.locator('li[data-step="training"]').getAttribute('class')).toBe('failed');
    expect(await page.locator('li[data-step="training"] .state').textContent()).toBe('did not run');
    for (const later of ['predicting', 'scoring', 'done']) expect(await page.locator(`li[data-step="${later}"]`).getAttribute('class')).toBe('');
    expect(await horizontalOverflow(page)).toBe(0);
    await page.goto(`/i/${token}`);
    expect(await page.locator(`a[href$="${subId}"] + .badge`).textContent()).toContain('Graded — did not run');

    const reviewer = await signIn(await env.newContext());
    await reviewer.goto(`/review/submissions/${subId}`);
    expect(await reviewer.locator('.scorecard .badge').first().textContent()).toContain('Invalid');
    expect(await reviewer.locator('[data-invalid]').textContent()).toContain('train stopped with an error');
  }, 180_000);
});
