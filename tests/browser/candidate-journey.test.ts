import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { tarGzOfFolder } from '../support/archives.ts';
import { ROOT } from '../support/context.ts';
import fs from 'node:fs';
import { SCREENSHOTS, contrastProblems, startBrowserEnv, type BrowserEnv } from './support.ts';

const GOOD = path.join(ROOT, 'tests/fixtures/submissions/smoke/good');
let env: BrowserEnv;
let reviewerKey: string;

beforeAll(async () => {
  env = await startBrowserEnv();
  // The shipped smoke rubric has no manual part; this suite's own database gets a version with one.
  const base = await env.ctx.assessments.defaultRubric('smoke-binary');
  await env.ctx.rubrics.latest('smoke-binary');
  await env.ctx.rubrics.push(
    {
      ...base,
      // The production checks at weight 0: their charts show, the score stays what it was.
      checks: {
        ...base.checks,
        'serving.latency': { weight: 0, severity: 'minor', visibility: 'summary', thresholds: { p99Ms: 90, warnP99Ms: 70 } },
        'business.threshold': { weight: 0, severity: 'minor', visibility: 'name' },
        calibration: { weight: 0, severity: 'minor', visibility: 'full' },
      },
      manual: {
        weight: 0.3,
        items: [
          { id: 'code-clarity', title: 'Code clarity', description: 'Readable, well-structured code with sensible names.', maxPoints: 5 },
          { id: 'communication', title: 'Communication', description: 'NOTES.md explains the choices and their trade-offs.', maxPoints: 5 },
        ],
      },
    },
    'browser-test',
  );
  reviewerKey = (await env.app.apiKeys.create({ name: 'Rita Reviewer', role: 'reviewer', assessmentIds: null })).key;
});
afterAll(async () => {
  await env?.close();
});

async function signIn(page: Page, key: string, start = '/review') {
  await page.goto(start);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/review/sign-in');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('the whole path in Chromium', () => {
  let reviewer: BrowserContext;
  let candidate: BrowserContext;
  let inviteUrl: string;
  let statusUrl: string;

  it('a reviewer signs in with an API key and gets an httpOnly, SameSite session cookie', async () => {
    reviewer = await env.newContext();
    const page = await reviewer.newPage();
    await signIn(page, 'not-a-key-at-all-0000');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not recognised/);
    await page.getByLabel('API key').fill(reviewerKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/review$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Assessments');
    const cookies = await reviewer.cookies();
    const session = cookies.find((c) => c.name === 'grader_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    expect(session.value).not.toContain(reviewerKey.slice(0, 10));
    await page.close();
  });

  it('the reviewer creates an invite from the submissions page', async () => {
    const page = await reviewer.newPage();
    await page.goto('/review/assessments/smoke-binary');
    await page.getByLabel('Candidate name').fill('Grace Hopper');
    await page.getByLabel('Candidate e-mail').fill('grace@example.com');
    await page.getByLabel('Valid for (days)').fill('5');
    await page.getByLabel('Uploads allowed').fill('2');
    await page.getByRole('button', { name: 'Create invite link' }).click();
    await page.waitForSelector('[data-invite-url]');
    inviteUrl = await page.getByLabel('Invite link').inputValue();
    expect(inviteUrl).toMatch(new RegExp(`^${env.baseUrl}/i/[A-Za-z0-9_-]{32}\\.[A-Za-z0-9_-]{43}$`));
    // Only a hash of the token is stored.
    const { rows } = await env.ctx.db.query('SELECT token_sha256 FROM invites');
    expect(JSON.stringify(rows)).not.toContain(inviteUrl.split('/i/')[1]);
    await page.goto('/review/assessments/smoke-binary');
    await expect.poll(() => page.locator('#invite table').textContent()).toMatch(/Grace Hopper[\s\S]*0 \/ 2/);
    await page.close();
  });

  it('the candidate opens the link: brief, data downloads and the upload form', async () => {
    candidate = await env.newContext();
    const page = await candidate.newPage();
    const res = await page.goto(inviteUrl);
    expect(res!.status()).toBe(200);
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Smoke test: a small, clean binary classification task');
    // The brief is rendered from Markdown.
    expect(await page.locator('.prose h2').first().textContent()).toBe('Smoke test task');
    expect(await page.locator('.prose code').count()).toBeGreaterThan(3);
    const csv = await page.request.get(
      await page
        .getByRole('link', { name: 'Download train.csv' })
        .getAttribute('href')
        .then((h) => h!),
    );
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-disposition']).toMatch(/attachment; filename="train.csv"/);
    const header = (await csv.text()).split('\n')[0]!;
    expect(header.split(',')).toEqual(expect.arrayContaining(['x1', 'x2', 'x3', 'color', 'label']));
    const dict = await page.request.get(
      await page
        .getByRole('link', { name: 'Download the data dictionary' })
        .getAttribute('href')
        .then((h) => h!),
    );
    expect(dict.status()).toBe(200);
    expect(await dict.text()).toBe(await env.ctx.assessments.readDoc('smoke-binary', 'dataDictionary'));
    // Accessible form: the file input has its label, the drop zone and the progress bar exist.
    expect(await page.getByLabel('Drag your archive here').getAttribute('type')).toBe('file');
    expect(await page.locator('[data-upload-progress]').isHidden()).toBe(true);
    expect(await contrastProblems(page)).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'candidate-invite.png'), fullPage: true });
    await page.close();
  });

  it('the candidate uploads the archive (drag and drop) and watches the status reach done without reloading', async () => {
    const page = await candidate.newPage();
    const labels: string[] = [];
    await page.exposeFunction('__phaseLabel', (t: string) => labels.push(t));
    await page.addInitScript(() => {
      document.addEventListener('DOMContentLoaded', () => {
        const el = document.querySelector('[data-phase-label]');
        if (!el) return;
        const report = () => (window as unknown as { __phaseLabel(t: string): void }).__phaseLabel(el.textContent ?? '');
        report();
        new MutationObserver(report).observe(el, { childList: true, characterData: true, subtree: true });
      });
    });
    await page.goto(inviteUrl);
    // Drag and drop: a DataTransfer with the archive dropped on the zone.
    const archive = (await tarGzOfFolder(GOOD)).toString('base64');
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'grace-solution.tar.gz', { type: 'application/gzip' }));
      const zone = document.querySelector('[data-dropzone]')!;
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, archive);
    await expect.poll(() => page.locator('[data-upload-message]').textContent()).toMatch(/Ready to upload “grace-solution.tar.gz”/);
    const events = page.waitForResponse((r) => r.url().endsWith('/events'));
    await page.getByRole('button', { name: 'Upload and start grading' }).click();
    await page.waitForURL(/\/submissions\/[0-9a-f-]{36}$/);
    statusUrl = page.url();
    expect((await events).headers()['content-type']).toMatch(/^text\/event-stream/);
    // The page reloads itself when the stream says the grading finished.
    await page.getByRole('heading', { name: 'Your submission has been graded' }).waitFor({ timeout: 120_000 });
    expect(labels[0]).toMatch(/Queued|Unpacking|Training|Predicting|Scoring/);
    expect(labels).toContain('Done: your submission has been graded.');
    expect(await contrastProblems(page)).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'candidate-status.png'), fullPage: true });
    await page.close();
  });

  it('the candidate sees only what the rubric lets them see', async () => {
    const page = await candidate.newPage();
    await page.goto(statusUrl);
    const text = (await page.locator('main').textContent())!;
    // full: title, status, summary, evidence
    expect(text).toContain('Submission contract');
    expect(text).toContain('Functions found');
    // summary: title and summary
    expect(text).toContain('Cross-validation, not a single split');
    expect(text).toMatch(/5-fold cross-validation/);
    // name: the title only, no summary or evidence
    expect(text).toContain('Preprocessing fitted on training rows only');
    expect(text).not.toContain('every traced preprocessing step');
    expect(text).toContain('Own estimate matches hidden data');
    expect(text).not.toMatch(/hidden holdout 0\.\d+/);
    // hidden: nothing at all
    expect(text).not.toContain('shuffled labels');
    // never: scores, verdict, holdout metrics, logs
    expect(text).not.toMatch(/\/100|ROC-AUC|PR-AUC|business cost|pass mark|verdict|stdout|stderr|provenance/i);
    // ...although a summary-level check may state its own numbers.
    expect(text).toMatch(/balanced accuracy 0\.\d+/);
    // Charts only for checks shown in full (calibration), and never the reviewers' cohort position.
    expect(await page.locator('figure.check-chart').evaluateAll((fs) => fs.map((f) => f.getAttribute('data-chart')))).toEqual(['reliability']);
    expect(await page.locator('svg.chart-reliability circle.bin').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('[data-cohort-position]').count()).toBe(0);
    expect(text).not.toMatch(/better than \d+%|graded submission|cohort/i);
    // Nor the reviewers' top line: it is about points, which candidates never see.
    expect(await page.locator('[data-top-line]').count()).toBe(0);
    expect(text).not.toMatch(/lifted the score|lowered it most/);
    await page.close();
  });

  it('the reviewer finds the submission in the list, filters and sorts it without JavaScript', async () => {
    const noJs = await env.newContext({ javaScriptEnabled: false });
    await noJs.addCookies((await reviewer.cookies()).filter((c) => c.name === 'grader_session'));
    const page = await noJs.newPage();
    await page.goto('/review/assessments/smoke-binary');
    const row = page.locator('tr[data-submission]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/Grace Hopper[\s\S]*grace@example.com[\s\S]*grace-solution.tar.gz[\s\S]*Passed[\s\S]*100[\s\S]*none/);
    // Reviewers only: the cohort position column; one graded submission and no money-saved number (no reference model) leave nothing to rank.
    expect([await row.locator('[data-position-quality]').textContent(), await row.locator('[data-position-score]').textContent()]).toEqual(['saved —', 'score —']);
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
    expect(await page.locator('tr[data-submission]').count()).toBe(0);
    expect(await page.locator('#submissions tbody').textContent()).toContain('No submission matches these filters.');
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByRole('link', { name: /^Score/ }).click();
    expect(new URL(page.url()).searchParams.get('sort')).toBe('score');
    expect(await page.locator('th[aria-sort="descending"]').textContent()).toMatch(/Score/);
    expect(await contrastProblems(page)).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-submissions.png'), fullPage: true });
    await noJs.close();
  });

  it('the reviewer opens the report, sees the charts, scores a manual item and the final score changes', async () => {
    const page = await reviewer.newPage();
    await page.goto('/review/assessments/smoke-binary');
    await page.getByRole('link', { name: 'Grace Hopper', exact: true }).click();
    await page.waitForURL(/\/review\/submissions\/[0-9a-f-]{36}$/);
    // Charts are inline SVG.
    expect(await page.locator('svg.chart-confusion .cell rect').count()).toBe(4);
    expect(await page.locator('svg.chart-confusion .cell text').first().textContent()).toMatch(/^\d+$/);
    expect(await page.locator('svg.chart-pr polyline.curve').getAttribute('points')).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+){5,}/);
    expect(await page.locator('svg.chart-pr .operating-point circle').count()).toBe(1);
    expect(await page.locator('svg.chart-folds circle.fold').count()).toBe(5);
    expect(await page.locator('svg.chart-folds rect.band').count()).toBe(1);
    expect(await page.locator('svg.chart-folds line.holdout').count()).toBe(1);
    // Report content: checks with evidence, categories, resources, logs, provenance.
    expect(await page.locator('article.check').count()).toBe(17);
    // The production checks' charts, inside their checks, with the marks from the rubric and the check.
    expect(await page.locator('#check-serving\\.latency svg.chart-latency rect.bar').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#check-serving\\.latency svg.chart-latency .budget text').textContent()).toBe('budget 90 ms');
    expect(await page.locator('#check-business\\.threshold svg.chart-cost polyline.curve').getAttribute('points')).toMatch(/^([\d.]+,[\d.]+ ){100}[\d.]+,[\d.]+$/);
    expect(await page.locator('#check-business\\.threshold svg.chart-cost g.best circle').count()).toBe(1);
    expect(await page.locator('#check-business\\.threshold svg.chart-cost g.effective circle').count()).toBe(1);
    expect(await page.locator('#check-calibration svg.chart-reliability line.diagonal').count()).toBe(1);
    // Reviewers only: where the submission stands. It is the only graded one here, and the smoke
    // assessment has no reference model, so there is no money-saved number to rank.
    expect(await page.locator('.scorecard [data-cohort-position]').textContent()).toMatch(
      /Reviewers only\s+no money saved to compare; the only graded submission with final score so far\.$/,
    );
    expect(await page.locator('#check-cv\\.used .evidence pre').first().textContent()).toContain('cross_val_score');
    expect(await page.locator('.category').count()).toBe(5);
    expect(await page.locator('#resources tbody tr').count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('details.log').count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('#provenance').textContent()).toMatch(/smoke-binary-default v2/);

    const before = Number(await page.locator('[data-final-score]').getAttribute('data-final-score'));
    expect(before).toBeCloseTo(100, 5);
    // The top line: every check passed; the contract (the largest weight, 3) earned the most points.
    expect(await page.locator('.scorecard [data-top-line]').textContent()).toMatch(/^“Submission contract” lifted the score most \(\+([\d.]+) of \1\); nothing lowered it\.$/);
    expect(await page.locator('[data-manual-score]').textContent()).toBe('not scored');
    const item = page.locator('[data-manual-item="code-clarity"]');
    await item.getByLabel('Points (0–5)').fill('2');
    await item.getByLabel('Comment').fill('Readable, but one long function.');
    await item.getByRole('button', { name: 'Save score' }).click();
    await page.waitForURL(/saved=/);
    const after = Number(await page.locator('[data-final-score]').getAttribute('data-final-score'));
    // 70% automatic (100) + 30% manual (2/5 = 40) = 82
    expect(after).toBeCloseTo(82, 5);
    // The manual item is 30 of the 100 points now: 2 of 5 loses 18, and no check lost anything.
    expect(await page.locator('[data-top-line]').textContent()).toMatch(/; the manual item “Code clarity” at 40% lowered it most \(−18\)\.$/);
    expect(await page.locator('[data-automatic-score]').textContent()).toBe('100.0');
    expect(await page.locator('[data-manual-score]').textContent()).toBe('40.0');
    expect(await page.locator('#manual-history tbody tr').count()).toBe(1);
    expect(await page.locator('#manual-history tbody tr').textContent()).toMatch(/Rita Reviewer[\s\S]*Code clarity[\s\S]*2[\s\S]*one long function/);

    // A second change is appended, not overwritten.
    await item.getByLabel('Points (0–5)').fill('4.5');
    await item.getByRole('button', { name: 'Save score' }).click();
    await page.waitForURL(/saved=/);
    expect(Number(await page.locator('[data-final-score]').getAttribute('data-final-score'))).toBeCloseTo(97, 5);
    expect(await page.locator('[data-top-line]').textContent()).toMatch(/the manual item “Code clarity” at 90% lowered it most \(−3\)\.$/);
    expect(await page.locator('#manual-history tbody tr').count()).toBe(2);
    await expect(env.ctx.db.query('UPDATE manual_scores SET points = 0')).rejects.toThrow(/append-only/);

    expect(await contrastProblems(page)).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-report.png'), fullPage: true });

    // Print: navigation and forms are left out, and the page prints to a PDF.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.site-header').isVisible()).toBe(false);
    expect(await page.locator('#manual form').first().isVisible()).toBe(false);
    expect(await page.locator('svg.chart-pr').isVisible()).toBe(true);
    const pdf = await page.pdf({ path: path.join(SCREENSHOTS, 'reviewer-report.pdf'), format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(fs.statSync(path.join(SCREENSHOTS, 'reviewer-report.pdf')).size).toBeGreaterThan(20_000);
    await page.emulateMedia({ media: 'screen' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-report-phone.png'), fullPage: false });
    // Nothing wider than the phone screen except scrollable tables and code.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });

  it('the report page shows the production and holdout charts legibly at 390 px', async () => {
    const phone = await env.newContext({ viewport: { width: 390, height: 844 } });
    await phone.addCookies((await reviewer.cookies()).filter((c) => c.name === 'grader_session'));
    const page = await phone.newPage();
    await page.goto('/review/assessments/smoke-binary');
    await page.getByRole('link', { name: 'Grace Hopper', exact: true }).click();
    await page.waitForURL(/\/review\/submissions\/[0-9a-f-]{36}$/);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    // Each chart inside the screen, every label at 10 px or more once the SVG is scaled down.
    const measure = (selector: string) =>
      page.locator(selector).evaluateAll((svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          const scale = box.width / (svg as SVGSVGElement).viewBox.baseVal.width;
          // The size the text is drawn at (a style sheet can override the attribute), scaled with the SVG.
          const sizes = Array.from(svg.querySelectorAll('text')).map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
          return { cls: svg.getAttribute('class'), left: box.left, right: box.right, labels: sizes.length, smallest: Math.min(...sizes) };
        }),
      );
    const charts = await measure('figure.check-chart svg');
    expect(charts.map((c) => c.cls).sort()).toEqual(['chart chart-cost', 'chart chart-latency', 'chart chart-reliability']);
    for (const c of charts) {
      expect(c.left).toBeGreaterThanOrEqual(0);
      expect(c.right).toBeLessThanOrEqual(390);
      expect(c.labels).toBeGreaterThan(5);
      expect(c.smallest).toBeGreaterThanOrEqual(10);
    }
    // The holdout charts at the top of the report (confusion matrix, precision-recall, fold scores) too.
    const holdoutCharts = await measure('figure.chart:not(.check-chart) svg.chart');
    expect(holdoutCharts.map((c) => c.cls).sort()).toEqual(['chart chart-confusion', 'chart chart-folds', 'chart chart-pr']);
    for (const c of holdoutCharts) {
      expect(c.right).toBeLessThanOrEqual(390);
      expect(c.smallest, c.cls ?? '').toBeGreaterThanOrEqual(10);
    }
    await page.locator('#check-business\\.threshold').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-report-charts-phone.png'), fullPage: false });
    await phone.close();
  });

  it('exports the report as Markdown and JSON with the review included', async () => {
    const page = await reviewer.newPage();
    await page.goto('/review/assessments/smoke-binary');
    await page.getByRole('link', { name: 'Grace Hopper', exact: true }).click();
    const [md] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download Markdown' }).click()]);
    expect(md.suggestedFilename()).toMatch(/^report-grace-hopper-[0-9a-f]{8}\.md$/);
    const mdText = await page.request.get(md.url()).then((r) => r.text());
    expect(mdText).toMatch(/^# Grading report: smoke-binary/);
    expect(mdText).toMatch(/## Review[\s\S]*Final score 97\/100[\s\S]*\| Code clarity \| 4\.5\/5 \|/);
    // The stored report's top line (graded before any manual score), then the current one under the review.
    expect(mdText).toMatch(/lifted the score most \([^)]*\); nothing lowered it\.\n[\s\S]*## Review[\s\S]*Final score 97\/100.*at 90% lowered it most \(−3\)\./);
    const json = await page.request.get(page.url().replace(/$/, '/report.json')).then((r) => r.json());
    expect(json.review).toMatchObject({ finalScore: 97, automaticScore: 100, manualScore: 90, manualWeight: 0.3, passed: true });
    expect(json.review.history).toHaveLength(2);
    expect(json.topLine.lowered).toEqual([]);
    expect(json.review.topLine.lowered).toEqual([{ kind: 'manual', id: 'code-clarity', title: 'Code clarity', points: 3, of: 30 }]);
    expect(json.provenance.rubricVersion).toBe(2);
    await page.close();
  });

  it('refuses a manual score without the session CSRF token, and after sign-out', async () => {
    const page = await reviewer.newPage();
    await page.goto('/review/assessments/smoke-binary');
    await page.getByRole('link', { name: 'Grace Hopper', exact: true }).click();
    const action = (await page.locator('[data-manual-item="code-clarity"] form').getAttribute('action'))!;
    const reportId = (await page.locator('[data-manual-item="code-clarity"] input[name=report_id]').inputValue())!;
    const forged = await page.request.post(action, { form: { item_id: 'code-clarity', report_id: reportId, points: '0', comment: 'forged', _csrf: 'wrong' } });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('This form has expired');
    const crossSite = await page.request.post(action, { form: { item_id: 'code-clarity', report_id: reportId, points: '0' }, headers: { origin: 'https://evil.example' } });
    expect(crossSite.status()).toBe(403);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/review\/sign-in$/);
    const afterSignOut = await page.request.post(action, { form: { item_id: 'code-clarity', report_id: reportId, points: '0', _csrf: 'x' } });
    expect(afterSignOut.status()).toBe(401);
    const { rows } = await env.ctx.db.query('SELECT count(*)::int AS n FROM manual_scores');
    expect(rows[0].n).toBe(2);
    await page.close();
  });
});

describe('invites API', () => {
  it('creates an invite over the API with a bearer key and validates its input', async () => {
    const auth = { authorization: `Bearer ${reviewerKey}` };
    const ok = await env.app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: auth,
      payload: { assessmentId: 'smoke-binary', candidateName: 'Alan Turing', candidateEmail: 'alan@example.com', expiresInHours: 48, maxAttempts: 1 },
    });
    expect(ok.statusCode).toBe(201);
    const body = ok.json();
    expect(body).toMatchObject({ assessmentId: 'smoke-binary', candidateName: 'Alan Turing', maxAttempts: 1, attemptsUsed: 0, createdBy: 'Rita Reviewer' });
    expect(body.url).toMatch(/\/i\/[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(47 * 3600_000);
    const page = await env.newContext().then((c) => c.newPage());
    expect((await page.goto(`/i/${body.token}`))!.status()).toBe(200);
    const bad = await env.app.inject({ method: 'POST', url: '/v1/invites', headers: auth, payload: { assessmentId: 'smoke-binary', candidateName: '', candidateEmail: 'nope' } });
    expect(bad.statusCode).toBe(400);
    const unknown = await env.app.inject({ method: 'POST', url: '/v1/invites', headers: auth, payload: { assessmentId: 'no-such', candidateName: 'x', candidateEmail: 'x@example.com' } });
    expect(unknown.statusCode).toBe(404);
    const ci = (await env.app.apiKeys.create({ name: 'ci', role: 'ci', assessmentIds: null })).key;
    const forbidden = await env.app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: { authorization: `Bearer ${ci}` },
      payload: { assessmentId: 'smoke-binary', candidateName: 'x', candidateEmail: 'x@example.com' },
    });
    expect(forbidden.statusCode).toBe(403);
    const list = await env.app.inject({ url: '/v1/invites?assessmentId=smoke-binary', headers: auth });
    expect(list.json().invites.map((i: { candidateName: string }) => i.candidateName)).toEqual(['Alan Turing', 'Grace Hopper']);
    expect(list.body).not.toContain(body.token);
  });

  it('a CI key cannot sign in to the review pages', async () => {
    const ci = (await env.app.apiKeys.create({ name: 'ci-2', role: 'ci', assessmentIds: null })).key;
    const page = await (await env.newContext()).newPage();
    await signIn(page, ci);
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/CI key/);
    expect((await page.context().cookies()).some((c) => c.name === 'grader_session')).toBe(false);
  });
});

// A screenshot at phone width of the candidate page, for the record.
describe('phone width', () => {
  it('the invite page fits a phone screen', async () => {
    const { token } = await env.app
      .inject({
        method: 'POST',
        url: '/v1/invites',
        headers: { authorization: `Bearer ${reviewerKey}` },
        payload: { assessmentId: 'smoke-binary', candidateName: 'Katherine Johnson', candidateEmail: 'kj@example.com' },
      })
      .then((r) => r.json());
    const page = await (await env.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await page.goto(`/i/${token}`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'candidate-invite-phone.png'), fullPage: true });
    // Keyboard: the first Tab reaches the skip link, and it leads to the content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
  });
});
