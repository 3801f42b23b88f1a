import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { SimilarityRepository } from '../../services/similarity/similarity-repository.ts';
import { SimilarityService } from '../../services/similarity/similarity-service.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { ADMIN, ROOT, eventually } from '../support/context.ts';
import { SCREENSHOTS, startBrowserEnv, type BrowserEnv } from './support.ts';

// One real grading (Grace, through her invite); Ada's submission is the same archive under her
// name, its grading and report written through the repositories; both indexed by the similarity
// service (Dolos on the stored archives' text), as the worker does after a grading.
const GOOD = path.join(ROOT, 'tests/fixtures/submissions/smoke/good');
let env: BrowserEnv;
let token: string;
const ids = {} as Record<'grace' | 'ada', string>;

async function noSimilarityWords(page: Page) {
  const text = await page.locator('body').innerText();
  expect(text).not.toMatch(/similar|clusters?\b|side by side|reference solution/i);
  expect(await page.content()).not.toMatch(/similarity|data-similar/i);
}

beforeAll(async () => {
  env = await startBrowserEnv();
  // The rubric flags a match at 80% or more in the reviewer's list.
  const base = await env.ctx.assessments.defaultRubric('smoke-binary');
  await env.ctx.rubrics.push({ ...base, similarity: { flagAbove: 0.8 } }, 'browser-test');
  const invite = await env.app.inject({
    method: 'POST',
    url: '/v1/invites',
    headers: ADMIN,
    payload: { assessmentId: 'smoke-binary', candidateName: 'Grace Hopper', candidateEmail: 'grace@example.com' },
  });
  token = invite.json().token as string;

  const candidate = await (await env.newContext()).newPage();
  await candidate.goto(`/i/${token}`);
  await candidate.setInputFiles('input[type=file]', { name: 'grace.tar.gz', mimeType: 'application/gzip', buffer: await tarGzOfFolder(GOOD) });
  await candidate.getByRole('button', { name: 'Upload and start grading' }).click();
  await candidate.waitForURL(/\/submissions\/[0-9a-f-]{36}$/);
  ids.grace = candidate.url().split('/').pop()!;
  await candidate.close();
  // Finished either way; a failed grading says why at once instead of timing out.
  const finished = await eventually(
    async () => {
      const g = await env.ctx.submissions.latestGrading(ids.grace);
      return g?.status === 'completed' || g?.status === 'failed' ? g : null;
    },
    480_000,
    500,
  );
  expect(finished.lastError ?? null, 'the grading failed').toBeNull();
  expect(finished.status).toBe('completed');

  const { submissions, reports } = env.ctx;
  const grace = (await submissions.getSubmission(ids.grace))!;
  const { submission: ada } = await submissions.createSubmission({ ...grace, fileName: 'ada.tar.gz', candidate: 'Ada Lovelace', inviteId: null });
  ids.ada = ada.id;
  const { grading } = await submissions.createGrading(ada.id, `copy-${ada.id}`, 'initial');
  await submissions.markStarted(grading.id, 'browser-test');
  await submissions.markCompleted(grading.id);
  const graceReport = (await reports.latest(ids.grace))!;
  await reports.insert({ ...graceReport.document, submissionId: ada.id, gradingId: grading.id });

  const service = new SimilarityService({ ...env.ctx, similarity: new SimilarityRepository(env.ctx.db) });
  await service.indexSubmission(ids.grace);
  expect((await service.indexSubmission(ids.ada)).stored).toBe(1);
}, 600_000);

afterAll(async () => {
  await env?.close();
});

describe('similar code in the browser', () => {
  it('the reviewer sees the match in the report, opens the side-by-side page with the shared fragments highlighted, and the cluster and flag on the assessment page', async () => {
    const reviewer = await (await env.newContext()).newPage();
    await reviewer.goto('/review/sign-in');
    await reviewer.getByLabel('API key').fill(ADMIN.authorization.replace('Bearer ', ''));
    await reviewer.getByRole('button', { name: 'Sign in' }).click();
    await reviewer.waitForURL(/\/review$/);

    await reviewer.goto(`/review/submissions/${ids.grace}`);
    const panel = reviewer.locator('#report-similar');
    const row = panel.locator('tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').nth(0).innerText()).toBe('Ada Lovelace');
    expect(await row.getByRole('link', { name: 'Ada Lovelace' }).getAttribute('href')).toBe(`/review/submissions/${ids.ada}`);
    expect(await row.locator('td').nth(1).innerText()).toBe('100%');
    await reviewer.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-report-similar-code.png'), fullPage: true });

    await row.getByRole('link', { name: 'Side by side' }).click();
    await reviewer.waitForURL(/\/similarity\?with=[0-9a-f-]{36}$/);
    expect(await reviewer.getByRole('heading', { level: 2, name: /^Side by side with Ada Lovelace: \d+ shared fragment/ }).count()).toBe(1);
    const columns = reviewer.locator('.side-by-side section');
    expect(await columns.count()).toBe(2);
    const lines = fs.readFileSync(path.join(GOOD, 'solution.py'), 'utf8').trimEnd().split('\n').length;
    for (const column of [columns.nth(0), columns.nth(1)]) {
      const marked = column.locator('tr.marked[data-shared]');
      // The same code on both sides: most of its lines are in a shared fragment.
      expect(await marked.count()).toBeGreaterThan(lines / 2);
      // Highlighted: a marked line is painted differently from an unmarked one.
      const bg = (sel: string) =>
        column
          .locator(sel)
          .first()
          .locator('td.src')
          .evaluate((td) => getComputedStyle(td).backgroundColor);
      if ((await column.locator('tr:not(.marked)').count()) > 0) expect(await bg('tr.marked')).not.toBe(await bg('tr:not(.marked)'));
      else expect(await bg('tr.marked')).not.toMatch(/rgba\(0, 0, 0, 0\)|rgb\(255, 255, 255\)/);
    }
    expect(await columns.nth(1).locator('tr.marked td.src').first().innerText()).not.toBe('');
    await reviewer.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-similarity-side-by-side.png'), fullPage: true });

    await reviewer.goto('/review/assessments/smoke-binary');
    const cluster = reviewer.locator('#similar-code [data-cluster="1"]');
    expect(await cluster.locator('[data-member]').allInnerTexts()).toEqual(expect.arrayContaining(['Grace Hopper', 'Ada Lovelace']));
    expect(await cluster.getByRole('link', { name: 'Side by side' }).count()).toBe(1);
    for (const id of [ids.grace, ids.ada]) expect(await reviewer.locator(`tr[data-submission="${id}"] [data-similarity-flag]`).innerText()).toBe('Similar code 100%');
    await reviewer.close();
  });

  it('the candidate’s pages (start page, status page, their report) never mention similarity', async () => {
    const candidate = await (await env.newContext()).newPage();
    await candidate.goto(`/i/${token}`);
    await noSimilarityWords(candidate);
    await candidate.goto(`/i/${token}/submissions/${ids.grace}`);
    // Graded (whichever verdict): the page carries what the candidate may see of the report.
    await candidate.getByRole('heading', { level: 1, name: /^(Your submission has been graded|Graded — did not run)$/ }).waitFor();
    await noSimilarityWords(candidate);
    await candidate.close();
  });
});
