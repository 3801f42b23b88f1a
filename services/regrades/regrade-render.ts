import type { DiffRow, DiffSummary } from './regrade-diff.ts';

/** What the renderers need of a finished regrade (the GET /v1/regrades/:id answer). */
export interface RenderableRegrade {
  id: string;
  assessmentId: string;
  rubricVersion: number;
  dryRun: boolean;
  status: string;
  path: string | null;
  rescoreMs: number | null;
  counts: { total: number; rescored: number; rerun: number };
  diff: { summary: DiffSummary; rows: DiffRow[] } | null;
}

// XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates and U+FFFE/U+FFFF.
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/g;
export const xml = (s: string) => s.replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** Candidate-supplied text in a Markdown table cell: no markup, links, HTML or line breaks. */
export const mdCell = (s: string) => s.replace(/[\r\n]+/g, ' ').replace(/([\\`*_{}[\]()#+!|<>~])/g, '\\$1');

const label = (r: DiffRow) => (r.candidate ? `${r.candidate} (${r.fileName})` : r.fileName);
const verdict = (passed: boolean) => (passed ? 'passed' : 'not passed');
const side = (s: DiffRow['old']) => (s ? `${s.score.toFixed(1)} ${verdict(s.passed)}${s.rubricVersion !== null ? ` (v${s.rubricVersion})` : ''}` : '—');

/**
 * JUnit XML: one testcase per submission. A verdict flip is a failure, a submission that could
 * not be regraded an error, one left out (dry run without a sandbox re-run, still grading) skipped.
 */
export function renderJunit(g: RenderableRegrade): string {
  const rows = g.diff?.rows ?? [];
  const failures = rows.filter((r) => r.flip).length;
  const errors = rows.filter((r) => r.status === 'failed').length;
  const skipped = rows.filter((r) => r.status === 'skipped').length;
  const name = `regrade ${g.assessmentId} to rubric v${g.rubricVersion}${g.dryRun ? ' (dry run)' : ''}`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(name)}" tests="${rows.length}" failures="${failures}" errors="${errors}" skipped="${skipped}">`,
    `  <testsuite name="${xml(name)}" tests="${rows.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${((g.rescoreMs ?? 0) / 1000).toFixed(3)}">`,
    `    <properties><property name="regradeId" value="${xml(g.id)}"/><property name="path" value="${xml(g.path ?? 'none')}"/></properties>`,
  ];
  for (const r of rows) {
    const open = `    <testcase classname="${xml(g.assessmentId)}" name="${xml(`${r.submissionId} ${label(r)}`)}" time="0">`;
    const detail = `${side(r.old)} -> ${side(r.new)}; path: ${r.path} (${r.pathReason})`;
    if (r.flip)
      out.push(
        open,
        `      <failure type="verdict_flip" message="${xml(`verdict flipped: ${r.flip === 'pass_to_fail' ? 'passed -> not passed' : 'not passed -> passed'}`)}">${xml(detail)}</failure>`,
        '    </testcase>',
      );
    else if (r.status === 'failed') out.push(open, `      <error type="regrade_failed" message="${xml(r.error ?? 'regrade failed')}">${xml(detail)}</error>`, '    </testcase>');
    else if (r.status === 'skipped') out.push(open, `      <skipped message="${xml(r.error ?? r.pathReason)}"/>`, '    </testcase>');
    else out.push(open, `      <system-out>${xml(detail)}</system-out>`, '    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

/** A Markdown summary a pipeline can post as a pull-request comment. */
export function renderRegradeMarkdown(g: RenderableRegrade, opts: { maxRows?: number } = {}): string {
  const max = opts.maxRows ?? 50;
  const s = g.diff?.summary;
  const rows = g.diff?.rows ?? [];
  const out: string[] = [];
  out.push(`### Rubric regrade: \`${g.assessmentId}\` → v${g.rubricVersion}${g.dryRun ? ' (dry run, nothing published)' : ''}`, '');
  if (!s) {
    out.push(`Regrade \`${g.id}\` is ${g.status}; no diff yet.`, '');
    return out.join('\n');
  }
  const how =
    g.path === 'rescore'
      ? 'rescored from stored measurements, no sandbox run'
      : g.path === 'sandbox'
        ? 're-run in the sandbox (harness or dataset changed)'
        : g.path === 'mixed'
          ? `${g.counts.rescored} rescored from stored measurements, ${g.counts.rerun} re-run in the sandbox`
          : 'nothing to regrade';
  out.push(
    `**${s.flips === 0 ? 'No verdict changed' : `${s.flips} verdict${s.flips === 1 ? '' : 's'} flipped`}** (${s.passToFail} passed → not passed, ${s.failToPass} not passed → passed) among ${s.total} submission${s.total === 1 ? '' : 's'}; path: ${how}.`,
    '',
    '| | submissions |',
    '|---|---|',
    `| verdict flipped | ${s.flips} |`,
    `| score changed, same verdict | ${s.scoreChanged} |`,
    `| unchanged | ${s.unchanged} |`,
    ...(s.failed ? [`| could not be regraded | ${s.failed} |`] : []),
    ...(s.skipped ? [`| left out | ${s.skipped} |`] : []),
    '',
  );
  const table = (title: string, list: DiffRow[]) => {
    if (!list.length) return;
    out.push(`#### ${title}`, '', '| submission | before | after | Δ score |', '|---|---|---|---|');
    for (const r of list.slice(0, max))
      out.push(
        `| \`${r.submissionId.slice(0, 8)}\` ${mdCell(label(r))} | ${side(r.old)} | ${r.status === 'failed' ? `failed: ${mdCell(r.error ?? '')}` : side(r.new)} | ${r.scoreDelta === null ? '—' : `${r.scoreDelta > 0 ? '+' : ''}${r.scoreDelta.toFixed(1)}`} |`,
      );
    if (list.length > max) out.push(`| … ${list.length - max} more | | | |`);
    out.push('');
  };
  table(
    'Verdict flips',
    rows.filter((r) => r.flip),
  );
  table(
    'Could not be regraded',
    rows.filter((r) => r.status === 'failed'),
  );
  table(
    'Score changes',
    rows.filter((r) => !r.flip && r.status === 'done' && r.scoreDelta),
  );
  out.push(`<sub>regrade \`${g.id}\`${g.rescoreMs !== null ? `, rescoring took ${g.rescoreMs} ms` : ''}</sub>`, '');
  return out.join('\n');
}
