import { Marked, type Tokens } from 'marked';
import { escapeHtml, SafeHtml } from './html.ts';

const SAFE_URL = /^(https?:|mailto:|#)/i;

function safeHref(href: string): string | null {
  const h = href.trim();
  // Scheme-less relative links would resolve against our own pages; only absolute web links,
  // mail links and in-page anchors are kept.
  return SAFE_URL.test(h) ? h : null;
}

/**
 * Markdown for untrusted text (candidate NOTES.md) and for our own briefs: raw HTML in the source
 * is shown as text, links keep only http(s)/mailto/#, and images become plain links (no remote
 * image loads, no tracking pixels on a reviewer's screen).
 */
const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    // Embedded documents sit under the page's own <h1>: their headings move one level down.
    heading(this: { parser: { parseInline(t: Tokens.Heading['tokens']): string } }, token: Tokens.Heading): string {
      const level = Math.min(6, token.depth + 1);
      return `<h${level}>${this.parser.parseInline(token.tokens)}</h${level}>\n`;
    },
    html(token: Tokens.HTML | Tokens.Tag): string {
      // Raw HTML is shown as the text it is; a block of it keeps its own paragraph.
      const text = escapeHtml(token.text);
      return 'block' in token && token.block ? `<p class="raw-html">${text.trimEnd()}</p>\n` : text;
    },
    link(this: { parser: { parseInline(t: Tokens.Link['tokens']): string } }, token: Tokens.Link): string {
      const text = this.parser.parseInline(token.tokens);
      const href = safeHref(token.href);
      if (!href) return text;
      const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
      return `<a href="${escapeHtml(href)}"${title} rel="nofollow noopener noreferrer">${text}</a>`;
    },
    image(token: Tokens.Image): string {
      const href = safeHref(token.href);
      const label = `image: ${token.text || 'untitled'}`;
      return href ? `<a href="${escapeHtml(href)}" rel="nofollow noopener noreferrer">[${escapeHtml(label)}]</a>` : `[${escapeHtml(label)}]`;
    },
  },
});

export function renderMarkdown(source: string): SafeHtml {
  return new SafeHtml(marked.parse(source, { async: false }) as string);
}
