import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import ini from 'highlight.js/lib/languages/ini';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import r from 'highlight.js/lib/languages/r';
import sql from 'highlight.js/lib/languages/sql';
import yaml from 'highlight.js/lib/languages/yaml';
import { escapeHtml } from './html.ts';

// highlight.js (core plus the languages a submission holds): the most used highlighter, kept up,
// and it escapes the text it wraps (& < > " ') itself, so its output is our markup around escaped text.
for (const [name, lang] of Object.entries({ bash, ini, json, markdown, python, r, sql, yaml })) hljs.registerLanguage(name, lang);

const BY_EXTENSION: Record<string, string> = {
  py: 'python',
  ipynb: 'json',
  json: 'json',
  md: 'markdown',
  yml: 'yaml',
  yaml: 'yaml',
  toml: 'ini',
  cfg: 'ini',
  ini: 'ini',
  sh: 'bash',
  r: 'r',
  sql: 'sql',
};

export function languageOf(fileName: string): string | null {
  const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) ?? null;
}

const TAG = /<span class="[^"<>]*">|<\/span>/g;

/**
 * Splits highlighted markup into one string per source line: spans open at a line break are
 * closed at its end and opened again on the next line, so each line is well-formed on its own.
 */
function splitLines(markup: string): string[] {
  const lines: string[] = [];
  const open: string[] = [];
  let current = '';
  let last = 0;
  const text = (t: string) => {
    const parts = t.split('\n');
    current += parts[0];
    for (const part of parts.slice(1)) {
      lines.push(current + '</span>'.repeat(open.length));
      current = open.join('') + part;
    }
  };
  for (const m of markup.matchAll(TAG)) {
    text(markup.slice(last, m.index));
    if (m[0] === '</span>') open.pop();
    else open.push(m[0]);
    current += m[0];
    last = m.index + m[0].length;
  }
  text(markup.slice(last));
  lines.push(current);
  return lines;
}

/** Source text as highlighted HTML, one entry per line (escaped; our own spans only). */
export function highlightLines(source: string, fileName: string): string[] {
  const text = source.replace(/\r\n?/g, '\n');
  const lang = languageOf(fileName);
  const markup = lang ? hljs.highlight(text, { language: lang, ignoreIllegals: true }).value : escapeHtml(text);
  const lines = splitLines(markup);
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  return lines;
}
