import { describe, expect, it } from 'vitest';
import type { CohortRow } from '../../services/web/cohort-queries.ts';
import { cohortCsv } from '../../services/web/routes/cohort-routes.ts';

const row = (over: Partial<CohortRow>): CohortRow => ({
  id: '00000000-0000-4000-8000-000000000001',
  candidate: 'Ada',
  candidateEmail: 'ada@example.com',
  fileName: 'a.zip',
  createdAt: new Date('2026-01-02T03:04:05Z'),
  status: 'completed',
  phase: 'done',
  reportId: null,
  automaticScore: 80,
  finalScore: 80,
  passed: true,
  invalid: false,
  manualScored: 1,
  manualTotal: 2,
  flags: ['leakage.target'],
  decision: null,
  earlier: [],
  similarityFlag: null,
  similarityTop: null,
  position: { quality: { betterThan: 0.8, of: 6 }, score: { betterThan: 2 / 3, of: 7 } },
  ...over,
});

describe('cohort CSV', () => {
  it('quotes commas, quotes and line breaks, and defuses cells a spreadsheet would run as formulas', () => {
    const csv = cohortCsv([
      row({ candidate: '=1+1', candidateEmail: '@x', fileName: '+cmd|calc', decision: { decision: 'hold', note: '-2, "maybe"\nlater', by: 'Rita', at: new Date() } }),
      row({ candidate: 'Plain, Name' }),
    ]);
    const lines = csv.split('\r\n');
    expect(lines[0]!.split(',')).toHaveLength(19);
    expect(lines[1]).toBe(
      `'=1+1,'@x,'+cmd|calc,2026-01-02T03:04:05.000Z,1,completed,passed (provisional),80.0,80.0,1 of 2,Hold,Rita,"'-2, ""maybe""\nlater",No reliance on information from after the outcome,00000000-0000-4000-8000-000000000001,80,67,,no`,
    );
    expect(lines[2]).toMatch(/^"Plain, Name",ada@example\.com,/);
  });

  it('the cohort percentiles are whole percents, empty without the measure or anyone to compare with', () => {
    const csv = cohortCsv([row({ position: { quality: null, score: { betterThan: 0, of: 1 } } }), row({ position: { quality: { betterThan: 0, of: 2 }, score: { betterThan: 1, of: 2 } } })]);
    const [, first, second] = csv.split('\r\n');
    expect(first).toMatch(/,00000000-0000-4000-8000-000000000001,,,,no$/);
    expect(second).toMatch(/,00000000-0000-4000-8000-000000000001,0,100,,no$/);
  });

  it('the similarity columns come last: the highest match in whole percent (empty without a stored match) and whether the rubric flags it', () => {
    const csv = cohortCsv([row({ similarityTop: 0.949999988079071, similarityFlag: 0.949999988079071 }), row({ similarityTop: 0.7 }), row({})]);
    const [header, flagged, below, none] = csv.split('\r\n');
    expect(header).toMatch(/,score_beats_pct,similarity_top_pct,similarity_flagged$/);
    expect(flagged).toMatch(/,80,67,95,yes$/);
    expect(below).toMatch(/,80,67,70,no$/);
    expect(none).toMatch(/,80,67,,no$/);
  });

  it('a graded submission whose pipeline did not run reads "invalid", not "not passed"', () => {
    const csv = cohortCsv([row({ passed: false, invalid: true, flags: ['contract.interface'] })]);
    expect(csv.split('\r\n')[1]).toContain(',completed,invalid (did not run),');
  });
});

describe('cohort list verdict cell', () => {
  it('shows Invalid for a pipeline that did not run, apart from a real "not passed"', async () => {
    const { verdictCell } = await import('../../services/web/pages/cohort-page.ts');
    const cell = (over: Partial<CohortRow>) => String(verdictCell(row(over)));
    expect(cell({ passed: false, invalid: true })).toMatch(/Invalid[\s\S]*did not run/);
    expect(cell({ passed: false, invalid: false })).toContain('Not passed');
    expect(cell({ passed: false, invalid: false })).not.toContain('Invalid');
  });
});

describe('cohort list position column', () => {
  it('shows the percentiles of the latest attempt, a dash without a measure or anyone to compare with', async () => {
    const { cohortSection } = await import('../../services/web/pages/cohort-page.ts');
    const { cohortQuerySchema } = await import('../../services/web/cohort-queries.ts');
    const section = (position: CohortRow['position']) => String(cohortSection({ assessmentId: 'a', rows: [row({ position })], total: 1, flagsSeen: [], query: cohortQuerySchema.parse({}) }));
    const cell = (html: string) => html.match(/<td class="small" data-position>([\s\S]*?)<\/td>/)![1]!.replace(/<[^>]+>/g, '');
    expect(cell(section(row({}).position))).toBe('saved 80%score 67%');
    expect(cell(section({ quality: null, score: { betterThan: 0, of: 1 } }))).toBe('saved —score —');
    expect(section(row({}).position)).toMatch(/<th scope="col"><abbr title="[^"]*Reviewers only\.">Beats<\/abbr><\/th>/);
  });
});
