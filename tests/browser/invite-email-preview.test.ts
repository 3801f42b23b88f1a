import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import path from 'node:path';
import { tarGzOfFolder } from '../support/archives.ts';
import { ADMIN, ROOT } from '../support/context.ts';
import { startSmtpTestServer } from '../support/smtp-test-server.ts';
import { signedInReviewer, startBrowserEnv, type BrowserEnv } from './support.ts';

const FROM = 'Hiring team <hiring@example.com>';
const BOUNCE = 'nobody@bounce.example.com';
let env: BrowserEnv;
let smtp: Awaited<ReturnType<typeof startSmtpTestServer>>;
let reviewer: BrowserContext;
let reviewerKey: string;

beforeAll(async () => {
  smtp = await startSmtpTestServer({ refuse: [BOUNCE] });
  // No worker: the one upload below stays queued, which is all the preview needs.
  env = await startBrowserEnv({ SMTP_HOST: '127.0.0.1', SMTP_PORT: smtp.port, SMTP_FROM: FROM, SMTP_TIMEOUT_MS: 5000 }, { worker: false });
  ({ context: reviewer, key: reviewerKey } = await signedInReviewer(env));
}, 120_000);

afterAll(async () => {
  await env?.close();
  await smtp?.close();
});

/** Fills the invite form on the assessment page and submits it; returns the page with the one-time link. */
async function createInvite(name: string, email: string, opts: { sendEmail?: boolean } = {}): Promise<{ page: Page; url: string; status: number }> {
  const page = await reviewer.newPage();
  await page.goto('/review/assessments/smoke-binary');
  await page.getByLabel('Candidate name').fill(name);
  await page.getByLabel('Candidate e-mail').fill(email);
  const box = page.getByLabel('E-mail the link to the candidate');
  expect(await box.isChecked()).toBe(true); // offered, and on by default, because SMTP is configured
  if (opts.sendEmail === false) await box.uncheck();
  const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create invite link' }).click()]);
  await page.waitForLoadState();
  return { page, url: (await page.locator('#invite-url').inputValue()).trim(), status: res.status() };
}

async function inviteRow(email: string) {
  const { rows } = await env.ctx.db.query(
    'SELECT id, attempts_used, (SELECT count(*)::int FROM submissions s WHERE s.invite_id = i.id) AS uploads FROM invites i WHERE candidate_email = $1',
    [email],
  );
  expect(rows).toHaveLength(1);
  return rows[0] as { id: string; attempts_used: number; uploads: number };
}

describe('e-mailing the invite link (SMTP)', () => {
  it('SMTP invite received by the test server: to the candidate, with the link, and no other secret', async () => {
    const before = smtp.received.length;
    const { page, url, status } = await createInvite('Ada <b>Lovelace</b>', 'ada@example.com');
    expect(status).toBe(201);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/i\/[\w.-]+$/);
    expect(await page.locator('[data-email]').getAttribute('data-email')).toBe('sent');
    expect(await page.locator('[data-email]').textContent()).toContain('e-mailed to ada@example.com');

    expect(smtp.received.length).toBe(before + 1);
    const mail = smtp.received[before]!;
    expect(mail.envelope.to).toEqual(['ada@example.com']);
    expect(mail.envelope.from).toBe('hiring@example.com');
    expect(mail.parsed.to && !Array.isArray(mail.parsed.to) ? mail.parsed.to.value : []).toEqual([{ name: 'Ada <b>Lovelace</b>', address: 'ada@example.com' }]);
    expect(mail.parsed.subject).toBe('Your take-home assessment: Smoke test: a small, clean binary classification task');
    expect(mail.parsed.html).toBe(false); // plain text only: nothing of the candidate's name is markup
    const text = mail.parsed.text!;
    expect(text).toContain(`\n${url}\n`);
    expect(text).toMatch(/Hello Ada <b>Lovelace<\/b>,/);
    expect(text).toMatch(/valid until .+ UTC and allows 3 uploads/);
    // The link is the only credential in it: no keys, no session, no signing secret, no reviewer.
    const cookies = await reviewer.cookies();
    for (const secret of [reviewerKey, ADMIN.authorization.slice('Bearer '.length), env.ctx.config.INVITE_SECRET, ...cookies.map((c) => c.value), 'Rita Reviewer'])
      expect(mail.raw).not.toContain(secret);
    expect(text.match(/https?:\/\/\S+/g)).toEqual([url]);

    // The e-mailed link is the candidate's page.
    const candidate = await (await env.newContext()).newPage();
    const res = await candidate.goto(url);
    expect(res?.status()).toBe(200);
    expect(await candidate.locator('h1').textContent()).toBe('Smoke test: a small, clean binary classification task');
  });

  it('unchecked: nothing is sent', async () => {
    const before = smtp.received.length;
    const { page, status } = await createInvite('Quiet Quentin', 'quentin@example.com', { sendEmail: false });
    expect(status).toBe(201);
    expect(await page.locator('[data-email]').count()).toBe(0);
    expect(smtp.received.length).toBe(before);
  });

  it('a refused recipient: the reviewer is told, and the invite and its link are kept', async () => {
    const before = smtp.received.length;
    const { page, url, status } = await createInvite('Bounce Betty', BOUNCE);
    expect(status).toBe(201);
    const notice = page.locator('[data-email="failed"]');
    expect(await notice.getAttribute('role')).toBe('alert');
    expect(await notice.textContent()).toMatch(new RegExp(`e-mail to ${BOUNCE} could not be sent.*550.*The invite is created and works`, 's'));
    expect(smtp.received.length).toBe(before);
    expect(await inviteRow(BOUNCE)).toMatchObject({ attempts_used: 0 });
    const candidate = await (await env.newContext()).newPage();
    expect((await candidate.goto(url))?.status()).toBe(200);
  });
});

describe('open as the candidate (preview)', () => {
  it('shows the candidate page read-only, labelled, and counts nothing', async () => {
    const { page, url } = await createInvite('Pre View', 'preview@example.com', { sendEmail: false });
    const token = url.slice(url.lastIndexOf('/') + 1);
    // One real upload through the candidate's link (queued: no worker), so the preview lists it.
    const candidate = await (await env.newContext()).newPage();
    await candidate.goto(url);
    const upload = await candidate.request.post(`${url}/submissions`, {
      multipart: { archive: { name: 'solution.tar.gz', mimeType: 'application/gzip', buffer: await smokeArchive() } },
      maxRedirects: 0,
    });
    expect(upload.status()).toBe(303);
    const counted = await inviteRow('preview@example.com');
    expect(counted).toMatchObject({ attempts_used: 1, uploads: 1 });

    // From the page that showed the link, and from the invites list.
    expect(await page.getByRole('link', { name: 'Open as the candidate' }).getAttribute('href')).toBe(`/review/invites/${counted.id}/preview`);
    await page.goto('/review/assessments/smoke-binary#invites');
    await page.getByRole('link', { name: 'Open the invite of Pre View as the candidate' }).click();
    await page.waitForURL(`**/review/invites/${counted.id}/preview`);

    const banner = page.locator('[data-preview-banner]');
    expect(await banner.textContent()).toMatch(/Preview: this is what Pre View sees at their invite link\. It is read-only/);
    expect(await page.title()).toMatch(/^Preview: Smoke test: a small, clean binary classification task/);
    // The candidate's page: same heading, greeting, uploads left and their upload listed...
    expect(await page.locator('h1').textContent()).toBe('Smoke test: a small, clean binary classification task');
    expect(await page.locator('.sub').first().textContent()).toContain('Hello Pre View.');
    expect(await page.locator('[data-uploads-left]').textContent()).toBe('2 of 3');
    expect(await page.getByRole('heading', { name: 'Upload your solution' }).count()).toBe(1);
    // ...with nothing that can upload, and nothing that carries the candidate's link.
    const form = page.locator('#upload form');
    expect(await form.getAttribute('action')).toBeNull();
    expect(await page.getByRole('button', { name: 'Upload and start grading' }).isDisabled()).toBe(true);
    expect(await page.locator('input[type=file]').isDisabled()).toBe(true);
    expect(await page.content()).not.toContain(token);
    expect(await page.locator('script[src]').count()).toBe(0);

    // The upload's status page, previewed the same way.
    await page.getByRole('link', { name: 'solution.tar.gz' }).click();
    await page.waitForURL(/\/review\/invites\/[\w-]+\/preview\/submissions\/[\w-]+$/);
    expect(await page.locator('[data-preview-banner]').count()).toBe(1);
    expect(await page.locator('h1').textContent()).toBe('Your submission is being graded');
    expect(await page.locator('[data-events-url]').count()).toBe(0);

    // Nothing was consumed or counted, and a POST to the preview goes nowhere.
    const post = await page.request.post(`/review/invites/${counted.id}/preview/submissions`, { form: { x: '1' } });
    expect(post.status()).toBe(404);
    expect(await inviteRow('preview@example.com')).toEqual(counted);

    // Reviewers only.
    const stranger = await (await env.newContext()).newPage();
    await stranger.goto(`/review/invites/${counted.id}/preview`);
    expect(stranger.url()).toContain('/review/sign-in');
  });
});

const smokeArchive = () => tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/good'));
