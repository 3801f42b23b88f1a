import { z } from 'zod';

/**
 * assessments/<id>/assessment.json: what the platform needs to know about an assessment.
 * The dataset itself is made by the assessment's own generator (run in the runner image, no
 * network) into a folder laid out as `datasetLayout` below describes.
 */
export const assessmentManifestSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
  title: z.string().min(1).max(200),
  /** Bumped whenever the generator's output changes; part of every report's provenance. */
  datasetVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  seed: z.number().int().nonnegative(),
  /** Generator script inside the assessment folder, run as `python3 <generator> --seed S --out DIR`. */
  generator: z.string().default('generate.py'),
  brief: z.string().default('brief.md'),
  dataDictionary: z.string().default('data-dictionary.md'),
  rubric: z.string().default('rubric.json'),
  target: z.string(),
  positiveLabel: z.string(),
  negativeLabel: z.string(),
  idColumn: z.string(),
  /** Business cost of each error kind, in the same unit (e.g. a missed churner costs 10 calls). */
  costs: z.object({ falseNegative: z.number().positive(), falsePositive: z.number().positive() }),
  /** Columns recorded after the outcome (their values at prediction time differ from train.csv). */
  postOutcomeColumns: z.array(z.string()).default([]),
  /** Holdout variant used for metrics and the transductive check. */
  primaryVariant: z.string().default('prediction_time'),
  /** Holdout variant where post-outcome columns are as recorded (for leakage.target); optional. */
  recordedVariant: z.string().nullable().default(null),
  /** Messy variants predict() must survive (robustness.messy_input). */
  messyVariants: z.array(z.string()).default([]),
  limits: z
    .object({
      trainSeconds: z.number().positive().default(600),
      predictSeconds: z.number().positive().default(300),
      memoryMb: z.number().positive().default(2048),
    })
    .default({ trainSeconds: 600, predictSeconds: 300, memoryMb: 2048 }),
});

export type AssessmentManifest = z.infer<typeof assessmentManifestSchema>;

/**
 * What the generator must write into its --out folder:
 *   train.csv                         public training data (with the target column)
 *   holdout/<variant>.csv             hidden holdout features, one file per variant, no target column,
 *                                     the same rows in the same order in every variant
 *   labels/holdout_labels.csv         `<idColumn>,<target>` for those rows, in that order (never
 *                                     mounted into a container that runs candidate code)
 *   manifest.json                     { datasetVersion, seed, trainRows, holdoutRows, positiveRate,
 *                                       variants: [...], files: { "<relative path>": "<sha256>" } }
 */
export const generatedManifestSchema = z.object({
  datasetVersion: z.string(),
  seed: z.number().int(),
  trainRows: z.number().int().positive(),
  holdoutRows: z.number().int().positive(),
  positiveRate: z.number().min(0).max(1),
  variants: z.array(z.string()).min(1),
  files: z.record(z.string(), z.string().regex(/^[a-f0-9]{64}$/)),
});
export type GeneratedManifest = z.infer<typeof generatedManifestSchema>;
