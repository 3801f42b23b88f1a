import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { tarGzOfFolder } from '../support/archives.ts';
import { ADMIN, ROOT, eventually } from '../support/context.ts';
import { multipart } from '../support/multipart.ts';
import { SCREENSHOTS, signedInReviewer, startBrowserEnv, type BrowserEnv } from './support.ts';

const GOOD = path.join(ROOT, 'tests/fixtures/submissions/smoke/good');
let env: BrowserEnv;
let reviewer: BrowserContext;
/** Submission ids by candidate: one graded in the sandbox, the others copies of its report with other numbers. */
const ids = {} as Record<'grace' | 'ada' | 'adaOld' | 'formula', string>;

/** A copy of the graded submission under another name, its report changed by `edit` (as SQL on the jsonb document). */
async function cloneSubmission(candidate: string, minutesAgo: number, edit: string): Promise<string> {
  const id = crypto.randomUUID();
  await env.ctx.db.query(
    `INSERT INTO submissions (id, assessment_id, archive_sha256, archive_bytes, archive_format, file_name, candidate, created_at)
     SELECT $1, assessment_id, archive_sha256, archive_bytes, archive_format, file_name, $2, now() - make_interval(mins => $3) FROM submissions WHERE id = $4`,
    [id, candidate, minutesAgo, ids.grace],
  );
  await env.ctx.db.query(
    `INSERT INTO gradings (id, submission_id, idempotency_key, reason, status, phase, queued_at, finished_at)
     VALUES (gen_random_uuid(), $1, $2, 'initial', 'completed', 'done', now(), now())`,
    [id, `clone-${id}`],
  );
  await env.ctx.db.query(
    `INSERT INTO reports (id, submission_id, grading_id, rubric_id, rubric_version, score, passed, document, created_at)
     SELECT gen_random_uuid(), $1, NULL, rubric_id, rubric_version, score, passed, ${edit}, now() - make_interval(mins => $2)
     FROM reports WHERE submission_id = $3`,
    [id, minutesAgo, ids.grace],
  );
  return id;
}

/**
 * The document with every stored check passing but `checkId`, and the automatic score replaced
 * (what the list reads); for leakage.preprocessing the measurement fails too (what the report and
 * compare pages judge again).
 */
const withScore = (score: number, failed = '') =>
  `jsonb_set(jsonb_set(jsonb_set(document, '{automaticScore}', '${score}'::jsonb), '{checks}', (SELECT jsonb_agg(jsonb_set(c, '{status}', CASE WHEN c->>'id' = '${failed}' THEN '"fail"'::jsonb ELSE '"pass"'::jsonb END)) FROM jsonb_array_elements(document->'checks') c)),
             '{measurements,leakage.preprocessing,values,tracedLeaks}', '${failed === 'leakage.preprocessing' ? 2 : 0}'::jsonb)`;

/** The page's width, and the elements reaching past the screen's edge (named in a failure). */
async function pageWidth(page: Page): Promise<{ width: number; past: string[] }> {
  return page.evaluate(() => ({
    width: document.documentElement.scrollWidth,
    past: Array.from(document.querySelectorAll('body *'))
      .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .filter((el) => {
        // Not inside a box that scrolls or clips on its own (a table wrapper, a code block).
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) if (getComputedStyle(up).overflowX !== 'visible') return false;
        return true;
      })
      .slice(0, 8)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${Math.round(el.getBoundingClientRect().right)}`),
  }));
}

async function noHorizontalOverflow(page: Page): Promise<number> {
  const { width, past } = await pageWidth(page);
  if (width > 390) console.error(`wider than the screen: ${past.join(', ')}`);
  return width;
}

beforeAll(async () => {
  env = await startBrowserEnv();
  const base = await env.ctx.assessments.defaultRubric('smoke-binary');
  await env.ctx.rubrics.push(
    {
      ...base,
      manual: {
        weight: 0.3,
        items: [
          { id: 'code-clarity', title: 'Code clarity', description: 'Readable code.', maxPoints: 5 },
          { id: 'communication', title: 'Communication', description: 'NOTES.md explains the choices.', maxPoints: 5 },
        ],
      },
    },
    'browser-test',
  );
  const body = multipart({ name: 'grace.tar.gz', data: await tarGzOfFolder(GOOD) }, { candidate: 'Grace Hopper' });
  const res = await env.app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/submissions', payload: body.payload, headers: { ...body.headers, ...ADMIN } });
  expect(res.statusCode).toBe(202);
  ids.grace = res.json().submissionId as string;
  await eventually(async () => (await env.ctx.reports.latest(ids.grace)) !== null, 240_000, 500);
  ids.adaOld = await cloneSubmission('Ada Lovelace', 120, withScore(41, 'cv.stratified'));
  ids.ada = await cloneSubmission('Ada Lovelace', 60, withScore(55, 'leakage.preprocessing'));
  ids.formula = await cloneSubmission('=HYPERLINK("http://evil.example","x"), "Bob"', 30, withScore(72));

  ({ context: reviewer } = await signedInReviewer(env));
}, 300_000);

afterAll(async () => {
  await env?.close();
});

describe('cohort list', () => {
  it('one row per candidate with the earlier attempts folded in, check titles instead of ids, filtered and sorted by the database', async () => {
    const page = await reviewer.newPage();
    await page.goto('/review/assessments/smoke-binary?sort=score&dir=desc');
    const rows = page.locator('tr[data-submission]');
    expect(await rows.count()).toBe(3);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-submission')))).toEqual([ids.grace, ids.formula, ids.ada]);
    const ada = page.locator(`tr[data-submission="${ids.ada}"]`);
    expect(await ada.locator('summary').textContent()).toBe('1 earlier attempt');
    expect(await ada.locator(`[data-attempt="${ids.adaOld}"]`).count()).toBe(1);
    // The flag is the check's title from the catalogue, not its id.
    expect(await ada.locator('.flags').textContent()).toContain('Preprocessing fitted on training rows only');
    expect(await ada.locator('.flags').textContent()).not.toContain('leakage.preprocessing');
    // Manual items exist and none is scored: the verdict says it is provisional.
    expect(await page.locator(`tr[data-submission="${ids.grace}"] [data-provisional]`).textContent()).toBe('provisional: 0 of 2 manual scored');

    await page.getByLabel('Failed check').selectOption('leakage.preprocessing');
    await page.getByRole('button', { name: 'Apply' }).click();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-submission')))).toEqual([ids.ada]);
    await page.close();
  });

  it('exports exactly what is shown as CSV, quoted, with formulas defused', async () => {
    const page = await reviewer.newPage();
    await page.goto('/review/assessments/smoke-binary?q=o&sort=candidate&dir=asc');
    const shown = await page.locator('tr[data-submission]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-submission')));
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(href).toBe('/review/assessments/smoke-binary/candidates.csv?q=o&sort=candidate&dir=asc');
    const res = await page.request.get(href!);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toMatch(/^text\/csv/);
    expect(res.headers()['content-disposition']).toContain('attachment; filename="candidates-smoke-binary.csv"');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'candidate,email,file,submitted_at,attempts,status,verdict,final_score,automatic_score,manual_scored,decision,decided_by,decision_note,failed_checks,submission_id,quality_beats_pct,score_beats_pct,similarity_top_pct,similarity_flagged',
    );
    expect(lines.slice(1).map((l) => l.split(',').at(-5))).toEqual(shown);
    // q=o matches "Bob", "Grace Hopper" and "Ada Lovelace", sorted by name.
    expect(lines).toHaveLength(4);
    // The similarity columns come last; smoke-binary's rubric sets no similarity flag.
    expect(lines[1]).toMatch(
      new RegExp(`^"'=HYPERLINK\\(""http://evil.example"",""x""\\), ""Bob""",,grace.tar.gz,.*,1,completed,passed \\(provisional\\),.*,${ids.formula},[^,]*,[^,]*,\\d*,no$`),
    );
    expect(lines[2]).toMatch(/^Ada Lovelace,,grace\.tar\.gz,[^,]+,2,completed,not passed \(provisional\),[\d.]+,55\.0,0 of 2,,,,Preprocessing fitted on training rows only,/);
    await page.close();
  });
});

describe('decide', () => {
  it('keeps every decision with who and when, shows the current one on the report and in the list', async () => {
    const page = await reviewer.newPage();
    await page.goto(`/review/submissions/${ids.ada}`);
    await page.getByRole('radio', { name: 'Hold' }).check();
    await page.locator('#decision-note').fill('Ask about the CV split.');
    await page.getByRole('button', { name: 'Record decision' }).click();
    await page.waitForURL(new RegExp(`/review/submissions/${ids.ada}#decision$`));
    await page.getByRole('radio', { name: 'Advance' }).check();
    await page.locator('#decision-note').fill('Good answer on the call.');
    await page.getByRole('button', { name: 'Record decision' }).click();
    await page.waitForLoadState();
    const history = page.locator('#decision-history tbody tr');
    expect(await history.count()).toBe(2);
    expect(await history.nth(0).textContent()).toMatch(/Rita Reviewer\s*Advance\s*Good answer on the call\./);
    expect(await history.nth(1).textContent()).toMatch(/Rita Reviewer\s*Hold\s*Ask about the CV split\./);
    expect(await page.locator('[data-current-decision] [data-decision]').getAttribute('data-decision')).toBe('advance');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-decision.png'), fullPage: true });

    // A form without a choice is refused, and the stored history cannot be rewritten.
    const csrf = await page.locator('#decision input[name=_csrf]').first().inputValue();
    const bad = await page.request.post(`/review/submissions/${ids.ada}/decisions`, { form: { _csrf: csrf, decision: 'hire-now', note: '' } });
    expect(bad.status()).toBe(400);
    await expect(env.ctx.db.query(`UPDATE decisions SET decision = 'reject' WHERE submission_id = $1`, [ids.ada])).rejects.toThrow(/append-only/);

    await page.goto('/review/assessments/smoke-binary?decision=advance');
    expect(await page.locator('tr[data-submission]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-submission')))).toEqual([ids.ada]);
    expect(await page.locator(`tr[data-submission="${ids.ada}"] [data-decision]`).textContent()).toBe('Advance');
    await page.close();
  });

  it('marks the verdict provisional until every manual item is scored, with n of m', async () => {
    const page = await reviewer.newPage();
    await page.goto(`/review/submissions/${ids.grace}`);
    expect(await page.locator('.scorecard [data-provisional]').textContent()).toContain('0 of 2 scored');
    await page.getByLabel('Points (0–5)').first().fill('4');
    await page.getByRole('button', { name: 'Save score' }).first().click();
    await page.waitForURL(/saved=/);
    expect(await page.locator('[data-manual-count]').textContent()).toBe('(1 of 2 scored)');
    expect(await page.locator('.scorecard [data-provisional]').textContent()).toContain('1 of 2 scored');
    await page.getByLabel('Points (0–5)').nth(1).fill('5');
    await page.getByRole('button', { name: 'Save score' }).nth(1).click();
    await page.waitForURL(/saved=/);
    expect(await page.locator('.scorecard [data-provisional]').count()).toBe(0);
    expect(await page.locator('[data-manual-count]').textContent()).toBe('(2 of 2 scored)');
    await page.close();
  });
});

describe('compare', () => {
  it('puts two submissions side by side: scores, every check, holdout metrics and cost', async () => {
    const page = await reviewer.newPage();
    await page.goto('/review/assessments/smoke-binary');
    await page.getByLabel('Compare Grace Hopper').check();
    await page.getByLabel('Compare Ada Lovelace').check();
    await page.getByRole('button', { name: /Compare selected/ }).click();
    await page.waitForURL(/\/review\/compare\?/);
    expect(await page.locator('[data-compare-column]').evaluateAll((ths) => ths.map((th) => th.getAttribute('data-compare-column')))).toEqual([ids.grace, ids.ada]);
    const check = page.locator('tr[data-row="check:leakage.preprocessing"] td');
    expect(await check.allTextContents()).toEqual([expect.stringContaining('Pass'), expect.stringContaining('Fail')]);
    const checkRows = await page.locator('tr[data-row^="check:"]').count();
    expect(checkRows).toBeGreaterThanOrEqual(10);
    expect(await page.locator('tr[data-row="metric:Balanced accuracy"] td').allTextContents()).toEqual([expect.stringMatching(/^0\.\d{3}$/), expect.stringMatching(/^0\.\d{3}$/)]);
    expect(await page.locator('tr[data-row="metric:Business cost"] td').count()).toBe(2);
    expect(await page.locator('tr[data-row="runtime"] td').first().textContent()).toMatch(/\d/);
    // Each submission's charts in the columns' order: Grace's precision-recall curve and fold scores.
    expect(await page.locator('[data-compare-charts]').evaluateAll((cols) => cols.map((c) => c.getAttribute('data-compare-charts')))).toEqual([ids.grace, ids.ada]);
    expect(await page.locator(`[data-compare-charts="${ids.grace}"] svg.chart-pr`).count()).toBe(1);
    expect(await page.locator(`[data-compare-charts="${ids.grace}"] svg.chart-folds`).count()).toBe(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-compare.png'), fullPage: true });

    const one = await page.request.get(`/review/compare?ids=${ids.grace}`);
    expect(one.status()).toBe(400);
    expect(await one.text()).toContain('select two or three submissions');
    await page.close();
  });
});

describe('share link', () => {
  async function createLink(days: number): Promise<string> {
    const page = await reviewer.newPage();
    await page.goto(`/review/submissions/${ids.ada}`);
    await page.getByLabel(/Valid for \(days/).fill(String(days));
    await page.getByRole('button', { name: 'Create share link' }).click();
    await page.waitForURL(/\/share-links$/);
    const url = await page.getByLabel('Share link').inputValue();
    await page.close();
    return url;
  }

  it('opens the report without a key, and nothing else', async () => {
    const url = await createLink(3);
    expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{43}$/);
    const stranger = await env.newContext();
    const page = await stranger.newPage();
    const res = await page.goto(url);
    expect(res?.status()).toBe(200);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Ada Lovelace');
    expect(await page.locator('[data-shared-report] [data-final-score]').count()).toBe(1);
    // Report only: no reviewer links, logs, downloads, decisions or notes on the decision.
    const hrefs = await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs.filter((h) => h!.startsWith('/review') || h!.includes('archive') || h!.includes('/code'))).toEqual([]);
    const text = (await page.locator('body').textContent())!;
    expect(text).not.toContain('Good answer on the call.');
    expect(text).not.toContain('Logs');
    expect(await page.locator('form').count()).toBe(0);
    // The link does not open the reviewer pages of the same submission.
    expect((await page.request.get(`/review/submissions/${ids.ada}/report.json`, { maxRedirects: 0 })).status()).toBe(303);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'shared-report.png'), fullPage: true });
  });

  it('is refused after it expires and after it is revoked; the expiry has a maximum', async () => {
    const expiring = await createLink(1);
    await env.ctx.db.query(
      `UPDATE share_links SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' WHERE revoked_at IS NULL AND expires_at < now() + interval '1 day 1 minute'`,
    );
    const stranger = await (await env.newContext()).newPage();
    expect((await stranger.goto(expiring))?.status()).toBe(404);
    expect(await stranger.getByRole('heading', { level: 1 }).textContent()).toBe('This link does not work');

    const revoked = await createLink(5);
    expect((await stranger.goto(revoked))?.status()).toBe(200);
    const page = await reviewer.newPage();
    await page.goto(`/review/submissions/${ids.ada}#share`);
    const live = page.locator('#share-links tr[data-share-link]').filter({ has: page.getByRole('button', { name: 'Revoke' }) });
    const before = await live.count();
    await live.first().getByRole('button', { name: 'Revoke' }).click();
    await page.waitForLoadState();
    expect(
      await page
        .locator('#share-links tr[data-share-link]')
        .filter({ has: page.getByRole('button', { name: 'Revoke' }) })
        .count(),
    ).toBe(before - 1);
    // Newest first: the link just revoked is the 5-day one.
    expect((await stranger.goto(revoked))?.status()).toBe(404);

    const csrf = await page.locator('#share input[name=_csrf]').first().inputValue();
    const tooLong = await page.request.post(`/review/submissions/${ids.ada}/share-links`, {
      form: { _csrf: csrf, report_id: (await env.ctx.reports.latest(ids.ada))!.id, expires_in_days: '365' },
    });
    expect(tooLong.status()).toBe(400);
    expect(await tooLong.text()).toContain('at most 30 days');
    await page.close();
  });
});

describe('phone width', () => {
  it('the list and compare pages do not scroll sideways at 390 px', async () => {
    const phone = await env.newContext({ viewport: { width: 390, height: 844 } });
    await phone.addCookies((await reviewer.cookies()).filter((c) => c.name === 'grader_session'));
    const page = await phone.newPage();
    await page.goto('/review/assessments/smoke-binary');
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-list-390.png'), fullPage: true });
    await page.goto(`/review/compare?ids=${ids.grace}&ids=${ids.ada}&ids=${ids.formula}`);
    expect(await page.locator('[data-compare-column]').count()).toBe(3);
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(390);
    // Each submission's charts, every label drawn at 10 px or more on the phone.
    expect(await page.locator('[data-compare-charts]').count()).toBe(3);
    const smallest = await page.locator('#compare-charts svg.chart').evaluateAll((svgs) =>
      svgs.map((svg) => {
        const scale = svg.getBoundingClientRect().width / (svg as SVGSVGElement).viewBox.baseVal.width;
        return Math.min(...Array.from(svg.querySelectorAll('text')).map((t) => parseFloat(getComputedStyle(t).fontSize) * scale));
      }),
    );
    expect(smallest.length).toBeGreaterThanOrEqual(3);
    for (const px of smallest) expect(px).toBeGreaterThanOrEqual(10);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'reviewer-compare-390.png'), fullPage: true });
  });
});
