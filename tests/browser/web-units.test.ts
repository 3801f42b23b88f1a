import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashInviteToken, signInviteToken, verifyInviteToken } from '../../services/invites/invite-token.ts';
import { candidateView } from '../../services/web/candidate-view.ts';
import { html, escapeHtml, trusted } from '../../services/web/html.ts';
import { renderMarkdown } from '../../services/web/markdown.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';

// Pure pieces of the web experience, checked without a browser.
const SECRET = 'unit-test-secret-0123456789';

describe('invite tokens', () => {
  const id = crypto.randomUUID();
  const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);

  it('round-trips id and expiry, and only the secret that signed it verifies it', () => {
    const t = signInviteToken(SECRET, { inviteId: id, expiresAt });
    expect(t).toMatch(/^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
    expect(verifyInviteToken(SECRET, t)).toEqual({ inviteId: id, expiresAt });
    expect(verifyInviteToken('another-secret-0123456789', t)).toBeNull();
    expect(hashInviteToken(t)).toMatch(/^[a-f0-9]{64}$/);
    expect(hashInviteToken(t)).not.toContain(t);
  });

  it('refuses every single-character change and malformed shapes', () => {
    const t = signInviteToken(SECRET, { inviteId: id, expiresAt });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < t.length; i++) {
      if (t[i] === '.') continue;
      const other = alphabet[(alphabet.indexOf(t[i]!) + 1) % alphabet.length]!;
      expect(verifyInviteToken(SECRET, t.slice(0, i) + other + t.slice(i + 1))).toBeNull();
    }
    for (const bad of ['', '.', t.replace('.', ''), `${t}.x`, t.toUpperCase(), `${t} `, t.replace('.', '%2E')]) expect(verifyInviteToken(SECRET, bad)).toBeNull();
  });
});

describe('html templating', () => {
  it('escapes every interpolation unless it is our own markup', () => {
    const name = `<img src=x onerror="alert('1')">&`;
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;</p>',
    );
    expect(html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.value).toBe('<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>');
    expect(html`${null}${undefined}${false}${0}${trusted('<br>')}`.value).toBe('0<br>');
    expect(escapeHtml('`x`')).toBe('&#96;x&#96;');
  });
});

describe('safe Markdown', () => {
  it('renders Markdown and shows raw HTML as text', () => {
    const out = renderMarkdown('# Title\n\n<script>alert(1)</script>\n\nSome *text* <img src=x onerror=alert(1)> and `code <b>`\n').value;
    expect(out).toContain('<h2>Title</h2>');
    expect(out).toContain('<em>text</em>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(out).toContain('<code>code &lt;b&gt;</code>');
    expect(out).not.toMatch(/<script|<img/);
  });

  it('keeps only http(s), mailto and in-page links; images become links', () => {
    const out = renderMarkdown(
      '[a](javascript:alert(1)) [b](data:text/html,x) [c](https://ok.example "t\\"q") [d](mailto:x@example.com) [e](#top) [f](/review) ![i](https://img.example/p.png)',
    ).value;
    expect(out).not.toMatch(/javascript:|data:text|href="\/review"/);
    expect(out).toContain('<a href="https://ok.example" title="t&quot;q" rel="nofollow noopener noreferrer">c</a>');
    expect(out).toContain('href="mailto:x@example.com"');
    expect(out).toContain('href="#top"');
    expect(out).toContain('<a href="https://img.example/p.png" rel="nofollow noopener noreferrer">[image: i]</a>');
    expect(out).not.toContain('<img');
  });
});

describe("the candidate's view of a report", () => {
  const check = (id: string, visibility: 'hidden' | 'name' | 'summary' | 'full') => ({
    id,
    title: `title of ${id}`,
    category: 'leakage',
    status: 'fail',
    score: 0,
    weight: 1,
    severity: 'major',
    visibility,
    summary: `summary of ${id}`,
    explanation: `explanation of ${id}`,
    values: { secret: 0.123 },
    evidence: [{ label: 'evidence', detail: `evidence of ${id}`, file: 'solution.py', line: 3, code: 'x = 1' }],
  });
  const report = {
    score: 42,
    verdict: 'secret verdict',
    checks: [check('a', 'hidden'), check('b', 'name'), check('c', 'summary'), check('d', 'full')],
    metrics: { holdout: { rocAuc: 0.9 } },
    logs: [{ stdout: 'log' }],
  } as unknown as ReportDocument;

  it('shows each check only as far as its visibility allows, and nothing else', () => {
    const v = candidateView(report);
    expect(v).toEqual({
      checks: [
        { title: 'title of b' },
        { title: 'title of c', status: 'fail', summary: 'summary of c' },
        {
          title: 'title of d',
          status: 'fail',
          summary: 'summary of d',
          explanation: 'explanation of d',
          evidence: [{ label: 'evidence', detail: 'evidence of d', file: 'solution.py', line: 3, code: 'x = 1' }],
        },
      ],
    });
    expect(JSON.stringify(v)).not.toMatch(/title of a|secret|0\.9|log|42/);
  });
});
