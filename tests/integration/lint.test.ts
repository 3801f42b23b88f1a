import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lintFindingSchema } from '../../services/grading/harness-output.ts';

/**
 * The static lint (docker/runner/harness/lint.py) run the way the platform runs candidate code: inside
 * the runner image, read-only, no network, as nobody. Each fixture is an ordinary script (not the
 * grading contract) with known methodology flaws, or none; expected.json lists the exact rule + line
 * pairs the lint must report for it.
 */
const run = promisify(execFile);
const image = process.env.RUNNER_IMAGE ?? 'grader-runner:latest';
const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'lint');
const expected = JSON.parse(readFileSync(join(fixturesDir, 'expected.json'), 'utf8')) as Record<string, { rule: string; line: number; cell?: number }[]>;
const isSource = (f: string) => f.endsWith('.py') || f.endsWith('.ipynb');
// Later batches keep their own folder and labels (batch9/expected.json), named `batch9/<file>` here.
const batches = readdirSync(fixturesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name.startsWith('batch'))
  .map((d) => d.name);
for (const b of batches) {
  const labels = JSON.parse(readFileSync(join(fixturesDir, b, 'expected.json'), 'utf8')) as typeof expected;
  for (const [name, found] of Object.entries(labels)) expected[`${b}/${name}`] = found;
}
const fixtures = [
  ...readdirSync(fixturesDir).filter(isSource),
  ...batches.flatMap((b) =>
    readdirSync(join(fixturesDir, b))
      .filter(isSource)
      .map((f) => `${b}/${f}`),
  ),
].sort();

async function lint(files: string[]): Promise<z.infer<typeof lintFindingSchema>[]> {
  const { stdout } = await run(
    'docker',
    [
      'run',
      '--rm',
      '--network',
      'none',
      '--read-only',
      '--user',
      '65534:65534',
      '-v',
      `${fixturesDir}:/src:ro`,
      image,
      'python3',
      '-I',
      '/opt/harness/lint.py',
      ...files.map((f) => `/src/${f}`),
    ],
    { timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
  );
  return z.array(lintFindingSchema).parse(JSON.parse(stdout));
}

type Position = { line: number; rule: string; cell?: number };
const byPosition = (a: Position, b: Position) => (a.cell ?? 0) - (b.cell ?? 0) || a.line - b.line || a.rule.localeCompare(b.rule);

/** `/src/nb.ipynb#cell-3` -> { file: 'nb.ipynb', cell: 3 }; scripts have no cell. */
function where(file: string): { file: string; cell?: number } {
  const m = /^\/src\/(.+?)(?:#cell-(\d+))?$/.exec(file);
  if (!m) throw new Error(`unexpected file ${file}`);
  return m[2] ? { file: m[1]!, cell: Number(m[2]) } : { file: m[1]! };
}

describe('static lint (in the runner image)', () => {
  let all: z.infer<typeof lintFindingSchema>[] = [];
  beforeAll(async () => {
    all = await lint(fixtures); // one container for the whole labelled set
  }, 150_000);

  it('has an expectation for every fixture, and at least 20 fixtures without findings', () => {
    expect(fixtures.sort()).toEqual(Object.keys(expected).sort());
    expect(fixtures.length).toBeGreaterThanOrEqual(60);
    expect(Object.values(expected).filter((e) => e.length === 0).length).toBeGreaterThanOrEqual(20);
  });

  it.each(fixtures)('%s: exactly the expected findings', (file) => {
    const findings = all.filter((f) => where(f.file).file === file);
    const got = findings.map((f) => ({ rule: f.rule, line: f.line, ...(where(f.file).cell ? { cell: where(f.file).cell } : {}) })).sort(byPosition);
    expect(got).toEqual([...(expected[file] ?? [])].sort(byPosition));

    // Every finding quotes the stripped source line it names (in a notebook: the cell's line).
    const text = readFileSync(join(fixturesDir, file), 'utf8');
    for (const f of findings) {
      const { cell } = where(f.file);
      const lines = cell === undefined ? text.split('\n') : notebookCellSource(text, cell).split('\n');
      expect(f.code).toBe(lines[f.line - 1]?.trim());
      expect(f.message.length).toBeGreaterThan(10);
    }
  });

  it('lints several files in one call and prints one JSON list, file by file in the order given', () => {
    const order = all.map((f) => fixtures.indexOf(where(f.file).file));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});

/** The source of cell `n` (counted from 1, markdown included) of a fixture notebook (our own file, read as JSON). */
function notebookCellSource(text: string, n: number): string {
  const nb = z.object({ cells: z.array(z.object({ source: z.union([z.string(), z.array(z.string())]) })) }).parse(JSON.parse(text));
  const src = nb.cells[n - 1]?.source ?? '';
  return Array.isArray(src) ? src.join('') : src;
}
