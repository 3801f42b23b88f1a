import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/context.ts';

const run = promisify(execFile);

/**
 * The scale simulation (bench/simulate.ts, `npm run simulate`) at CI size: 1,000 uploads through
 * the real API, 2 worker processes × 10 slots on the timing sandbox, a 250-submission flood, one
 * worker SIGKILLed and replaced. The script asserts and exits 1 on a lost or duplicated grading or
 * an unfair wait; here its summary is checked too.
 */
describe('scale simulation, small', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simulate-')), 'result.json');
  afterAll(() => fs.rmSync(path.dirname(out), { recursive: true, force: true }));

  it('1,000 submissions, one worker killed: none lost, none twice, the flood does not hold up the other assessment', async () => {
    const args = [
      '--import',
      'tsx',
      'bench/simulate.ts',
      '--submissions',
      '1000',
      '--processes',
      '2',
      '--concurrency',
      '10',
      '--kills',
      '1',
      '--flood',
      '250',
      '--lock-ms',
      '5000',
      '--out',
      out,
    ];
    const result = await run(process.execPath, args, { cwd: ROOT, maxBuffer: 16 << 20, timeout: 600_000 }).catch((err: { code?: number; stderr?: string }) => {
      throw new Error(`bench/simulate.ts exited with ${err.code}: ${err.stderr?.slice(-3000)}`);
    });
    expect(result.stderr).not.toMatch(/FAILED/);
    const summary = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(summary.problems).toEqual([]);
    expect(summary.submissions).toBe(1000);
    expect(summary.lost).toBe(0);
    expect(summary.duplicates).toBe(0);
    expect(summary.killed).toBe(1);
    expect(summary.flood.probeWaitMs).toBeLessThanOrEqual(summary.flood.floodGradingMedianMs);
    expect(summary.flood.floodStillWaitingBehindProbe).toBeGreaterThan(0);
    expect(summary.queueOverheadMs.n).toBeGreaterThan(900);
  }, 660_000);
});
