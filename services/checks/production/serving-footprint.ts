import { z } from 'zod';
import { defineCheck, fmt, num } from '../define-check.ts';
import { ev, mb, notRun, type MeasureContext } from '../measure-context.ts';

export const servingFootprint = defineCheck({
  id: 'serving.footprint',
  title: 'A model that ships without its training data',
  category: 'production',
  basis: 'host',
  explanation:
    'The trained model is the file that goes to production. It should hold what the model learnt, not the customers it learnt from: a model file that carries rows of the training data is a privacy problem and far larger than it needs to be. We look inside the file for the training customers (without running it) and measure its size and the memory it needs to answer.',
  thresholds: z
    .object({
      failOnTrainingData: z.boolean().default(true),
      /** Share of sampled training ids or numeric runs found in model.pkl that counts as carrying the data. */
      trainingDataShare: z.number().min(0).max(1).default(0.1),
      maxModelMb: z.number().positive().max(100_000).default(100),
      maxServingMemoryMb: z.number().positive().max(100_000).default(2048),
    })
    .strict(),
  measure,
  judge: (v, t) => {
    const carries = num(v, 'idsFoundShare') >= t.trainingDataShare || num(v, 'numericRunsFoundShare') >= t.trainingDataShare;
    const size = `model.pkl ${fmt(num(v, 'modelMb'), 2)} MB (training file ${fmt(num(v, 'trainMb'), 2)} MB), ${fmt(num(v, 'servingPeakMb'), 0)} MB of memory to answer`;
    if (carries)
      return {
        status: t.failOnTrainingData ? 'fail' : 'warn',
        summary: `${size}: the model file carries rows of the training data (${v.idsFound} of ${v.idsSampled} sampled customer ids${v.columnsFound ? `, values of ${v.columnsFound}` : ''})`,
      };
    if (num(v, 'modelMb') > t.maxModelMb) return { status: 'warn', summary: `${size}: larger than ${t.maxModelMb} MB` };
    if (num(v, 'servingPeakMb') > t.maxServingMemoryMb) return { status: 'warn', summary: `${size}: more memory than ${t.maxServingMemoryMb} MB` };
    return { status: 'pass', summary: size };
  },
});

function measure({ input, pred }: MeasureContext) {
  const m = input.model;
  if (!m) return notRun(input.train.problem ?? 'training produced no model');
  const peak = pred?.serving?.peakRssBytes ?? null;
  const s = m.scan;
  return {
    ran: true,
    values: {
      modelMb: m.bytes / 1048576,
      trainMb: m.trainBytes / 1048576,
      modelToTrainRatio: m.trainBytes ? m.bytes / m.trainBytes : null,
      servingPeakMb: peak === null ? null : mb(peak),
      idsSampled: s.idsSampled,
      idsFound: s.idsFound,
      idsFoundShare: s.idsSampled ? s.idsFound / s.idsSampled : 0,
      numericRunsSampled: s.windowsSampled,
      numericRunsFound: s.windowsFound,
      numericRunsFoundShare: s.windowsSampled ? s.windowsFound / s.windowsSampled : 0,
      columnsFound: s.columnsFound.join(', ') || null,
    },
    evidence: [
      ev('Model file', `model.pkl is ${(m.bytes / 1048576).toFixed(2)} MB; the training file is ${(m.trainBytes / 1048576).toFixed(2)} MB`),
      ev(
        'Training rows inside',
        `${s.idsFound} of ${s.idsSampled} sampled training customer ids and ${s.windowsFound} of ${s.windowsSampled} runs of consecutive numeric values were found in model.pkl` +
          (s.columnsFound.length ? ` (columns ${s.columnsFound.join(', ')})` : ''),
      ),
      ev('Memory', peak === null ? 'the serving probe did not run' : `the process answering single customers peaked at ${mb(peak)} MB`),
    ],
  };
}
