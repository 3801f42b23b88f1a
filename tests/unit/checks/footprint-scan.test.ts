import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanModel, trainingFingerprint } from '../../../services/checks/footprint-scan.ts';
import { parseCsv } from '../../../services/assessments/dataset-store.ts';

// Pickles written by tests/fixtures/footprint/make.py from its train.csv.
const DIR = path.resolve(import.meta.dirname, '../../fixtures/footprint');
const fp = trainingFingerprint(parseCsv(fs.readFileSync(path.join(DIR, 'train.csv'), 'utf8')), 'customer_id');
const scan = (name: string) => scanModel(fs.readFileSync(path.join(DIR, name)), fp);

describe('training data inside a model file', () => {
  it('samples ids and runs of the clean numeric columns only', () => {
    expect(fp.ids.length).toBe(200);
    expect(new Set(fp.windows.map((w) => w.column))).toEqual(new Set(['tenure_months', 'monthly_charges']));
    // Integers are looked for as float64 and as int64; decimals as float64.
    expect(fp.windows.find((w) => w.column === 'tenure_months')!.encodings.length).toBe(2);
    expect(fp.windows.find((w) => w.column === 'monthly_charges')!.encodings.length).toBe(1);
  });

  it('finds nothing in a fitted pipeline (coefficients, scaler statistics)', () => {
    expect(scan('clean-model.pkl')).toMatchObject({ idsFound: 0, windowsFound: 0, columnsFound: [] });
  });

  it('finds the rows of a model that keeps the training frame', () => {
    const s = scan('keeps-frame.pkl');
    expect(s.idsFound).toBe(200);
    expect(s.windowsFound).toBeGreaterThan(s.windowsSampled * 0.9);
  });

  it('finds the numeric columns of a kept frame without ids or text', () => {
    const s = scan('keeps-numbers.pkl');
    expect(s.idsFound).toBe(0);
    expect(s.columnsFound.sort()).toEqual(['monthly_charges', 'tenure_months']);
  });
});
