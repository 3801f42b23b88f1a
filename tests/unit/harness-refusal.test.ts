import { describe, expect, it } from 'vitest';
import { assertHarnessAccepted } from '../../services/grading/grader.ts';

const out = (text: string) => ({ text, totalBytes: text.length, truncated: false });
const usage = 'usage: run.py [-h] {train,predict,serve,notebooks} ...\nrun.py: error: unrecognized arguments: --serving-calls 200\n';

describe('a harness that refuses its command is a platform failure, not a graded outcome', () => {
  it('throws, naming the step and the refusal', () => {
    expect(() => assertHarnessAccepted({ exitCode: 2, stderr: out(usage), outputs: [] }, 'predict', 'predictions.json')).toThrow(
      "the predict step's harness refused its command (grader and runner image disagree?): run.py: error: unrecognized arguments: --serving-calls 200",
    );
  });

  it.each([
    ['a candidate crash the harness reported (exit 0, document written)', { exitCode: 0, stderr: out(usage), outputs: [{ name: 'predictions.json', bytes: 10 }] }],
    ['exit 2 without argparse words (e.g. a killed container)', { exitCode: 2, stderr: out('Traceback ...\nMemoryError\n'), outputs: [] }],
    ['exit 2 with the document written', { exitCode: 2, stderr: out(usage), outputs: [{ name: 'predictions.json', bytes: 10 }] }],
    ['a timeout (no exit code)', { exitCode: null, stderr: out(usage), outputs: [] }],
  ])('lets the grading go on for %s', (_, run) => {
    expect(() => assertHarnessAccepted(run, 'predict', 'predictions.json')).not.toThrow();
  });
});
