import type { FastifyReply } from 'fastify';
import { html, type HtmlValue, type SafeHtml } from './html.ts';
import { assetUrl } from './static-assets.ts';

export interface ReviewerNav {
  name: string;
  role: string;
  csrf: string;
  current?: 'submissions' | 'invites';
}

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** Signed-in reviewer: shows the reviewer navigation and a sign-out button. */
  reviewer?: ReviewerNav | null;
  /** Extra <head> content we produce (e.g. the no-JS refresh). */
  head?: SafeHtml;
  scripts?: string[];
  /** Extra stylesheets from services/web/static, after app.css. */
  styles?: string[];
  /** Where the logo leads: the candidate's invite page; reviewers go to /review. */
  home?: string;
  narrow?: boolean;
}

/** The logo leads home; a page without one (an invalid invite link) shows it without a link. */
function brand(home: string | undefined): SafeHtml {
  const inner = html`<span class="brand-mark" aria-hidden="true">ml</span><span>ml-grader</span>`;
  return home ? html`<a class="brand" href="${home}">${inner}</a>` : html`<span class="brand">${inner}</span>`;
}

/** The page shell shared by candidate and reviewer pages. */
export function page(o: PageOptions): string {
  const nav = o.reviewer
    ? html`<nav class="site-nav" aria-label="Reviewer">
        <a href="/review" ${o.reviewer.current === 'submissions' ? html`aria-current="page"` : ''}>Assessments</a>
        <span class="who">Signed in as <strong>${o.reviewer.name}</strong> (${o.reviewer.role})</span>
        <form method="post" action="/review/sign-out">
          <input type="hidden" name="_csrf" value="${o.reviewer.csrf}">
          <button type="submit" class="link">Sign out</button>
        </form>
      </nav>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${o.title} · ml-grader</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetUrl('app.css')}">
${(o.styles ?? []).map((s) => html`<link rel="stylesheet" href="${assetUrl(s)}">`)}
${o.head ?? ''}
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><div class="inner">
  ${brand(o.reviewer ? '/review' : o.home)}
  ${nav}
</div></header>
<main id="main" tabindex="-1" ${o.narrow ? html`class="narrow"` : ''}>
${o.body}
</main>
<footer class="site-footer">ml-grader · machine-learning take-home grading</footer>
${(o.scripts ?? []).map((s) => html`<script src="${assetUrl(s)}" defer></script>`)}
</body>
</html>`.value;
}

const STATUS_LABEL: Record<string, { cls: string; text: string; icon: string }> = {
  pass: { cls: 'pass', text: 'Pass', icon: '✓' },
  warn: { cls: 'warn', text: 'Warning', icon: '!' },
  fail: { cls: 'fail', text: 'Fail', icon: '✕' },
  error: { cls: 'error', text: 'Error', icon: '✕' },
  skipped: { cls: 'skipped', text: 'Not run', icon: '–' },
  passed: { cls: 'pass', text: 'Passed', icon: '✓' },
  'not-passed': { cls: 'fail', text: 'Not passed', icon: '✕' },
  queued: { cls: 'neutral', text: 'Queued', icon: '…' },
  running: { cls: 'info', text: 'Grading', icon: '↻' },
  completed: { cls: 'pass', text: 'Graded', icon: '✓' },
  failed: { cls: 'error', text: 'Grading failed', icon: '✕' },
  // Graded, but the candidate's pipeline produced no predictions (a crash, timeout or broken contract).
  'did-not-run': { cls: 'warn', text: 'Graded — did not run', icon: '!' },
  invalid: { cls: 'error', text: 'Invalid', icon: '!' },
  active: { cls: 'pass', text: 'Active', icon: '✓' },
  expired: { cls: 'neutral', text: 'Expired', icon: '–' },
  used_up: { cls: 'neutral', text: 'Used up', icon: '–' },
  revoked: { cls: 'error', text: 'Withdrawn', icon: '✕' },
};

/** A status shown with colour, an icon and a word (never colour alone). */
export function badge(status: string, text?: HtmlValue): SafeHtml {
  const s = STATUS_LABEL[status] ?? { cls: 'neutral', text: status, icon: '•' };
  return html`<span class="badge badge-${s.cls}"><span aria-hidden="true">${s.icon}</span> ${text ?? s.text}</span>`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

/** A UTC timestamp that reads the same on screen, on paper and in tests. */
export function formatTime(d: Date | string | null | undefined): string {
  if (!d) return '—';
  const t = typeof d === 'string' ? new Date(d) : d;
  return `${t.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function timeTag(d: Date | string | null | undefined): SafeHtml {
  if (!d) return html`—`;
  const t = typeof d === 'string' ? new Date(d) : d;
  return html`<time datetime="${t.toISOString()}">${formatTime(t)}</time>`;
}

export const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

export function sendHtml(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}
