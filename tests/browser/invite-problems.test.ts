import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Response } from 'playwright-core';
import { hashInviteToken, signInviteToken } from '../../services/invites/invite-token.ts';
import { InviteRepository } from '../../services/invites/invite-repository.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { ADMIN, ROOT } from '../support/context.ts';
import { SCREENSHOTS, contrastProblems, signInWith, startBrowserEnv, tempFile, type BrowserEnv } from './support.ts';

const LIMIT = 64 * 1024;
const SIGN_IN_FAILURES = 4;
let env: BrowserEnv;

beforeAll(async () => {
  // No worker: uploads stay queued, which is all these cases need (and shows the queue position).
  env = await startBrowserEnv({ UPLOAD_MAX_BYTES: LIMIT, SIGN_IN_FAILURES_PER_IP: SIGN_IN_FAILURES }, { worker: false });
});
afterAll(async () => {
  await env?.close();
});

async function invite(body: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
  const res = await env.app.inject({
    method: 'POST',
    url: '/v1/invites',
    headers: ADMIN,
    payload: { assessmentId: 'smoke-binary', candidateName: 'Test Candidate', candidateEmail: 'tc@example.com', ...body },
  });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function attemptsUsed(id: string): Promise<number> {
  const { rows } = await env.ctx.db.query('SELECT attempts_used FROM invites WHERE id = $1', [id]);
  return rows[0].attempts_used;
}

/** A clear page: our heading, the status we expect, no stack trace or JSON. */
async function expectProblemPage(page: Page, res: Response | null, status: number, heading: string) {
  expect(res?.status()).toBe(status);
  expect(res?.headers()['content-type']).toMatch(/^text\/html/);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(heading);
  const text = (await page.locator('body').textContent())!;
  expect(text).not.toMatch(/"error"|\.ts:\d+|at [\w.]+ \(|stack/i);
}

async function submitForm(page: Page, file: string): Promise<Response> {
  await page.setInputFiles('input[type=file]', file);
  const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Upload and start grading' }).click()]);
  await page.waitForLoadState();
  return res;
}

describe('invite links that cannot be used show their own page', () => {
  it('an expired link: 410 and a page that says so', async () => {
    const id = crypto.randomUUID();
    const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    const token = signInviteToken(env.ctx.config.INVITE_SECRET, { inviteId: id, expiresAt });
    await new InviteRepository(env.ctx.db).insert({
      id,
      assessmentId: 'smoke-binary',
      candidateName: 'Late Larry',
      candidateEmail: 'l@example.com',
      tokenSha256: hashInviteToken(token),
      expiresAt,
      maxAttempts: 2,
      createdBy: 'test',
    });
    const page = await (await env.newContext()).newPage();
    await expectProblemPage(page, await page.goto(`/i/${token}`), 410, 'This invite link has expired');
    expect(await page.getByRole('alert').textContent()).toMatch(/time to upload for this assessment is over/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'invite-expired.png') });
    // The data and the upload are closed too.
    expect((await page.request.get(`/i/${token}/files/train.csv`)).status()).toBe(410);
    const post = await page.request.post(`/i/${token}/submissions`, { multipart: { archive: { name: 'a.zip', mimeType: 'application/zip', buffer: Buffer.from('x') } } });
    expect(post.status()).toBe(410);
    expect(await attemptsUsed(id)).toBe(0);
  });

  it('tampered links (signature, payload, garbage): 404 and a page that says the link is not valid', async () => {
    const { token } = await invite();
    const [payload, sig] = token.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const page = await (await env.newContext()).newPage();
    for (const bad of [`${payload}.${flip(sig, 5)}`, `${flip(payload, 25)}.${sig}`, `${payload}.${sig}x`, 'not-a-token', `${payload}`]) {
      await expectProblemPage(page, await page.goto(`/i/${bad}`), 404, 'This invite link is not valid');
    }
    // A link signed with another secret is not ours either.
    const forged = signInviteToken('some-other-secret-0123456789', { inviteId: crypto.randomUUID(), expiresAt: new Date(Date.now() + 3600_000) });
    await expectProblemPage(page, await page.goto(`/i/${forged}`), 404, 'This invite link is not valid');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'invite-invalid.png') });
    // The real one still works.
    expect((await page.goto(`/i/${token}`))!.status()).toBe(200);
  });

  it('a withdrawn invite (API): 410 and its own page; withdrawing is idempotent and scoped', async () => {
    const { id, token } = await invite();
    const other = await env.app.apiKeys.create({ name: 'Other team', role: 'reviewer', assessmentIds: ['churn-messy-csv'] });
    const foreign = await env.app.inject({ method: 'POST', url: `/v1/invites/${id}/withdraw`, headers: { authorization: `Bearer ${other.key}` } });
    expect(foreign.statusCode).toBe(404);
    const first = await env.app.inject({ method: 'POST', url: `/v1/invites/${id}/withdraw`, headers: ADMIN });
    expect(first.statusCode).toBe(200);
    expect(Date.parse(first.json().revokedAt)).toBeLessThanOrEqual(Date.now());
    const again = await env.app.inject({ method: 'POST', url: `/v1/invites/${id}/withdraw`, headers: ADMIN });
    expect(again.json().revokedAt).toBe(first.json().revokedAt);
    const page = await (await env.newContext()).newPage();
    await expectProblemPage(page, await page.goto(`/i/${token}`), 410, 'This invite has been withdrawn');
  });

  it('a used-up invite: 410, listing the uploads already made; the queue position shows meanwhile', async () => {
    const { id, token } = await invite({ maxAttempts: 1 });
    const page = await (await env.newContext({ javaScriptEnabled: false })).newPage();
    await page.goto(`/i/${token}`);
    const archive = tempFile('solution.tar.gz', await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/good')));
    const res = await submitForm(page, archive);
    expect(res.status()).toBe(303);
    expect(page.url()).toMatch(/\/submissions\/[0-9a-f-]{36}$/);
    expect(await page.locator('[data-phase-label]').textContent()).toMatch(/^Queued: number \d+ in line\.$/);
    // Without JavaScript the status page refreshes itself.
    expect(await page.locator('noscript').innerHTML()).toContain('http-equiv="refresh"');
    expect(await attemptsUsed(id)).toBe(1);
    await expectProblemPage(page, await page.goto(`/i/${token}`), 410, 'All uploads for this invite have been used');
    expect(await page.getByRole('link', { name: 'solution.tar.gz' }).count()).toBe(1);
    // Another upload through the same link is refused with the same page, and counts nothing.
    const again = await page.request.post(`/i/${token}/submissions`, { multipart: { archive: { name: 'b.tar.gz', mimeType: 'application/gzip', buffer: Buffer.from('x') } } });
    expect(again.status()).toBe(410);
    expect(await attemptsUsed(id)).toBe(1);
  });

  it("a submission of another invite is not reachable through this invite's link", async () => {
    const a = await invite({ maxAttempts: 2 });
    const b = await invite();
    const page = await (await env.newContext({ javaScriptEnabled: false })).newPage();
    await page.goto(`/i/${a.token}`);
    await submitForm(page, tempFile('s.tar.gz', await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/good'))));
    const subId = page.url().split('/').pop()!;
    await expectProblemPage(page, await page.goto(`/i/${b.token}/submissions/${subId}`), 404, 'This invite link is not valid');
    expect((await page.request.get(`/i/${b.token}/submissions/${subId}/events`)).status()).toBe(404);
  });
});

describe('uploads that cannot be graded show their own page and do not use an attempt', () => {
  it('too large, without JavaScript: 413 page (announced size and streamed size)', async () => {
    const { id, token } = await invite();
    const page = await (await env.newContext({ javaScriptEnabled: false })).newPage();
    for (const size of [5 * LIMIT, LIMIT + 10 * 1024]) {
      await page.goto(`/i/${token}`);
      const res = await submitForm(page, tempFile('huge.tar.gz', crypto.randomBytes(size)));
      await expectProblemPage(page, res, 413, 'This file is too large');
      expect(await page.getByRole('alert').textContent()).toMatch(/at most 64\.0 KB.*not counted/);
    }
    await page.screenshot({ path: path.join(SCREENSHOTS, 'upload-too-large.png') });
    await page.getByRole('link', { name: 'Back to the upload form' }).click();
    expect(await page.locator('[data-uploads-left]').textContent()).toBe('3 of 3');
    expect(await attemptsUsed(id)).toBe(0);
  });

  it('too large, with JavaScript: refused before sending, with a message next to the field', async () => {
    const { token } = await invite();
    const page = await (await env.newContext()).newPage();
    await page.goto(`/i/${token}`);
    let posts = 0;
    page.on('request', (r) => void (r.method() === 'POST' && posts++));
    await page.setInputFiles('input[type=file]', tempFile('huge.zip', crypto.randomBytes(2 * LIMIT)));
    await expect.poll(() => page.locator('[data-upload-message]').textContent()).toMatch(/“huge.zip” is 128 KB, larger than the limit of 64 KB/);
    await page.getByRole('button', { name: 'Upload and start grading' }).click();
    expect(await page.locator('[data-upload-message]').getAttribute('class')).toContain('error');
    expect(posts).toBe(0);
  });

  it('not an archive, without JavaScript: 400 page naming the file', async () => {
    const { id, token } = await invite();
    const page = await (await env.newContext({ javaScriptEnabled: false })).newPage();
    await page.goto(`/i/${token}`);
    const res = await submitForm(page, tempFile('notes.txt', 'just some notes, not an archive\n'));
    await expectProblemPage(page, res, 400, 'This file is not an archive');
    expect(await page.getByRole('alert').textContent()).toContain('“notes.txt” is not a .zip or .tar.gz archive');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'upload-not-an-archive.png') });
    expect(await attemptsUsed(id)).toBe(0);
  });

  it('not an archive, with JavaScript: the upload goes through the progress bar and the same page replaces the form', async () => {
    const { id, token } = await invite();
    const page = await (await env.newContext()).newPage();
    await page.goto(`/i/${token}`);
    // Named like an archive, so the client-side check lets it through to the server.
    const res = await submitForm(page, tempFile('fake.zip', 'PK? no, just text pretending to be a zip\n'));
    expect(res.status()).toBe(400);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('This file is not an archive');
    expect(await attemptsUsed(id)).toBe(0);
    // A name that is plainly not an archive is caught before sending.
    await page.goto(`/i/${token}`);
    await page.setInputFiles('input[type=file]', tempFile('data.csv', 'a,b\n1,2\n'));
    await expect.poll(() => page.locator('[data-upload-message]').textContent()).toMatch(/does not look like a .zip or .tar.gz archive/);
  });

  it('a valid upload with JavaScript shows the progress bar and lands on the status page', async () => {
    const { token } = await invite();
    const page = await (await env.newContext()).newPage();
    await page.goto(`/i/${token}`);
    await page.setInputFiles('input[type=file]', tempFile('ok.tar.gz', await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/good'))));
    // Hold the request so the progress bar can be seen before the response.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/submissions', async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('button', { name: 'Upload and start grading' }).click();
    await page.locator('[data-upload-progress]').waitFor({ state: 'visible' });
    expect(await page.getByRole('button', { name: 'Upload and start grading' }).isDisabled()).toBe(true);
    release();
    await page.waitForURL(/\/submissions\/[0-9a-f-]{36}$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your submission is being graded');
  });
});

describe('reviewer sessions and pages without a report', () => {
  const signedIn = (key: string) => signInWith(env, key);

  it('a session ends at its expiry and when its API key is revoked', async () => {
    const created = await env.app.apiKeys.create({ name: 'Temp Reviewer', role: 'reviewer', assessmentIds: ['smoke-binary'] });
    const page = await signedIn(created.key);
    await env.ctx.db.query("UPDATE web_sessions SET expires_at = now() - interval '1 second' WHERE name = 'Temp Reviewer'");
    await page.goto('/review/assessments/smoke-binary');
    expect(new URL(page.url()).pathname).toBe('/review/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/review/assessments/smoke-binary');
    // Signing in again returns to where the reviewer was going.
    await page.getByLabel('API key').fill(created.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/review\/assessments\/smoke-binary$/);
    await env.app.apiKeys.revoke(created.id);
    await page.goto('/review');
    expect(new URL(page.url()).pathname).toBe('/review/sign-in');
    // An open redirect through ?next= is not possible.
    await page.goto('/review/sign-in?next=https://evil.example/');
    expect(await page.locator('input[name=next]').inputValue()).toBe('/review');
  });

  it('a scoped key sees only its assessments; a queued submission shows its status instead of a report', async () => {
    const scoped = await env.app.apiKeys.create({ name: 'Scoped', role: 'reviewer', assessmentIds: ['churn-messy-csv'] });
    const page = await signedIn(scoped.key);
    expect(await page.locator('main h2').allTextContents()).toEqual([env.ctx.assessments.get('churn-messy-csv').manifest.title]);
    const res = await page.goto('/review/assessments/smoke-binary');
    await expectProblemPage(page, res, 404, 'Page not found');

    const admin = await signedIn(ADMIN.authorization.replace('Bearer ', ''));
    await admin.goto('/review/assessments/smoke-binary');
    await admin.locator('tr[data-submission] a').first().click();
    expect(await admin.getByRole('heading', { level: 1 }).textContent()).toMatch(/no report yet$/);
    expect(await admin.locator('main').textContent()).toMatch(/Queued/);
    const subId = admin.url().split('/').pop()!;
    expect((await admin.request.get(`/review/submissions/${subId}/report.json`)).status()).toBe(404);
    const other = await page.goto(`/review/submissions/${subId}`);
    await expectProblemPage(page, other, 404, 'Page not found');
  });

  it('a reviewer withdraws an invite from the submissions page; its link stops working', async () => {
    const { id, token } = await invite({ candidateName: 'Withdrawn Wendy' });
    const admin = await signedIn(ADMIN.authorization.replace('Bearer ', ''));
    await admin.goto('/review/assessments/smoke-binary');
    const row = admin.locator('tr', { hasText: 'Withdrawn Wendy' });
    await row.getByRole('link', { name: 'Withdraw the invite of Withdrawn Wendy' }).click();
    // A confirmation step first (a page with a form: no script needed).
    expect(await admin.getByRole('heading', { level: 1 }).textContent()).toBe('Withdraw the invite of Withdrawn Wendy?');
    await admin.getByRole('button', { name: 'Withdraw the invite' }).click();
    await admin.waitForURL(/\/review\/assessments\/smoke-binary/);
    await expect(admin.locator('tr', { hasText: 'Withdrawn Wendy' }).textContent()).resolves.toMatch(/Withdrawn/);
    expect(await admin.locator('tr', { hasText: 'Withdrawn Wendy' }).getByRole('button').count()).toBe(0);
    expect((await env.ctx.db.query('SELECT revoked_at FROM invites WHERE id = $1', [id])).rows[0].revoked_at).not.toBeNull();
    const candidate = await (await env.newContext()).newPage();
    await expectProblemPage(candidate, await candidate.goto(`/i/${token}`), 410, 'This invite has been withdrawn');
    // Without the session's CSRF token nothing is withdrawn.
    const fresh = await invite({ candidateName: 'Kept Kim' });
    const forged = await admin.request.post(`/review/invites/${fresh.id}/withdraw`, { form: { _csrf: 'forged' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await env.ctx.db.query('SELECT revoked_at FROM invites WHERE id = $1', [fresh.id])).rows[0].revoked_at).toBeNull();
  });

  it('a grading that failed for a system reason: the reviewer page offers "Grade again", which queues a new grading of the stored archive', async () => {
    const { token } = await invite();
    const candidate = await (await env.newContext({ javaScriptEnabled: false })).newPage();
    await candidate.goto(`/i/${token}`);
    const archive = tempFile('again.tar.gz', await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/good')));
    expect((await submitForm(candidate, archive)).status()).toBe(303);
    const subId = candidate.url().split('/').pop()!;
    await env.ctx.db.query(`UPDATE gradings SET status = 'failed', phase = 'failed', attempts = 6, last_error = 'docker: engine unreachable' WHERE submission_id = $1`, [subId]);
    // The candidate is told it was not their code, and nothing is promised that nobody schedules.
    await candidate.reload();
    expect(await candidate.locator('main').textContent()).toMatch(/not caused by your code.*can start the grading again/s);

    const admin = await signedIn(ADMIN.authorization.replace('Bearer ', ''));
    await admin.goto(`/review/submissions/${subId}`);
    expect(await admin.locator('main').textContent()).toMatch(/failed for a system reason after 6 attempt/);
    await admin.getByRole('button', { name: 'Grade again' }).click();
    await admin.waitForURL(new RegExp(`/review/submissions/${subId}$`));
    expect(await admin.getByRole('button', { name: 'Grade again' }).count()).toBe(0);
    const { rows } = await env.ctx.db.query('SELECT reason, status FROM gradings WHERE submission_id = $1 ORDER BY queued_at', [subId]);
    expect(rows).toEqual([
      { reason: 'initial', status: 'failed' },
      { reason: 'retry', status: 'queued' },
    ]);
  });

  it('failed sign-ins are limited per address: then even the right key gets 429 with Retry-After', async () => {
    const signIn = (key: string, remoteAddress: string) =>
      env.app.inject({
        method: 'POST',
        url: '/review/sign-in',
        remoteAddress,
        payload: new URLSearchParams({ api_key: key, next: '/review' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const good = ADMIN.authorization.replace('Bearer ', '');
    for (let i = 0; i < SIGN_IN_FAILURES; i++) expect((await signIn(`gk_guess_${i}`, '10.9.8.7')).statusCode).toBe(401);
    const locked = await signIn(good, '10.9.8.7');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.body).toMatch(/Too many failed sign-ins/);
    expect(locked.headers['set-cookie']).toBeUndefined();
    // Another address is not affected, and successful sign-ins do not count.
    for (let i = 0; i < SIGN_IN_FAILURES + 1; i++) expect((await signIn(good, '10.9.8.6')).statusCode).toBe(303);
  });

  it('unknown addresses under /i and /review get a page, not JSON', async () => {
    const page = await (await env.newContext()).newPage();
    await expectProblemPage(page, await page.goto('/i/abc/def/ghi'), 404, 'Page not found');
    await expectProblemPage(page, await page.goto('/review/no/such/page'), 404, 'Page not found');
  });

  it('the contrast check used by the other tests does catch low contrast', async () => {
    const page = await (await env.newContext()).newPage();
    await page.setContent('<p style="color:#bbb;background:#fff">faint</p><p style="color:#333">fine</p>');
    expect(await contrastProblems(page)).toEqual([{ text: 'faint', ratio: 1.92 }]);
  });
});
