import { html, type HtmlValue, type SafeHtml } from '../html.ts';
import { page, type ReviewerNav } from '../layout.ts';

export interface Problem {
  title: string;
  lead: HtmlValue;
  more?: SafeHtml;
  actions?: SafeHtml;
  /** Shown small, for support ("invite_expired", a request id...). */
  reference?: string;
  tone?: 'error' | 'warn' | 'info';
}

/** A clear page for something that went wrong: what happened, what to do next. Never a stack. */
export function problemPage(p: Problem, reviewer?: ReviewerNav | null): string {
  return page({
    title: p.title,
    narrow: true,
    reviewer,
    body: html`<div class="card problem">
      <p class="eyebrow">${p.tone === 'info' ? 'Note' : 'Something needs your attention'}</p>
      <h1>${p.title}</h1>
      <div class="notice ${p.tone ?? 'error'}" role="alert"><p>${p.lead}</p></div>
      ${p.more ?? ''}
      ${p.actions ? html`<div class="actions">${p.actions}</div>` : ''}
      ${p.reference ? html`<p class="code">Reference: ${p.reference}</p>` : ''}
    </div>`,
  });
}
