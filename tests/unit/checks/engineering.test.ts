import { describe, it } from 'vitest';
import { contractInterface } from '../../../services/checks/engineering/contract-interface.ts';
import { reproducibilityDeterministic } from '../../../services/checks/engineering/reproducibility-deterministic.ts';
import { sandboxResources } from '../../../services/checks/engineering/sandbox-resources.ts';
import { expectJudged, expectMeasured, LABELS, phase, predictions, sandboxResult, trainResult, type JudgeCase, type MeasureCase } from './check-fixtures.ts';

const oom = { train: { sandbox: sandboxResult({ outcome: 'oom_killed', oomKilled: true }), result: null, problem: 'out of memory' } };

describe('contract.interface', () => {
  it.each<JudgeCase>([
    { name: 'a blocking problem fails with it', values: { blocking: true, problem: 'no solution.py', optionalProblems: 0 }, status: 'fail', summary: 'no solution.py' },
    { name: 'a blocking problem without words', values: { blocking: true, problem: null, optionalProblems: 0 }, status: 'fail', summary: 'does not follow the contract' },
    {
      name: 'a malformed optional part warns',
      values: { blocking: false, problem: 'evaluate(): bad', optionalProblems: 1 },
      status: 'warn',
      summary: '1 optional part(s) malformed: evaluate(): bad',
    },
    { name: 'everything works', values: { blocking: false, problem: null, optionalProblems: 0 }, status: 'pass', summary: 'train() and predict() work' },
  ])('judge: $name', (c) => expectJudged('contract.interface', c));

  const fns = (f: Partial<ReturnType<typeof trainResult>['solution']['functions']>) => ({
    solution: { ...trainResult().solution, functions: { ...trainResult().solution.functions, ...f } },
  });
  it.each<MeasureCase>([
    { name: 'a complete submission', change: {}, values: { blocking: false, problem: null, optionalProblems: 0 }, evidence: 'train: yes, predict: yes, predict_proba: no, evaluate: yes' },
    { name: 'no training result', change: { train: null }, values: { blocking: true, problem: 'the training container produced no result' } },
    { name: 'no training result because a limit stopped it', change: { input: oom }, reason: 'the run was stopped before the interface could be checked: out of memory' },
    {
      name: 'no solution.py',
      change: { train: { solution: { ...trainResult().solution, found: false } }, input: { topLevelEntries: ['src', 'README.md'] } },
      values: { blocking: true, problem: 'no solution.py at the archive root or inside a single top-level folder (the archive holds: src, README.md)' },
    },
    {
      name: 'an empty archive',
      change: { train: { solution: { ...trainResult().solution, found: false } }, input: { topLevelEntries: [] } },
      values: { problem: 'no solution.py at the archive root or inside a single top-level folder (the archive holds: nothing)' },
    },
    {
      name: 'an import error',
      change: { train: { solution: { ...trainResult().solution, importError: 'SyntaxError: line 3' } } },
      values: { blocking: true, problem: 'importing solution.py failed: SyntaxError: line 3' },
    },
    { name: 'no predict()', change: { train: fns({ predict: false }) }, values: { blocking: true, problem: 'solution.py defines no function predict(model, csv)' } },
    { name: 'no train()', change: { train: fns({ train: false }) }, values: { blocking: true, problem: 'solution.py defines no function train(train_csv)' } },
    { name: 'train() raised', change: { train: { phases: [phase('train', 'error', { error: 'ValueError: x' })] } }, values: { blocking: true, problem: 'train() failed: ValueError: x' } },
    { name: 'train() stopped by its time limit', change: { train: { phases: [phase('train', 'timeout')] } }, reason: 'train() did not finish (timeout), so predict() could not be checked' },
    { name: 'prediction not run', change: { predict: null }, values: { blocking: true, problem: 'prediction was not run' } },
    {
      name: 'predict() failed',
      change: { predict: { variants: { prediction_time: predictions(null, { labelsProblem: 'predict raised KeyError' }) } } },
      values: { blocking: true, problem: 'predict(): predict raised KeyError' },
    },
    {
      name: 'predict() returned too few labels',
      change: { predict: { variants: { prediction_time: predictions([1, 0, 0]) } } },
      values: { blocking: true, problem: 'predict() returned 3 labels for 10 rows' },
    },
    {
      name: 'a malformed predict_proba() is optional',
      change: { train: fns({ predict_proba: true }), predict: { variants: { prediction_time: predictions(LABELS, { probabilitiesProblem: 'values above 1' }) } } },
      values: { blocking: false, problem: 'predict_proba(): values above 1', optionalProblems: 1 },
    },
    {
      name: 'a failing evaluate() is optional',
      change: { train: { evaluateProblem: 'evaluate() raised KeyError' } },
      values: { blocking: false, problem: 'evaluate(): evaluate() raised KeyError', optionalProblems: 1 },
    },
  ])('measure: $name', (c) => expectMeasured(contractInterface.measure, c));
});

describe('reproducibility.deterministic', () => {
  it.each<JudgeCase>([
    { name: 'identical predictions', values: { diffRate: 0 }, status: 'pass', summary: '0.0% of predictions differ' },
    { name: 'a few differ', values: { diffRate: 0.005 }, status: 'warn', summary: '0.5% of predictions differ' },
    { name: 'more than the fail bar', values: { diffRate: 0.006 }, status: 'fail', summary: '0.6%' },
    { name: 'a rubric that tolerates 1%', values: { diffRate: 0.01 }, thresholds: { warnAbove: 0.01, failAbove: 0.05 }, status: 'pass', summary: '1.0%' },
  ])('judge: $name', (c) => expectJudged('reproducibility.deterministic', c));

  it.each<MeasureCase>([
    { name: 'two identical trainings', change: {}, values: { diffRate: 0, rowsCompared: 10 }, evidence: '0 of 10 holdout predictions differ' },
    { name: 'one prediction differs', change: { predict: { repeat: predictions([0, 0, 0, 1, 0, 1, 0, 0, 0, 0]) } }, values: { diffRate: 0.1 }, evidence: '1 of 10' },
    { name: 'no valid holdout predictions', change: { predict: null }, reason: 'no valid predictions on the holdout' },
    { name: 'the second model did not predict', change: { predict: { repeat: predictions(null, { labelsProblem: 'model_repeat.pkl is missing' }) } }, reason: 'model_repeat.pkl is missing' },
    {
      name: 'the second training failed',
      change: { predict: { repeat: null }, train: { phases: [phase('train'), phase('train_repeat', 'error', { error: 'MemoryError' })] } },
      reason: 'MemoryError',
    },
    { name: 'no second training at all', change: { predict: { repeat: null }, train: { phases: [phase('train')] } }, reason: 'the second training produced no usable model' },
  ])('measure: $name', (c) => expectMeasured(reproducibilityDeterministic.measure, c));
});

describe('sandbox.resources', () => {
  it.each<JudgeCase>([
    { name: 'killed', values: { killed: true, cause: 'train() exceeded its time limit and was killed' }, status: 'fail', summary: 'train() exceeded its time limit' },
    { name: 'within limits', values: { killed: false, cause: null, peakMemoryMb: 200, totalSeconds: 5 }, status: 'pass', summary: 'finished within limits (peak memory 200 MB, 5.0 s)' },
  ])('judge: $name', (c) => expectJudged('sandbox.resources', c));

  const steps = (train: Parameters<typeof sandboxResult>[0], predict: Parameters<typeof sandboxResult>[0] = {}) => ({
    input: { train: { sandbox: sandboxResult(train), result: trainResult(), problem: null }, predict: { sandbox: sandboxResult(predict), result: null, problem: null } },
  });
  it.each<MeasureCase>([
    { name: 'a run within limits', change: {}, values: { killed: false, cause: null, peakMemoryMb: 200, limitMb: 1024, totalSeconds: 5 }, evidence: 'completed; 2.5 s; peak memory 200 MB' },
    {
      name: 'the training container ran out of memory',
      change: steps({ outcome: 'oom_killed' }),
      values: { killed: true, cause: 'the training container was killed at the memory limit of 1024 MB (no swap)' },
    },
    {
      name: 'the prediction container hit the process limit',
      change: steps({}, { pidsLimitHit: true }),
      values: { cause: 'the prediction container hit the limit of 64 processes/threads (fork bomb?)' },
    },
    {
      name: 'the container was stopped for lack of pids',
      change: steps({ outcome: 'pids_exhausted' }),
      values: { cause: 'the training container hit the limit of 64 processes/threads (fork bomb?) and was stopped' },
    },
    { name: 'the container timed out', change: steps({ outcome: 'timeout' }), values: { cause: 'the training container exceeded its wall-clock limit and was killed' } },
    {
      name: 'the first cause wins',
      change: { input: { train: { sandbox: sandboxResult({ outcome: 'timeout' }), result: trainResult({ phases: [phase('train', 'timeout')] }), problem: null } } },
      values: { cause: 'the training container exceeded its wall-clock limit and was killed' },
    },
    {
      name: 'a phase timed out',
      change: { train: { phases: [phase('train', 'timeout')] } },
      values: { killed: true, cause: 'train() exceeded its time limit and was killed' },
      evidence: 'timeout: boom',
    },
    {
      name: 'a phase ran out of pids',
      change: { train: { phases: [phase('evaluate', 'error', { pidsExhausted: true })] } },
      values: { cause: 'evaluate() hit the limit of 64 processes/threads' },
    },
    {
      name: 'a phase was killed in a container that ran out of memory',
      change: { input: { train: { sandbox: sandboxResult({ oomKilled: true }), result: trainResult({ phases: [phase('train', 'killed')] }), problem: null } } },
      values: { cause: 'train() was killed at the memory limit of 1024 MB (no swap)' },
    },
    { name: 'a phase was killed by a signal', change: { train: { phases: [phase('train', 'killed', { signal: 9 })] } }, values: { cause: 'train() was killed (signal 9)' } },
    { name: 'the peak of a phase above the containers', change: { train: { phases: [phase('train', 'ok', { maxRssBytes: 300 * 1048576 })] } }, values: { peakMemoryMb: 300 } },
    { name: 'none of the code ran', change: { train: { phases: [phase('train', 'skipped')] }, predict: { phases: [] } }, reason: "none of the submission's code ran" },
  ])('measure: $name', (c) => expectMeasured(sandboxResources.measure, c));
});
