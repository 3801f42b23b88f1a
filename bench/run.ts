/**
 * The performance benchmark (issue 7): not part of the test suite.
 *
 *   npm run bench                       # everything, ~10 minutes on 2 cores
 *   npm run bench -- --only grading     # sections: grading (1, 2, 6), throughput (3, 6), rescore (4), api (5), pages (7)
 *   npm run bench -- --rounds 7 --submissions 20 --rate 500 --duration 10 --api-rounds 5
 *
 * Prints a Markdown table and writes it to bench/results/latest.md (+ latest.json). Needs the
 * services scripts/test.sh starts (Postgres, Redis, Docker, the runner image). Everything it
 * creates is isolated (throwaway database, own queue prefix, temp folders) and removed at the end;
 * every loop is bounded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { machineInfo, waitForQuiet, type MachineInfo } from './lib/machine.ts';
import { containerTimings, gradingBench, type GradingBenchResult, type GradingSample } from './lib/grading-bench.ts';
import { throughputBench, type ThroughputResult } from './lib/throughput-bench.ts';
import { FLOOR, apiBench } from './lib/api-bench.ts';
import { rescoreBench, type RescoreResult } from './lib/rescore-bench.ts';
import { pagesBench, pagesBlockOf, renderPages, withPagesBlock, type PagesBenchResult } from './lib/pages-bench.ts';
import { BenchServices } from './lib/services.ts';
import { servingShare, servingShareText } from './lib/serving-share.ts';
import { fmtRange, mb1, median, mib, sec, summarize } from './lib/stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SECTIONS = ['grading', 'throughput', 'rescore', 'api', 'pages'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    submissions: { type: 'string', default: '20' },
    'idle-samples': { type: 'string', default: '5' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '10' },
    'api-rounds': { type: 'string', default: '5' },
    'runsc-rounds': { type: 'string', default: '2' },
    uploads: { type: 'string', default: '5' },
    'rescore-count': { type: 'string', default: '10000' },
    'pages-rate': { type: 'string', default: '50' },
    'pages-duration': { type: 'string', default: '10' },
    'pages-idle': { type: 'string', default: '100' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results') },
    'no-readme': { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '300' },
  },
});
const only = new Set<Section>(values.only ? (values.only.split(',') as Section[]) : SECTIONS);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section "${s}" (known: ${SECTIONS.join(', ')})`);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Results {
  startedAt: string;
  commit: string;
  machine: MachineInfo;
  grading?: GradingBenchResult;
  throughput?: ThroughputResult;
  rescore?: RescoreResult;
  api?: Awaited<ReturnType<typeof apiBench>>;
  pages?: PagesBenchResult;
  /** Sections that failed, with the error. */
  errors: Record<string, string>;
  /** Busy cores (all processes) just before each timing-sensitive section started. */
  quiet: { section: string; busyCores: number | null; waitedS: number }[];
}

function updateReadme(md: string): boolean {
  const file = path.join(ROOT, 'README.md');
  const text = fs.readFileSync(file, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  // The summary: everything before the detailed sections, without the title.
  const summary = md
    .slice(0, md.indexOf('\n## '))
    .replace(/^# Benchmark results\n\n/, '')
    .trim();
  fs.writeFileSync(file, `${text.slice(0, a + start.length)}\n${summary}\n\nDetails: [bench/results/latest.md](bench/results/latest.md).\n${text.slice(b)}`);
  return true;
}

/** One exemplary grading through API and worker, when only the API section runs. */
async function gradeOne(services: BenchServices): Promise<string> {
  const { throughputBench: tb } = await import('./lib/throughput-bench.ts');
  return (await tb(services, { submissions: 1, idleSamples: 0, log })).sampleSubmissionId;
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

/** The JSON keeps numbers, not whole report documents. */
function stripBulk(r: Results): unknown {
  if (!r.grading) return r;
  const slim = (g: GradingSample) => ({
    wallMs: g.wallMs,
    beforeMs: g.beforeMs,
    afterMs: g.afterMs,
    checks: Object.fromEntries(g.report.checks.map((c) => [c.id, c.status])),
    resources: g.report.resources,
    containers: containerTimings(g.runs).map(({ document: _d, ...t }) => t),
  });
  return {
    ...r,
    rescore: r.rescore && r.rescore.available ? { ...r.rescore, output: undefined } : r.rescore,
    grading: { ...r.grading, rounds: r.grading.rounds.map((x) => ({ sandbox: slim(x.sandbox), host: slim(x.host), noServing: slim(x.noServing), bare: x.bare, serving: servingShare(x) })) },
  };
}

// ------------------------------------------------------------------------------------------------
// Rendering
// ------------------------------------------------------------------------------------------------

function render(r: Results, seconds: number): string {
  const m = r.machine;
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  const yes = (ok: boolean | null) => (ok === null ? '—' : ok ? '**yes**' : '**no**');
  line('# Benchmark results');
  line();
  line(`${r.startedAt} · commit ${r.commit} · ${seconds.toFixed(0)} s · \`npm run bench\``);
  line();
  line(`Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, ${m.python}, Docker ${m.docker}.`);
  if (r.quiet.length)
    line(
      `Before each section the run waits (at most ${values['wait-quiet']} s) for 5 s with fewer than 0.3 of the 2 cores busy; busy cores when it started: ` +
        `${r.quiet.map((q) => `${q.section} ${q.busyCores === null ? 'n/a' : q.busyCores.toFixed(2)}${q.waitedS >= Number(values['wait-quiet']) ? ' (gave up waiting)' : ''}`).join(', ')}.`,
    );
  if (r.grading) {
    const l = r.grading.load;
    line(
      `Background during the grading rounds: load average ${l.loadavg1.toFixed(1)}, ${l.busyCores?.toFixed(2) ?? 'n/a'} of ${m.nproc} cores busy on average (all processes), ` +
        `CPU pressure ${l.cpuPressurePct?.toFixed(0) ?? 'n/a'}% (share of time some task waited for a CPU). Ratios come from runs interleaved in one process, so background load hits both sides; spreads are min–max.`,
    );
  }
  line();
  line('| # | measure | result | target | holds |');
  line('|---|---|---|---|---|');
  for (const [name, message] of Object.entries(r.errors)) line(`| — | section "${name}" **failed** | ${message.replace(/\|/g, '\\|').replace(/\n/g, ' ')} | | |`);
  const g = r.grading;
  if (g) {
    line(
      `| 1 | Sandbox overhead: grading with Docker sandboxes ÷ the same Grader with the harness run on the host (/usr/bin/python3), ${g.rounds.length} interleaved rounds | ${fmtRange(g.sandboxOverRatio, 2, '×')} | ≤ 1.25× | ${yes(g.sandboxOverRatio.median <= 1.25)} |`,
    );
    line(
      `| 2 | Hidden-check cost: one sandbox grading ÷ the candidate's own train + evaluate + predict run once (fresh process) | ${fmtRange(g.sandboxOverBare, 2, '×')} (${sec(g.sandboxWall.median, 1)} vs ${sec(g.bareWall.median, 1)}) | ≤ 2.5× | ${yes(g.sandboxOverBare.median <= 2.5)} |`,
    );
    line(`| 2′ | … the same without containers (host harness ÷ bare run) | ${fmtRange(g.hostOverBare, 2, '×')} | — | — |`);
    line(
      `| 2‴ | What the production checks add (issue 13): sandbox grading ÷ the same with the serving probe off (SERVING_CALLS=0; the other new checks are host arithmetic) | ${fmtRange(g.servingOverNone, 2, '×')} (${sec(g.sandboxWall.median, 1)} vs ${sec(g.noServingWall.median, 1)}; medians: ${servingShareText(g.rounds)}) | ≤ 1.15× | ${yes(g.servingOverNone.median <= 1.15)} |`,
    );
    const rs = g.runsc;
    if ('unavailable' in rs) line(`| 2″ | The same grading under gVisor (runsc) | not run: ${rs.unavailable} | — | — |`);
    else
      line(
        `| 2″ | The same grading under gVisor (runsc, ptrace platform) ÷ under runc, ${rs.wall.n} gradings after the rounds | ${rs.overRunc.toFixed(2)}× (${sec(rs.wall.median, 1)} vs ${sec(g.sandboxWall.median, 1)}${rs.sameStatuses ? ', same statuses' : ', **different statuses**'}) | — | — |`,
      );
  } else line('| 1, 2 | grading rounds | not run | | |');
  const tp = r.throughput;
  if (tp) {
    for (const run of tp.runs)
      line(
        `| 3 | Throughput, ${run.submissions} queued exemplary submissions, worker concurrency ${run.concurrency} | ${run.perMinute.toFixed(1)} gradings/min (all done in ${sec(run.makespanMs, 1)}; ${sec(run.serviceMs.median, 1)} each, median) | — | — |`,
      );
    line(`| 3 | Speed-up of concurrency 2 over 1 | ${tp.speedup.toFixed(2)}× | — | — |`);
    const idle = tp.idlePickupMs.n ? tp.idlePickupMs : summarize(tp.runs.map((x) => x.firstPickupMs));
    line(`| 3 | Queue-to-start latency, idle worker (queued_at → started_at) | ${fmtRange(idle, 0, ' ms')} over ${idle.n} | ≤ 1 s | ${yes(idle.max <= 1000)} |`);
  } else line('| 3 | throughput | not run | | |');
  const rs = r.rescore;
  if (!rs) line('| 4 | Rescore-only regrade | not run | ≤ 10 s | — |');
  else if (!rs.available) line(`| 4 | Rescore-only regrade of 10,000 stored gradings | **pending**: ${rs.reason} | ≤ 10 s | — |`);
  else
    line(
      `| 4 | Rescore-only regrade of ${rs.count.toLocaleString('en-US')} stored gradings (bench/rescore.ts: API service → queue → worker → done) | ` +
        `${rs.endToEndMs !== null ? sec(rs.endToEndMs, 1) : rs.line}${rs.rescoringMs !== null ? ` (rescoring ${sec(rs.rescoringMs, 1)})` : ''} | ≤ 10 s | ${yes(rs.ok && rs.endToEndMs !== null ? rs.endToEndMs <= 10_000 : null)} |`,
    );
  const api = r.api;
  if (api) {
    const floor = api.summary.endpoints.find((e) => e.endpoint === FLOOR);
    for (const e of api.summary.endpoints.filter((x) => x.endpoint !== FLOOR))
      line(
        `| 5 | ${e.endpoint} at ${values.rate} req/s, ${e.rounds} rounds of ${values.duration} s interleaved with the floor (autocannon, separate process) | ` +
          `p50 ${fmtRange(e.p50, 0, ' ms')}, p99 ${fmtRange(e.p99, 0, ' ms')}; ${e.p99OverFloor ? `${fmtRange(e.p99OverFloor, 2, '×')} the floor's p99` : ''} (${e.non2xx} non-2xx, ${e.errors} errors) | p99 ≤ 25 ms | ${yes(e.p99.median <= 25 && e.non2xx === 0 && e.errors === 0)} on the median round${e.p99.max > 25 ? `; not in the worst (${e.p99.max.toFixed(0)} ms)` : ', and in every round'} |`,
      );
    if (floor)
      line(
        `| 5′ | Floor: the same ${(api.summary.reportBytes / 1024).toFixed(1)} KB report body from a bare node:http server, same load | p50 ${fmtRange(floor.p50, 0, ' ms')}, p99 ${fmtRange(floor.p99, 0, ' ms')} | — | — |`,
      );
    const u0 = api.uncached;
    line(
      `| 5″ | The report endpoint with its body cache off (REPORT_CACHE_BYTES=0: every request reads the stored document text from Postgres), one ${values.duration} s run on a CPU-profiled process | p50 ${u0.latencyMs.p50} ms, p99 ${u0.latencyMs.p99} ms (${u0.non2xx} non-2xx) | — | — |`,
    );
    const u = api.upload;
    line(
      `| 5 | API process memory while it receives uploads (RSS sampled every 5 ms, after a warm-up) | ` +
        `${u.batches.map((b) => `${(b.archiveBytes / 1048576).toFixed(0)} MiB: +${mb1(b.growthBytes)}`).join('; ')} (${u.batches.map((b) => b.uploads).join('/')} uploads, RSS ${mib(u.batches[0]!.idleRssBytes)}) | flat: growth does not follow the size (< ½ of the 100 MiB archive; buffering would add ≥ all of it) | ${yes(u.flat)} |`,
    );
  } else line('| 5 | API | not run | | |');
  if (tp) {
    const c1 = tp.runs[0]!;
    line(
      `| 6 | Peak memory of the worker process (VmHWM, concurrency 1, ${c1.submissions} gradings) | ${mib(c1.worker.hwmBytes)} (sampled RSS peak ${mib(c1.worker.peakRssBytes)}) | — | — |`,
    );
  }
  if (g) {
    const train = g.rounds.map((x) => containerTimings(x.sandbox.runs).find((c) => c.step === 'train')?.peakMemoryBytes ?? 0);
    const pred = g.rounds.map((x) => containerTimings(x.sandbox.runs).find((c) => c.step === 'predict')?.peakMemoryBytes ?? 0);
    line(`| 6 | Peak memory of the sandbox containers (cgroup), exemplary | training ${mib(median(train))}, prediction ${mib(median(pred))} (limit 2048 MiB each) | — | — |`);
  }
  line();

  if (g) renderGrading(g, line);
  if (tp) renderThroughput(tp, line);
  if (rs?.available) {
    line('## 4. Rescore-only regrade');
    line();
    line('Output of `bench/rescore.ts --count ' + rs.count + '` (its own throwaway database, queue and worker):');
    line();
    line('```');
    for (const l of rs.output.trim().split('\n')) line(l);
    line('```');
    line();
  }
  if (api) {
    line('## 5. API');
    line();
    line('| round | endpoint | requests | achieved rate | p50 | p90 | p99 | max | server process CPU | machine busy (all processes) | CPU pressure |');
    line('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const l of api.load)
      line(
        `| ${l.round} | ${l.endpoint} | ${l.requests} | ${l.achievedRate.toFixed(0)}/s | ${l.latencyMs.p50} ms | ${l.latencyMs.p90} ms | ${l.latencyMs.p99} ms | ${l.latencyMs.max} ms | ` +
          `${l.apiCpuCores?.toFixed(2) ?? 'n/a'} cores | ${l.machine.busyCores?.toFixed(2) ?? 'n/a'} cores | ${l.machine.cpuPressurePct?.toFixed(0) ?? 'n/a'}% |`,
      );
    line();
    const u = api.upload;
    line('| uploads (streamed from disk over loopback) | each | API RSS before | peak during | growth | statuses |');
    line('|---|---|---|---|---|---|');
    for (const b of u.batches)
      line(
        `| ${b.uploads} × ${(b.archiveBytes / 1048576).toFixed(1)} MiB | ${sec(b.meanUploadMs, 2)} | ${mib(b.idleRssBytes)} | ${mib(b.peakRssBytes)} | +${mb1(b.growthBytes)} | ${[...new Set(b.statuses)].join(', ')} |`,
      );
    line();
    line(
      `The first uploads a fresh API process receives (warm-up, not counted: code loading, pools) grew it by ${mb1(u.warmupGrowthBytes)}; its high-water mark after all uploads: ${mib(u.hwmBytes)}.`,
    );
    line();
    if (api.profile) {
      line(`Where the report endpoint's time goes: CPU profile of an API process serving the same load (${Math.round(api.profile.busyMs)} ms of CPU sampled; self time):`);
      line();
      line('| by owner | share | | by function | share |');
      line('|---|---|---|---|---|');
      for (let i = 0; i < Math.max(api.profile.byOwner.length, api.profile.byFunction.length); i++) {
        const o = api.profile.byOwner[i];
        const f = api.profile.byFunction[i];
        line(`| ${o ? `\`${o.owner}\`` : ''} | ${o ? `${o.pct.toFixed(1)}%` : ''} | | ${f ? `\`${f.fn}\`` : ''} | ${f ? `${f.pct.toFixed(1)}%` : ''} |`);
      }
      line();
    }
  }
  return `${out.join('\n')}\n`;
}

const PHASE_CHECKS: Record<string, string> = {
  train: 'the model every holdout check uses; its trace → leakage.preprocessing, leakage.resampling',
  train_repeat: 'reproducibility.deterministic',
  evaluate: 'cv.used, cv.stratified, cv.estimate_calibrated, imbalance.metric (+ trace)',
  evaluate_null: 'leakage.null_labels',
  predict: 'two children share one list of 55 predictions (table below): the variants, the second model, the probes',
  predict_2: '',
};

function renderGrading(g: GradingBenchResult, line: (s?: string) => void) {
  const med = (f: (s: GradingSample) => number, kind: 'sandbox' | 'host') => median(g.rounds.map((x) => f(x[kind])));
  line('## 1. Where the sandbox costs time');
  line();
  line('Per container, medians over the rounds. The prediction container is started next to the training one and waits (idle, libraries');
  line('already imported) until the host hands it the models; that wait is not on the critical path and not counted as its own time.');
  line();
  line('| container | prepare (image, volume) | create | start | run (exec) | copy out | stop + remove | total | same step on the host |');
  line('|---|---|---|---|---|---|---|---|---|');
  for (const step of ['train', 'predict']) {
    const d = g.rounds.map((x) => containerTimings(x.sandbox.runs).find((c) => c.step === step)!);
    const h = g.rounds.map((x) => containerTimings(x.host.runs).find((c) => c.step === step)!);
    const waited = (c: { calledAt: number; endedAt: number; runMs: number }, rounds: typeof g.rounds, i: number, kind: 'sandbox' | 'host') => {
      if (step !== 'predict') return 0;
      const train = containerTimings(rounds[i]![kind].runs).find((x) => x.step === 'train')!;
      return Math.max(0, Math.min(c.runMs, train.endedAt - c.calledAt));
    };
    const own = (cs: typeof d, kind: 'sandbox' | 'host') => cs.map((c, i) => c.runMs - waited(c, g.rounds, i, kind));
    const ms = (xs: number[]) => `${Math.round(median(xs))} ms`;
    line(
      `| ${step} | ${ms(d.map((c) => c.prepareMs))} | ${ms(d.map((c) => c.createMs))} | ${ms(d.map((c) => c.startMs))} | ${ms(own(d, 'sandbox'))}${step === 'predict' ? ' after the go-ahead' : ''} | ` +
        `${ms(d.map((c) => c.collectMs))} | ${ms(d.map((c) => c.removeMs))} | ${ms(d.map((c, i) => c.totalMs - waited(c, g.rounds, i, 'sandbox')))} | ${ms(own(h, 'host'))} |`,
    );
  }
  line(
    '| host side (extract, datasets, measure, score, report) | | | | | | | ' +
      `${Math.round(med((s) => s.beforeMs + s.afterMs, 'sandbox'))} ms | ${Math.round(med((s) => s.beforeMs + s.afterMs, 'host'))} ms |`,
  );
  line();
  line('Copy in: none (inputs are bind-mounted read-only). Copy out: the Docker archive API (tar) of /out.');
  line();
  line('Per phase (harness children; medians): wall time and CPU time, in the sandbox and on the host.');
  line();
  line('| container | phase | sandbox wall | sandbox CPU | host wall | host CPU | peak RSS | serves |');
  line('|---|---|---|---|---|---|---|---|');
  const phases = g.rounds[0]!.sandbox.report.resources.map((p) => [p.step, p.phase] as const);
  for (const [step, phase] of phases) {
    const pick = (s: GradingSample) => s.report.resources.find((p) => p.step === step && p.phase === phase);
    const m = (kind: 'sandbox' | 'host', f: 'durationMs' | 'cpuMs') => Math.round(med((s) => pick(s)?.[f] ?? NaN, kind));
    line(
      `| ${step} | ${phase} | ${m('sandbox', 'durationMs')} ms | ${m('sandbox', 'cpuMs')} ms | ${m('host', 'durationMs')} ms | ${m('host', 'cpuMs')} ms | ${mib(med((s) => pick(s)?.peakMemoryBytes ?? NaN, 'sandbox'))} | ${PHASE_CHECKS[phase] ?? ''} |`,
    );
  }
  line();
  line('## 2. What the hidden checks cost');
  line();
  const b = (k: 'importMs' | 'trainMs' | 'evaluateMs' | 'predictMs') => `${Math.round(median(g.rounds.map((x) => x.bare.steps[k])))} ms`;
  line(
    `The bare run (one fresh /usr/bin/python3 process: import solution.py, train, evaluate, predict on the ${4000}-row holdout): ${sec(g.bareWall.median)} ` +
      `(imports ${b('importMs')}, train ${b('trainMs')}, evaluate ${b('evaluateMs')}, predict ${b('predictMs')}; the rest is interpreter start-up).`,
  );
  line();
  const cpu = (kind: 'sandbox' | 'host') => med((s) => s.report.resources.reduce((a, p) => a + (p.cpuMs ?? 0), 0), kind);
  line(
    `A grading does, on top of that run: a second training (reproducibility), a second evaluate on permuted labels (null labels), predictions for 7 holdout variants ` +
      `(probabilities only for the 2 that need them) and with the second model, the batch probes, the lint and the trace — ${sec(cpu('sandbox'))} of CPU in the phases ` +
      `(${sec(median(g.rounds.map((x) => x.bare.steps.trainMs + x.bare.steps.evaluateMs + x.bare.steps.predictMs)))} in the bare run), plus one interpreter with the libraries per container. ` +
      'Phases run two at a time on the two CPUs (the training container: train ∥ evaluate, then evaluate_null ∥ train_repeat; in the prediction container two children take the predictions one at a time from one list), and the ' +
      'prediction container imports its libraries while training runs.',
  );
  line();
  line('Predictions (sandbox, medians): ');
  line();
  line('| prediction | time | serves |');
  line('|---|---|---|');
  const preds = g.rounds.map((x) => containerTimings(x.sandbox.runs).find((c) => c.step === 'predict')?.document);
  const variants = Object.keys(preds[0]?.variants ?? {});
  const serves: Record<string, string> = {
    prediction_time: 'contract, imbalance.*, cv.estimate_calibrated (labels + probabilities)',
    as_recorded: 'leakage.target (labels + probabilities)',
  };
  for (const v of variants) line(`| variant ${v} | ${Math.round(median(preds.map((p) => p?.variants?.[v]?.durationMs ?? NaN)))} ms | ${serves[v] ?? 'robustness.messy_input (labels)'} |`);
  line(`| model_repeat.pkl on prediction_time | ${Math.round(median(preds.map((p) => p?.repeat?.durationMs ?? NaN)))} ms | reproducibility.deterministic (labels) |`);
  line('| 7 shuffled chunks + 40 single rows of prediction_time | (not timed one by one) | leakage.transductive (labels) |');
  line();
  line(
    `Critical path of one sandbox grading (medians): training container ${sec(median(g.rounds.map((x) => containerTimings(x.sandbox.runs).find((c) => c.step === 'train')!.totalMs)))}, ` +
      `then the prediction container's own time ${sec(
        median(
          g.rounds.map((x) => {
            const c = containerTimings(x.sandbox.runs);
            return c.find((y) => y.step === 'predict')!.endedAt - c.find((y) => y.step === 'train')!.endedAt;
          }),
        ),
      )}, ` +
      `host side ${sec(med((s) => s.beforeMs + s.afterMs, 'sandbox'))}; total ${sec(g.sandboxWall.median)}.`,
  );
  line();
}

function renderThroughput(tp: ThroughputResult, line: (s?: string) => void) {
  line('## 3. Throughput and latency (API → queue → worker → sandbox, separate processes)');
  line();
  line(
    '| worker concurrency | gradings | all done in | per minute | each (finished − started) | waiting in queue | worker peak RSS | training / prediction container peak | machine busy | statuses |',
  );
  line('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of tp.runs)
    line(
      `| ${r.concurrency} | ${r.submissions} | ${sec(r.makespanMs, 1)} | ${r.perMinute.toFixed(1)} | ${sec(r.serviceMs.median, 1)} (${sec(r.serviceMs.min, 1)}–${sec(r.serviceMs.max, 1)}) | ` +
        `median ${sec(r.queueWaitMs.median, 1)}, max ${sec(r.queueWaitMs.max, 1)} | ${mib(r.worker.hwmBytes)} | ${mib(r.containers.trainPeakBytes.median)} / ${mib(r.containers.predictPeakBytes.median)} | ` +
        `${r.load.busyCores?.toFixed(2) ?? 'n/a'} cores | ${Object.entries(r.statuses)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')} |`,
    );
  line();
  line(
    `Idle pickup (one submission at a time, each after the previous finished; queued_at → started_at from the gradings table): ${fmtRange(tp.idlePickupMs, 0, ' ms')} over ${tp.idlePickupMs.n} submissions; ` +
      `the first submission of each batch: ${tp.runs.map((r) => `${Math.round(r.firstPickupMs)} ms`).join(', ')}.`,
  );
  line();
}

async function main() {
  const results: Results = { startedAt: new Date().toISOString(), commit: gitCommit(), machine: machineInfo(), errors: {}, quiet: [] };
  const t0 = performance.now();
  // A section that fails (a Docker engine restart, say) is reported in the table; the others still run.
  const section = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      results.errors[name] = (err as Error).message.slice(0, 500);
      log(`  ${name} failed: ${(err as Error).stack ?? String(err)}`);
    }
  };

  // Before each timing-sensitive section: wait (bounded) for other work on the machine to stop.
  const quiet = async (section: string) => {
    const q = await waitForQuiet({ maxWaitS: Number(values['wait-quiet']), log });
    results.quiet.push({ section, ...q });
  };
  if (only.has('grading'))
    await section('grading', async () => {
      await quiet('grading');
      log(`[1, 2, 6] the exemplary submission: sandbox grading vs host-harness grading vs bare candidate run, ${values.rounds} interleaved rounds`);
      results.grading = await gradingBench({ rounds: Number(values.rounds), runscRounds: Number(values['runsc-rounds']), log });
    });
  if (only.has('throughput') || only.has('api'))
    await section('services', async () => {
      // Limits raised for the benchmark's own API: 40+ uploads in minutes, and one 100 MiB upload (section 5).
      const services = await BenchServices.start({ UPLOAD_RATE_PER_IP: '1000', UPLOAD_MAX_BYTES: String(128 * 1024 * 1024), UPLOAD_MAX_UNCOMPRESSED_BYTES: String(256 * 1024 * 1024) });
      try {
        const api = await services.startApi();
        let submissionId: string | null = null;
        if (only.has('throughput'))
          await section('throughput', async () => {
            await quiet('throughput');
            log(`[3, 6] throughput: ${values.submissions} queued submissions at worker concurrency 1, then 2`);
            results.throughput = await throughputBench(services, { submissions: Number(values.submissions), idleSamples: Number(values['idle-samples']), log });
            submissionId = results.throughput.sampleSubmissionId;
          });
        if (only.has('api'))
          await section('api', async () => {
            submissionId ??= await gradeOne(services);
            await quiet('api');
            log(`[5] API under load at ${values.rate} req/s for ${values.duration} s per endpoint; uploads of 1, 10 and 19 MiB`);
            results.api = await apiBench(services, api, {
              submissionId,
              rate: Number(values.rate),
              durationS: Number(values.duration),
              rounds: Number(values['api-rounds']),
              uploads: Number(values.uploads),
              log,
            });
          });
      } finally {
        await services.close();
      }
    });
  if (only.has('rescore'))
    await section('rescore', async () => {
      await quiet('rescore');
      log(`[4] rescore-only regrade of ${values['rescore-count']} stored gradings (bench/rescore.ts)`);
      results.rescore = await rescoreBench({ count: Number(values['rescore-count']), log });
    });

  if (only.has('pages'))
    await section('pages', async () => {
      await quiet('pages');
      log(`[7] reviewer pages: server time idle and at ${values['pages-rate']} req/s`);
      results.pages = await pagesBench({ idleRequests: Number(values['pages-idle']), rate: Number(values['pages-rate']), durationS: Number(values['pages-duration']), log });
    });

  // Section 7 is a marked block of latest.md (and the "pages" key of latest.json): a run without it
  // keeps the earlier one, and a run of it alone replaces only that, leaving the other sections' numbers.
  fs.mkdirSync(values.out!, { recursive: true });
  const read = (f: string) => (fs.existsSync(path.join(values.out!, f)) ? fs.readFileSync(path.join(values.out!, f), 'utf8') : '');
  const [oldMd, oldJson] = [read('latest.md'), JSON.parse(read('latest.json') || '{}') as Record<string, unknown>];
  // A failed pages run keeps the earlier numbers (its error is in the summary table and the exit code).
  const pagesBlock = results.pages
    ? renderPages(results.pages, undefined, results.commit)
    : (pagesBlockOf(oldMd) ?? (only.has('pages') ? renderPages(undefined, results.errors.pages, results.commit) : null));
  const pagesOnly = only.size === 1 && only.has('pages');
  const md = pagesOnly ? withPagesBlock(oldMd, pagesBlock!) : `${render(results, (performance.now() - t0) / 1000)}${pagesBlock ? `\n${pagesBlock}` : ''}`;
  const json = pagesOnly ? { ...oldJson, pages: results.pages ?? oldJson.pages } : { ...(stripBulk(results) as object), pages: results.pages ?? oldJson.pages };
  fs.writeFileSync(path.join(values.out!, 'latest.md'), md);
  fs.writeFileSync(path.join(values.out!, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(md);
  log(`\nwritten: ${path.relative(ROOT, path.join(values.out!, 'latest.md'))}, latest.json`);
  // A complete run refreshes the summary in the README (between its bench markers).
  if (!values['no-readme'] && !values.only && Object.keys(results.errors).length === 0 && updateReadme(md)) log('updated: README.md (Performance)');
  process.exit(Object.keys(results.errors).length ? 1 : 0);
}

await main();
