import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRubric, type RubricError } from '../../../services/rubrics/rubric-schema.ts';
import { ROOT } from '../../support/context.ts';

const rubric = () => JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments/churn-messy-csv/rubric.json'), 'utf8'));
const issues = (input: unknown) => {
  try {
    parseRubric(input);
    return [];
  } catch (err) {
    return (err as RubricError).issues;
  }
};

describe('rubric: the similarity flag threshold', () => {
  it('is absent by default (information only) and nothing is written into the parsed rubric', () => {
    const parsed = parseRubric(rubric());
    expect(parsed.similarity).toBeUndefined();
    expect(Object.keys(parsed)).not.toContain('similarity');
  });

  it('keeps a threshold between the stored floor and 1', () => {
    expect(parseRubric({ ...rubric(), similarity: { flagAbove: 0.85 } }).similarity).toEqual({ flagAbove: 0.85 });
    expect(parseRubric({ ...rubric(), similarity: { flagAbove: 1 } }).similarity).toEqual({ flagAbove: 1 });
  });

  it('refuses a threshold below the stored floor, above 1, or an unknown field, naming the path', () => {
    expect(issues({ ...rubric(), similarity: { flagAbove: 0.1 } })).toEqual([{ path: 'similarity.flagAbove', message: 'flagAbove must be at least 0.2: weaker matches are not stored' }]);
    expect(issues({ ...rubric(), similarity: { flagAbove: 80 } })).toEqual([{ path: 'similarity.flagAbove', message: 'flagAbove must be at most 1' }]);
    expect(issues({ ...rubric(), similarity: { flagAbove: 0.8, weight: 10 } }).map((i) => i.path)).toEqual(['similarity']);
  });
});
