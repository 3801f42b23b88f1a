import fs from 'node:fs';
import path from 'node:path';

/**
 * Each security test records what it did and saw; scripts/security-report.ts turns the records of
 * the last run into the table in SECURITY.md, so the table is never written by hand.
 */
const FILE = path.resolve(import.meta.dirname, '../../artifacts/security-cases.jsonl');

export function recordCase(caseNo: number, name: string, observed: string): void {
  // scripts/test.sh runs the sandbox cases again under gVisor: those rows say so.
  const runtime = process.env.SANDBOX_RUNTIME;
  fs.mkdirSync(path.dirname(FILE), { recursive: true });
  fs.appendFileSync(FILE, `${JSON.stringify({ case: caseNo, name: runtime ? `${name} [${runtime}]` : name, observed, at: new Date().toISOString() })}\n`);
}
