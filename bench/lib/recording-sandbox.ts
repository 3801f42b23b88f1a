import fs from 'node:fs';
import path from 'node:path';
import type { Sandbox, SandboxResult, SandboxRunSpec } from '../../services/sandbox/sandbox.ts';

export interface RecordedRun {
  step: string;
  /** performance.now() when the grader called run() and when the run resolved. */
  calledAt: number;
  endedAt: number;
  result: SandboxResult;
  /** The harness document the run left (result.json / predictions.json), parsed, if any. */
  document: unknown;
}

/** Passes every call through and keeps what each run did, for the benchmark's tables. */
export class RecordingSandbox implements Sandbox {
  runs: RecordedRun[] = [];

  constructor(readonly inner: Sandbox) {}

  ping() {
    return this.inner.ping();
  }
  reap() {
    return this.inner.reap();
  }
  imageId(image: string) {
    return this.inner.imageId(image);
  }

  take(): RecordedRun[] {
    const r = this.runs;
    this.runs = [];
    return r;
  }

  async run(spec: SandboxRunSpec): Promise<SandboxResult> {
    const calledAt = performance.now();
    const result = await this.inner.run(spec);
    const endedAt = performance.now();
    let document: unknown = null;
    for (const name of ['result.json', 'predictions.json']) {
      const file = path.join(spec.collectTo, name);
      if (result.outputs.some((o) => o.name === name) && fs.existsSync(file)) document = JSON.parse(fs.readFileSync(file, 'utf8'));
    }
    this.runs.push({ step: spec.step, calledAt, endedAt, result, document });
    return result;
  }
}
