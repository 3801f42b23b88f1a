import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
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
const expected = JSON.parse(readFileSync(join(fixturesDir, 'expected.json'), 'utf8')) as Record<
  string,
  { rule: string; line: number }[]
>;
const fixtures = readdirSync(fixturesDir)
  .filter((f) => f.endsWith('.py'))
  .sort();

async function lint(file: string): Promise<z.infer<typeof lintFindingSchema>[]> {
  const { stdout } = await run(
    'docker',
    [
      'run', '--rm', '--network', 'none', '--read-only', '--user', '65534:65534',
      '-v', `${fixturesDir}:/src:ro`,
      image, 'python3', '-I', '/opt/harness/lint.py', `/src/${file}`,
    ],
    { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
  );
  return z.array(lintFindingSchema).parse(JSON.parse(stdout));
}

const byPosition = (a: { line: number; rule: string }, b: { line: number; rule: string }) =>
  a.line - b.line || a.rule.localeCompare(b.rule);

describe('static lint (in the runner image)', () => {
  it('has an expectation for every fixture, and at least 6 fixtures of which 2 are clean', () => {
    expect(fixtures.sort()).toEqual(Object.keys(expected).sort());
    expect(fixtures.length).toBeGreaterThanOrEqual(6);
    expect(Object.values(expected).filter((e) => e.length === 0).length).toBeGreaterThanOrEqual(2);
  });

  it.each(fixtures)('%s: exactly the expected findings', async (file) => {
    const findings = await lint(file);
    const got = findings.map(({ rule, line }) => ({ rule, line })).sort(byPosition);
    expect(got).toEqual([...(expected[file] ?? [])].sort(byPosition));

    // Every finding points at the right file and quotes the stripped source line it names.
    const source = readFileSync(join(fixturesDir, file), 'utf8').split('\n');
    for (const f of findings) {
      expect(f.file).toBe(`/src/${file}`);
      expect(f.code).toBe(source[f.line - 1]?.trim());
      expect(f.message.length).toBeGreaterThan(10);
    }
  });

  it('lints several files in one call and prints one JSON list', async () => {
    const { stdout } = await run(
      'docker',
      [
        'run', '--rm', '--network', 'none', '--read-only', '--user', '65534:65534',
        '-v', `${fixturesDir}:/src:ro`,
        image, 'python3', '-I', '/opt/harness/lint.py', '/src/clean_holdout.py', '/src/smote_before_cv.py',
      ],
      { timeout: 60_000 },
    );
    const findings = z.array(lintFindingSchema).parse(JSON.parse(stdout));
    expect(findings.map((f) => f.file)).toEqual(['/src/smote_before_cv.py', '/src/smote_before_cv.py']);
  });
});
