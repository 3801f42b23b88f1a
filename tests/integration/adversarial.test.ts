import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../services/context.ts';
import type { ReportDocument } from '../../services/reports/report-schema.ts';
import { ROOT, testContext } from '../support/context.ts';
import { makeTarGz } from '../support/archives.ts';
import { gradeArchive } from '../support/grade-archive.ts';
import { recordCase } from '../support/security-cases.ts';

/**
 * Candidates who read the harness and try to flip a verdict without fixing their pipeline. Each
 * tampering submission is an honest, flawed reference submission (its twin, graded with exact
 * statuses by churn-reference.test.ts) with tampering code appended; it must get exactly the twin's
 * statuses: the leak stays caught and nothing clean is accused.
 */
const CHURN = path.join(ROOT, 'tests/fixtures/submissions/churn');
const TAMPER = path.join(ROOT, 'tests/fixtures/submissions/adversarial');
const expected: Record<string, { checks: Record<string, string> }> = JSON.parse(fs.readFileSync(path.join(CHURN, 'expected.json'), 'utf8'));

// Under gVisor's ptrace platform a grading takes 5-6x as long (every process start is expensive).
const SLOW = 600_000;
let ctx: Context;
let work: string;
beforeAll(async () => {
  ctx = await testContext({ PHASE_TIMEOUT_CAP_S: 90 });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'adversarial-'));
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The twin's folder with its solution.py followed by the tampering code. */
async function gradeTampered(twin: string, tamper: string): Promise<ReportDocument> {
  const entries = fs.readdirSync(path.join(CHURN, twin)).map((name) => {
    let data = fs.readFileSync(path.join(CHURN, twin, name));
    if (name === 'solution.py') data = Buffer.concat([data, fs.readFileSync(path.join(TAMPER, '_detach.py')), fs.readFileSync(path.join(TAMPER, `${tamper}.py`))]);
    return { name, data };
  });
  return gradeArchive(ctx, 'churn-messy-csv', tamper, await makeTarGz(entries), work);
}

// Under gVisor the sandbox has no cgroup CPU counter, so serving.latency is wall time
// through gVisor's system-call layer and cannot be held to the statuses measured under runc.
const comparable = (id: string) => !(process.env.SANDBOX_RUNTIME === 'runsc' && id === 'serving.latency');
const statuses = (r: ReportDocument) => Object.fromEntries(r.checks.filter((c) => comparable(c.id)).map((c) => [c.id, c.status]));
const expectedOf = (name: string) => Object.fromEntries(Object.entries(expected[name]!.checks).filter(([id]) => comparable(id)));
const summaries = (r: ReportDocument) => JSON.stringify(Object.fromEntries(r.checks.map((c) => [c.id, `${c.status}: ${c.summary}`])), null, 2);
const logs = (r: ReportDocument, marker: string) =>
  r.logs.flatMap((l) =>
    `${l.stdout}\n${l.stderr}`
      .split('\n')
      .filter((line) => line.startsWith(marker))
      .map((line) => `${l.step}/${l.phase}: ${line}`),
  );

describe('tampering submissions get exactly the statuses of their honest twins', () => {
  it(
    'cases 19 and 22: a detached process rewriting result.json, reading and signalling the harness, scribbling on later phases',
    async () => {
      const r = await gradeTampered('leak-preprocessing', 'rewrite-result');
      expect(statuses(r), summaries(r)).toEqual(expectedOf('leak-preprocessing'));
      expect(r.checks.find((c) => c.id === 'leakage.preprocessing')!.status).toBe('fail');
      const probes = logs(r, 'TAMPER-PROBE');
      expect(probes.length).toBeGreaterThan(0);
      // Every process it could see that was not its own: memory unreadable, signals refused, and
      // (under runc) the environment unreadable. gVisor's /proc hands out other uids' environments;
      // nothing secret is ever in one (the null run's seed reaches the supervisor through /in).
      const all = probes.join('\n');
      expect(all).toMatch(/\d+:mem=denied,environ=(denied|READ),signal=denied/);
      expect(all).not.toMatch(/mem=READ|=SENT/);
      if (process.env.SANDBOX_RUNTIME !== 'runsc') expect(all).not.toMatch(/environ=READ/);
      recordCase(
        19,
        'a detached process rewrites result.json and predictions.json',
        'the harness supervisor alone writes /out; every process of a phase is ended before its result counts; statuses equal the honest twin',
      );
      recordCase(22, 'read /proc/<pid>/mem and environ of the harness, signal it', `denied for every other process (${probes.length} probes); statuses equal the honest twin`);
    },
    SLOW,
  );

  it(
    'case 20: predictions answered from other inputs, looked up by id and by a hash of the other columns, and a rewriter of predictions.json',
    async () => {
      const r = await gradeTampered('leak-target', 'lookup-inputs');
      expect(statuses(r), summaries(r)).toEqual(expectedOf('leak-target'));
      const target = r.checks.find((c) => c.id === 'leakage.target')!;
      expect(target.status).toBe('fail');
      expect(Number(target.values.flipRate)).toBeGreaterThan(0.03);
      recordCase(
        20,
        'answer one comparison input from another (by id, by a hash of the other columns, through a cache in /tmp and /dev/shm)',
        `each input in its own process, ids re-keyed, rows reshuffled, nothing survives a process: leakage.target still fails (flip rate ${(Number(target.values.flipRate) * 100).toFixed(1)}%)`,
      );
    },
    SLOW,
  );

  it(
    'case 21: the shuffled-label rerun recognised by path, file, call order or the harness memory',
    async () => {
      const r = await gradeTampered('leak-null-labels', 'detect-null-run');
      expect(statuses(r), summaries(r)).toEqual(expectedOf('leak-null-labels'));
      const verdicts = logs(r, 'TAMPER-NULL');
      // Both runs of evaluate() (the real one and the permuted copy) saw nothing that told them apart.
      expect(verdicts.filter((l) => l.includes('looks real')).length).toBe(2);
      expect(verdicts.join('\n')).not.toMatch(/path|file differs|call order|harness memory/);
      recordCase(
        21,
        'recognise the shuffled-label rerun (path, the file compared with the first call, call order, a marker, the harness memory)',
        'same path, same writer, same tracing, fresh process and folder, random order: leakage.null_labels still fails',
      );
    },
    SLOW,
  );

  // Under gVisor there is no CPU counter to fool: serving.latency is wall time there.
  it.skipIf(process.env.SANDBOX_RUNTIME === 'runsc')(
    'serving CPU hidden in a thread or an orphaned grandchild that ends before the call does',
    async () => {
      const r = await gradeTampered('serving-slow', 'hide-serving-cpu');
      expect(statuses(r), summaries(r)).toEqual(expectedOf('serving-slow'));
      const latency = r.checks.find((c) => c.id === 'serving.latency')!;
      expect(latency.status).toBe('fail');
      // Not one of the two halves slipped through: the typical call still costs its ~240 ms of CPU.
      expect(Number(latency.values.p50Ms)).toBeGreaterThan(100);
    },
    SLOW,
  );
});
