/**
 * Benchmark (issue 16): one new submission compared against an index of N stored submissions
 * (default 1,000) of realistic size, next to the grading time of the same submission.
 *
 *   npx tsx bench/similarity.ts [--count 1000] [--rounds 5]
 *
 * Works in a throwaway database on the configured Postgres server (created and dropped). The
 * stored cohort: the churn reference submissions' solution.py files (26 real solutions, 70-170
 * lines; most are variants of one exemplary solution, the hard case for the look-up since nearly
 * every stored one shares fingerprints with the new one) and the similarity fixtures, each
 * disguised per copy (identifiers renamed, top-level functions shuffled), indexed as the worker
 * indexes them. The new submission is the exemplary one, as an archive in the blob store, indexed
 * through SimilarityService.indexSubmission exactly as the worker does (archive read, tokens,
 * fingerprint look-up, Dolos on the candidates, pairs stored). The grading time is the
 * exemplary submission's sandbox grading from bench/results/latest.json (npm run bench).
 * Not part of the test suite.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadConfig } from '../services/config.ts';
import { createContext } from '../services/context.ts';
import { migrate } from '../services/db/migrate.ts';
import { SimilarityEngine } from '../services/similarity/similarity-engine.ts';
import { SimilarityRepository } from '../services/similarity/similarity-repository.ts';
import { SimilarityService } from '../services/similarity/similarity-service.ts';
import { comparedSource } from '../services/similarity/similarity-source.ts';
import { tarGzOfFolder } from '../tests/support/archives.ts';
import { throwawayDatabase } from '../tests/support/throwaway-database.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const ASSESSMENT = 'churn-messy-csv';
const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '5' } } });
const count = Number(values.count);
const rounds = Number(values.rounds);

/** A deterministic generator, so two runs index the same cohort. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** One disguised copy: identifiers renamed and top-level blocks shuffled (what a cohort holds). */
function disguise(src: string, rand: () => number): string {
  const names = [...new Set([...src.matchAll(/\bdef (\w+)|^(\w+) =/gm)].map((m) => m[1] ?? m[2]!))];
  let out = src;
  for (const n of names) if (rand() < 0.7) out = out.replace(new RegExp(`\\b${n}\\b`, 'g'), `${n}_${Math.floor(rand() * 1e6)}`);
  const [head, ...blocks] = out.split(/\n(?=def |class )/);
  for (let i = blocks.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [blocks[i], blocks[j]] = [blocks[j]!, blocks[i]!];
  }
  return [head, ...blocks].join('\n');
}

const fixtures = path.join(ROOT, 'tests/fixtures');
const corpus = [
  ...fs.readdirSync(path.join(fixtures, 'submissions/churn')).map((d) => path.join(fixtures, 'submissions/churn', d, 'solution.py')),
  ...fs
    .readdirSync(path.join(fixtures, 'similarity'))
    .filter((f) => f.endsWith('.py'))
    .map((f) => path.join(fixtures, 'similarity', f)),
]
  .filter((f) => fs.existsSync(f))
  .map((f) => fs.readFileSync(f, 'utf8'));

const database = await throwawayDatabase(process.env.DATABASE_URL ?? 'postgres://grader@127.0.0.1:55432/grader');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-bench-similarity-'));
const ctx = createContext(
  loadConfig(process.env, { DATABASE_URL: database.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent', QUEUE_PREFIX: `bench-sim-${crypto.randomBytes(4).toString('hex')}` }),
  'bench',
);
try {
  await migrate(ctx.db);
  const similarity = new SimilarityRepository(ctx.db);
  const engine = await SimilarityEngine.create();
  const rand = rng(16);
  const seedStart = performance.now();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const text = disguise(corpus[i % corpus.length]!, rand);
    bytes += Buffer.byteLength(text);
    const { submission } = await ctx.submissions.createSubmission({
      assessmentId: ASSESSMENT,
      archiveSha256: crypto.createHash('sha256').update(text).digest('hex'),
      archiveBytes: text.length,
      archiveFormat: 'tar.gz',
      fileName: `seed-${i}.tar.gz`,
      candidate: `seed ${i}`,
      inviteId: null,
    });
    const source = comparedSource([{ name: 'solution.py', text }]);
    await similarity.saveDocument({ assessmentId: ASSESSMENT, kind: 'submission', submissionId: submission.id, name: submission.fileName }, source, engine.index(source.text));
  }
  const seedS = (performance.now() - seedStart) / 1000;

  const archive = await tarGzOfFolder(path.join(fixtures, 'submissions/churn/exemplary'));
  const blob = await ctx.blobs.put(Readable.from([archive]), 10 * 1024 * 1024);
  const { submission } = await ctx.submissions.createSubmission({
    assessmentId: ASSESSMENT,
    archiveSha256: blob.sha256,
    archiveBytes: blob.bytes,
    archiveFormat: 'tar.gz',
    fileName: 'exemplary.tar.gz',
    candidate: 'new',
    inviteId: null,
  });

  // A fresh service per round: the first one pays for loading the tree-sitter grammar, as a worker's first run does.
  const timings: { ms: number; compared: number; stored: number; heapMiB: number; rssMiB: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const service = new SimilarityService({ ...ctx, similarity });
    global.gc?.();
    const before = process.memoryUsage();
    const t0 = performance.now();
    const outcome = await service.indexSubmission(submission.id);
    const ms = performance.now() - t0;
    const after = process.memoryUsage();
    timings.push({ ms, compared: outcome.compared, stored: outcome.stored, heapMiB: (after.heapUsed - before.heapUsed) / 2 ** 20, rssMiB: (after.rss - before.rss) / 2 ** 20 });
  }
  const warm = timings
    .slice(1)
    .map((t) => t.ms)
    .sort((a, b) => a - b);
  const median = warm.length ? warm[Math.floor(warm.length / 2)]! : timings[0]!.ms;
  const latest = path.join(ROOT, 'bench/results/latest.json');
  const grading = fs.existsSync(latest) ? (JSON.parse(fs.readFileSync(latest, 'utf8')) as { grading?: { sandboxWall?: { median?: number }; submission?: string } }).grading : undefined;
  const gradingMs = grading?.sandboxWall?.median;
  const lines = [
    `Similarity: one new submission (exemplary, ${Buffer.byteLength(comparedSource([{ name: 'solution.py', text: fs.readFileSync(path.join(fixtures, 'submissions/churn/exemplary/solution.py'), 'utf8') }]).text)} B of code) against ${count.toLocaleString('en-US')} stored submissions (${(bytes / count / 1024).toFixed(1)} KB of code each on average; seeded in ${seedS.toFixed(1)} s)`,
    '',
    '| round | wall | candidates (fingerprint look-up; references and the top 10 compared in full by Dolos) | pairs stored (≥ floor) | heap Δ | RSS Δ |',
    '|---|---|---|---|---|---|',
    ...timings.map(
      (t, i) =>
        `| ${i + 1}${i === 0 ? ' (first of a fresh service: starter code indexed)' : ''} | ${t.ms.toFixed(0)} ms | ${t.compared} | ${t.stored} | ${t.heapMiB.toFixed(1)} MiB | ${t.rssMiB.toFixed(1)} MiB |`,
    ),
    '',
    `Median of rounds 2+ ${median.toFixed(0)} ms; first ${timings[0]!.ms.toFixed(0)} ms (a worker's very first run also loads the tree-sitter grammar, ~1 s, once per process); peak RSS of this process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB.`,
    gradingMs
      ? `Grading of the same submission (${grading?.submission ?? 'exemplary'}, sandbox, median, bench/results/latest.json): ${(gradingMs / 1000).toFixed(1)} s → similarity is ${((median / gradingMs) * 100).toFixed(1)}% (median), ${((timings[0]!.ms / gradingMs) * 100).toFixed(1)}% (first) (goal ≤ 5%).`
      : 'No stored grading time (run npm run bench -- --only grading first).',
  ];
  console.log(lines.join('\n'));
} finally {
  await ctx.close();
  await database.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
