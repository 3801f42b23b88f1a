import { describe, expect, it } from 'vitest';
import type { Evidence } from '../../../services/checks/check-schema.ts';
import type { PostOutcome } from '../../../services/checks/harness-output.ts';
import { leakageTarget } from '../../../services/checks/leakage/target.ts';
import { context, LABELS, predictions } from './check-fixtures.ts';

/**
 * leakage.target names the lines where the post-outcome columns enter the features (as the harness's
 * lint_target.py found them), or says that the lint could not tell; only when predictions do change.
 */
const use = (over: Partial<PostOutcome['uses'][number]> = {}) => ({
  column: 'refund',
  file: 'solution.py',
  line: 20,
  code: 'FEATURES = ["plan", "refund"]',
  how: 'named in a list of columns',
  ...over,
});
const FLIPPED = { variants: { prediction_time: predictions(LABELS), as_recorded: predictions([1, 1, 0, 1, 0, 1, 0, 0, 1, 0]) } };
const SAME = { variants: { prediction_time: predictions(LABELS), as_recorded: predictions(LABELS) } };

interface Case {
  name: string;
  postOutcome: PostOutcome | null | undefined;
  flipped?: boolean;
  /** The location evidence expected after the flip count (label, detail fragment, where). */
  expected: { label: string; detail: string; file?: string; line?: number; code?: string }[];
}

const cases: Case[] = [
  {
    name: 'a column named in the feature list and followed to its use',
    postOutcome: { columns: ['refund'], uses: [use(), use({ line: 41, code: 'return df[FEATURES]', how: 'through `FEATURES` (line 20)' })], removed: [], unknown: [] },
    expected: [
      { label: 'refund enters the features', detail: 'named in a list of columns', file: 'solution.py', line: 20, code: 'FEATURES = ["plan", "refund"]' },
      { label: 'refund enters the features', detail: 'through `FEATURES` (line 20)', file: 'solution.py', line: 41, code: 'return df[FEATURES]' },
    ],
  },
  {
    name: 'a notebook: cell and line in the cell',
    postOutcome: {
      columns: ['refund'],
      uses: [
        use({ file: 'solution.ipynb#cell-4', line: 3, code: 'X = df.drop(columns=[TARGET])', how: 'never named: every column but the ones dropped here becomes a feature, refund included' }),
      ],
      removed: [],
      unknown: [],
    },
    expected: [{ label: 'refund enters the features', detail: 'refund included', file: 'solution.ipynb#cell-4', line: 3, code: 'X = df.drop(columns=[TARGET])' }],
  },
  {
    name: 'removed in the code, yet the model relies on it: the lint says it cannot tell',
    postOutcome: { columns: ['refund'], uses: [], removed: [use({ line: 9, code: 'df = df.drop(columns=["refund"])', how: 'removed here' })], unknown: ['refund'] },
    expected: [
      { label: 'refund: entry not found', detail: 'saw refund removed (solution.py:9) and found no line where it enters the features: it cannot tell', file: 'solution.py', line: 9 },
    ],
  },
  {
    name: 'never named and no drop of the target',
    postOutcome: { columns: ['refund'], uses: [], removed: [], unknown: ['refund'] },
    expected: [{ label: 'refund: entry not found', detail: 'found no line where refund enters the features and cannot tell' }],
  },
  {
    name: 'a harness that did not look (older harness, or its lint failed)',
    postOutcome: undefined,
    expected: [{ label: 'Where they enter the features', detail: 'did not look at the code for refund: it cannot tell which line' }],
  },
  {
    name: 'no flips: no lines, even where the column is named',
    postOutcome: { columns: ['refund'], uses: [use()], removed: [], unknown: [] },
    flipped: false,
    expected: [],
  },
];

describe('leakage.target names where the post-outcome columns enter the features', () => {
  it.each(cases)('$name', (c) => {
    const m = leakageTarget.measure(context({ train: c.postOutcome === undefined ? {} : { postOutcome: c.postOutcome }, predict: c.flipped === false ? SAME : FLIPPED }));
    expect(m.ran).toBe(true);
    const [flips, ...located] = m.evidence as [Evidence, ...Evidence[]];
    expect(flips.label).toBe('Prediction flips');
    expect(located).toHaveLength(c.expected.length);
    c.expected.forEach((want, i) => {
      const got = located[i]!;
      expect(got.label).toBe(want.label);
      expect(got.detail).toContain(want.detail);
      if (want.file !== undefined) expect({ file: got.file, line: got.line }).toEqual({ file: want.file, line: want.line });
      else expect(got.file).toBeUndefined();
      if (want.code !== undefined) expect(got.code).toBe(want.code);
    });
  });

  it('the failing verdict is unchanged: the lines are evidence, the flips decide', () => {
    const m = leakageTarget.measure(context({ train: { postOutcome: { columns: ['refund'], uses: [use()], removed: [], unknown: [] } }, predict: FLIPPED }));
    expect(leakageTarget.judge(m.values, { warnFlipRate: 0.01, failFlipRate: 0.03 }).status).toBe('fail');
  });
});
