import fs from 'node:fs';
import { z } from 'zod';
import { loadConfig } from '../services/config.ts';
import { createContext } from '../services/context.ts';
import { Grader } from '../services/grading/grader.ts';
import { gradingTimeSchema, TimingSandbox } from '../services/sandbox/timing-sandbox.ts';
import { startGradingWorker } from '../workers/grading-worker.ts';

/**
 * A grading worker of the scale simulation (bench/simulate.ts): the real worker (BullMQ, Postgres,
 * the blob store, the Grader's host side) with the timing sandbox in place of Docker. Only the
 * grading queue is consumed (no similarity, webhook or regrade workers). Prints one JSON line when
 * it takes jobs, with its pid and the time, for the simulation's slot accounting.
 */
const simEnv = z.object({
  TIMING_RECORDING: z.string().min(1),
  TIMING_SAMPLES: z.string().min(1),
  TIMING_SCALE: z.coerce.number().positive(),
});

const env = simEnv.parse(process.env);
const config = loadConfig();
const base = createContext(config, 'sim-worker');
const samples = z.object({ samples: z.array(gradingTimeSchema).min(1) }).parse(JSON.parse(fs.readFileSync(env.TIMING_SAMPLES, 'utf8'))).samples;
const sandbox = new TimingSandbox({ recording: env.TIMING_RECORDING, samples, scale: env.TIMING_SCALE, nodeEnv: config.NODE_ENV });
// Datasets come from the cache the simulation filled beforehand (base.datasets generates with Docker if not).
const grader = new Grader({ config, sandbox, assessments: base.assessments, datasets: base.datasets, logger: base.logger });
const ctx = { ...base, sandbox, grader };
const w = await startGradingWorker(ctx);
await w.worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ ready: Date.now(), pid: process.pid })}\n`);
const stop = () => {
  w.close()
    .then(() => base.close())
    .then(
      () => process.exit(0),
      (err: unknown) => {
        base.logger.error({ err }, 'simulation worker did not stop cleanly');
        process.exit(1);
      },
    );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
