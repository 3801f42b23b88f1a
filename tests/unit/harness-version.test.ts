import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HARNESS_VERSION } from '../../services/grading/harness-output.ts';

// Rescoring trusts a stored report only if the harness that measured it is the current one, so
// the version the harness writes and the one the service compares with must be the same.
describe('harness version', () => {
  it('is the same in the Python harness and in the service', () => {
    const py = fs.readFileSync(path.resolve(import.meta.dirname, '../../docker/runner/harness/common.py'), 'utf8');
    const m = py.match(/^HARNESS_VERSION = "([^"]+)"/m);
    expect(m?.[1]).toBe(HARNESS_VERSION);
  });
});
