import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Assessment } from './assessment-registry.ts';
import { generatedManifestSchema, type GeneratedManifest } from './assessment-schema.ts';
import type { Sandbox, SandboxLimits } from '../sandbox/sandbox.ts';
import { SystemError } from '../errors.ts';

export interface Dataset {
  dir: string;
  manifest: GeneratedManifest;
  /** sha256 of manifest.json, which lists the sha256 of every file: one hash for the whole dataset. */
  sha256: string;
  trainCsv: string;
  holdoutDir: string;
  /** Holdout labels as 0/1 in holdout row order. Host-side only. */
  truth: number[];
  reference: { labels: number[]; probabilities: number[] | null } | null;
}

const GENERATOR_LIMITS: SandboxLimits = {
  memoryBytes: 2 * 1024 ** 3,
  cpus: 2,
  pids: 128,
  wallMs: 180_000,
  tmpfsBytes: 256 * 1024 ** 2,
  outputBytes: 256 * 1024 ** 2,
  logBytes: 64 * 1024,
  nofile: 1024,
  fsizeBytes: 256 * 1024 ** 2,
};

/**
 * Makes each assessment's dataset once (its generator runs in the runner image, so the numbers do
 * not depend on the host's Python), verifies every file against the generator's manifest, and
 * caches it under DATA_DIR/datasets keyed by version, seed and generator source.
 */
export class DatasetStore {
  private readonly cache = new Map<string, Promise<Dataset>>();

  constructor(
    private readonly cacheDir: string,
    private readonly sandbox: Sandbox,
    private readonly image: string,
  ) {}

  get(assessment: Assessment): Promise<Dataset> {
    const key = this.key(assessment);
    let p = this.cache.get(key);
    if (!p) {
      p = this.load(assessment, key).catch((err) => {
        this.cache.delete(key);
        throw err;
      });
      this.cache.set(key, p);
    }
    return p;
  }

  private key(a: Assessment): string {
    const src = fs.readFileSync(path.join(a.dir, a.manifest.generator));
    const h = crypto.createHash('sha256').update(src).digest('hex').slice(0, 12);
    return `${a.manifest.id}/${a.manifest.datasetVersion}-${a.manifest.seed}-${h}`;
  }

  private async load(a: Assessment, key: string): Promise<Dataset> {
    const dir = path.join(this.cacheDir, key);
    if (!fs.existsSync(path.join(dir, 'manifest.json'))) await this.generate(a, dir);
    return this.open(a, dir);
  }

  private async generate(a: Assessment, dir: string): Promise<void> {
    const staging = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    try {
      const run = await this.sandbox.run({
        gradingId: '00000000-0000-0000-0000-000000000000',
        step: 'dataset',
        image: this.image,
        command: ['python3', '-I', `/assessment/${a.manifest.generator}`, '--seed', String(a.manifest.seed), '--out', '/out/ds'],
        mounts: [{ hostPath: a.dir, containerPath: '/assessment' }],
        outputPath: '/out',
        collectTo: staging,
        limits: GENERATOR_LIMITS,
      });
      if (run.outcome !== 'completed') throw new SystemError(`dataset generator for ${a.manifest.id} ended with ${run.outcome}: ${run.stderr.text.slice(-2000)}`);
      await fsp.mkdir(path.dirname(dir), { recursive: true });
      await fsp.rename(path.join(staging, 'ds'), dir).catch((err: NodeJS.ErrnoException) => {
        // Another worker finished first: its copy is as good as ours.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
  }

  private async open(a: Assessment, dir: string): Promise<Dataset> {
    const raw = await fsp.readFile(path.join(dir, 'manifest.json'));
    const manifest = generatedManifestSchema.parse(JSON.parse(raw.toString('utf8')));
    for (const [rel, want] of Object.entries(manifest.files)) {
      const got = crypto
        .createHash('sha256')
        .update(await fsp.readFile(path.join(dir, rel)))
        .digest('hex');
      if (got !== want) throw new SystemError(`dataset ${dir}: ${rel} does not match its manifest hash`);
    }
    const m = a.manifest;
    const labelRows = parseCsv(await fsp.readFile(path.join(dir, 'labels', 'holdout_labels.csv'), 'utf8'));
    const header = labelRows.shift() ?? [];
    const col = header.indexOf(m.target);
    if (col < 0) throw new SystemError(`holdout labels lack the target column ${m.target}`);
    const truth = labelRows.map((r) => (r[col]?.trim() === m.positiveLabel ? 1 : 0));
    let reference: Dataset['reference'] = null;
    const refFile = path.join(dir, 'labels', 'reference.csv');
    if (fs.existsSync(refFile)) {
      const rows = parseCsv(await fsp.readFile(refFile, 'utf8'));
      const h = rows.shift() ?? [];
      const li = h.indexOf('label');
      const pi = h.indexOf('probability');
      reference = {
        labels: rows.map((r) => (r[li]?.trim() === '1' || r[li]?.trim() === m.positiveLabel ? 1 : 0)),
        probabilities: pi >= 0 ? rows.map((r) => Number(r[pi])) : null,
      };
    }
    return {
      dir,
      manifest,
      sha256: crypto.createHash('sha256').update(raw).digest('hex'),
      trainCsv: path.join(dir, 'train.csv'),
      holdoutDir: path.join(dir, 'holdout'),
      truth,
      reference,
    };
  }
}

/** Minimal RFC 4180 reader for the platform's own (trusted, generated) label files. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
