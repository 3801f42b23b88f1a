import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import tar from 'tar-stream';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import { DatasetStore } from '../assessments/dataset-store.ts';
import { createSandbox } from '../sandbox/create-sandbox.ts';
import { Grader } from '../grading/grader.ts';
import { parseRubric } from '../rubrics/rubric-schema.ts';
import { renderMarkdown } from '../reports/render-markdown.ts';
import { parse as parseYaml } from 'yaml';
import { REMOTE_USAGE, remoteCommand } from './remote-commands.ts';

const USAGE = `usage:
  grader grade PATH [--assessment ID] [--rubric FILE] [--format json|md]
      Grades a folder or a .zip/.tar.gz archive locally (Docker sandbox, same checks and scoring
      as the service) and prints only the report on stdout. Exit 0 when grading completed.
${REMOTE_USAGE}`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'grade') return grade(rest);
  if (command === 'rubric' || command === 'regrade') return remoteCommand(command, rest);
  if (command === '--help' || command === '-h' || command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
  return 2;
}

async function grade(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { assessment: { type: 'string' }, rubric: { type: 'string' }, format: { type: 'string', default: 'json' } },
  });
  const target = positionals[0];
  if (!target || !['json', 'md'].includes(values.format!)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(process.env, { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const logger = pino({ level: config.LOG_LEVEL }, pino.destination(2));
  const assessments = AssessmentRegistry.load(config.ASSESSMENTS_DIR);
  const assessmentId = values.assessment ?? (assessments.has('churn-messy-csv') ? 'churn-messy-csv' : assessments.list()[0]?.manifest.id);
  if (!assessmentId) throw new Error('no assessments found');
  const rubric = values.rubric ? parseRubric(await readRubricFile(values.rubric)) : await assessments.defaultRubric(assessmentId);
  const sandbox = createSandbox(config, logger);
  await sandbox.ping();
  const grader = new Grader({
    config,
    sandbox,
    assessments,
    datasets: new DatasetStore(config.DATASET_CACHE_DIR ?? path.join(config.DATA_DIR, 'datasets'), sandbox, config.RUNNER_IMAGE),
    logger,
  });

  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'grader-cli-'));
  try {
    const st = await fsp.stat(target);
    const archive = st.isDirectory() ? await packFolder(target, path.join(tmp, 'submission.tar.gz')) : path.resolve(target);
    const sha256 = crypto
      .createHash('sha256')
      .update(await fsp.readFile(archive))
      .digest('hex');
    const report = await grader.grade({
      gradingId: crypto.randomUUID(),
      submissionId: crypto.randomUUID(),
      assessmentId,
      archivePath: archive,
      archiveSha256: sha256,
      rubric,
      rubricVersion: 0,
    });
    process.stdout.write(values.format === 'md' ? renderMarkdown(report) : `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

export async function readRubricFile(file: string): Promise<unknown> {
  const text = await fsp.readFile(file, 'utf8');
  return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
}

/** Packs a folder's regular files into a .tar.gz; links and special files are refused, as in uploads. */
async function packFolder(dir: string, out: string): Promise<string> {
  const pack = tar.pack();
  const done = pipeline(pack, zlib.createGzip(), fs.createWriteStream(out));
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.name === '__pycache__' || entry.name === '.git') continue;
      if (entry.isSymbolicLink() || (!entry.isFile() && !entry.isDirectory())) throw new Error(`${name}: only regular files and folders can be graded`);
      if (entry.isDirectory()) await walk(name);
      else pack.entry({ name, mode: 0o644 }, await fsp.readFile(path.join(dir, name)));
    }
  };
  await walk('');
  pack.finalize();
  await done;
  return out;
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.GRADER_CLI === '1') {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`grader: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
