import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'bench/rescore.ts');

export type RescoreResult =
  { available: false; reason: string } | { available: true; ok: boolean; count: number; endToEndMs: number | null; rescoringMs: number | null; line: string; output: string };

/**
 * Section 4: the rescore-only regrade benchmark (bench/rescore.ts, written with the regrade
 * feature) run as its own process; its summary line is parsed for the table.
 */
export async function rescoreBench(opts: { count: number; log: (s: string) => void }): Promise<RescoreResult> {
  if (!fs.existsSync(SCRIPT)) return { available: false, reason: 'bench/rescore.ts does not exist yet' };
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--count', String(opts.count)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of d.toString().split('\n')) if (l.trim()) opts.log(`  rescore.ts: ${l.trim()}`);
  });
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  // e.g. "regrade to v2: completed, path rescore, 10000/10000 done, … — 4321 ms end to end (rescoring 3210 ms; …)"
  const line = out.split('\n').find((l) => /^regrade to /.test(l)) ?? '';
  const num = (re: RegExp) => {
    const m = re.exec(line);
    return m ? Number(m[1]) : null;
  };
  return {
    available: true,
    ok: code === 0 && line !== '',
    count: opts.count,
    endToEndMs: num(/(\d+) ms end to end/),
    rescoringMs: num(/rescoring (\d+) ms/),
    line: line || `exit ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`,
    output: out,
  };
}
