import { BASIS_TEXT, checkDefinition } from '../checks/check-catalog.ts';
import { locationText } from '../checks/evidence-location.ts';
import type { ReportDocument } from './report-schema.ts';
import { productionSection } from './render-production.ts';

const ICON: Record<string, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', error: 'ERROR', skipped: 'SKIP' };
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** A reviewer-readable Markdown rendering of a report (CLI --format md, downloads). */
export function renderMarkdown(r: ReportDocument): string {
  const out: string[] = [];
  out.push(`# Grading report: ${r.assessmentId}`, '');
  out.push(`**${r.passed ? 'Passed' : 'Not passed'} — ${r.score.toFixed(0)}/100.** ${r.verdict}`, '');
  if (r.topLine) out.push(r.topLine.sentence, '');
  out.push('## Categories', '', '| category | score | |', '|---|---|---|');
  for (const c of r.categories) out.push(`| ${c.id} | ${c.score === null ? 'n/a' : c.score.toFixed(0)} | ${cell(c.explanation)} |`);
  out.push('', '## Checks', '', '| check | status | basis | summary |', '|---|---|---|---|');
  for (const c of r.checks) {
    // Reports stored before checks recorded their basis take the catalogue's.
    const basis = c.basis ?? checkDefinition(c.id).basis;
    const label = c.status === 'pass' && basis === 'sandbox' ? 'in-sandbox evidence only, not confirmed on the host' : BASIS_TEXT[basis].label;
    out.push(`| \`${c.id}\` ${cell(c.title)} | ${ICON[c.status]} | ${label} | ${cell(c.summary)} |`);
  }
  const withEvidence = r.checks.filter((c) => c.evidence.length && c.status !== 'pass');
  if (withEvidence.length) {
    out.push('', '## Evidence', '');
    for (const c of withEvidence) {
      out.push(`### ${c.id}`, '');
      for (const e of c.evidence) {
        out.push(`- **${cell(e.label)}**: ${cell(e.detail)}${e.file ? ` (${locationText(e.file, e.line)})` : ''}`);
        if (e.code) out.push('', '  ```python', `  ${e.code}`, '  ```');
      }
      out.push('');
    }
  }
  const h = r.metrics.holdout;
  if (h) {
    out.push('', '## Hidden holdout', '');
    out.push(
      `- business cost: ${h.businessCost} (calling nobody: ${h.baselines.majorityCost}${h.baselines.referenceCost !== null ? `; reference model: ${h.baselines.referenceCost}` : ''})`,
    );
    out.push(`- balanced accuracy ${h.balancedAccuracy.toFixed(3)}, recall ${h.recall.toFixed(3)}, precision ${h.precision.toFixed(3)}`);
    if (h.rocAuc !== null) out.push(`- ROC-AUC ${h.rocAuc.toFixed(3)}, PR-AUC ${h.prAuc?.toFixed(3)}`);
    out.push(`- confusion: TP ${h.confusion.tp}, FN ${h.confusion.fn}, FP ${h.confusion.fp}, TN ${h.confusion.tn}`);
  }
  out.push(...productionSection(r));
  const p = r.provenance;
  out.push(
    '',
    '## Provenance',
    '',
    `submission sha256 \`${p.submissionSha256}\`; dataset ${p.datasetVersion} (\`${p.datasetSha256.slice(0, 12)}\`); rubric ${p.rubricId} v${p.rubricVersion}; runner \`${p.runnerImageDigest.slice(0, 19)}\`; harness ${p.harnessVersion}; seed ${p.seed}; graded ${p.gradedAt}.`,
    '',
  );
  return out.join('\n');
}
