import { z } from 'zod';
import { gradingPhaseSchema, gradingStatusSchema } from '../submissions/grading-states.ts';

/** Shared API primitives and resource shapes (request and response). */
export const uuid = z.string().uuid();
export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });

export const submissionAcceptedSchema = z.object({
  submissionId: uuid,
  gradingId: uuid,
  status: z.string(),
  statusUrl: z.string(),
  reportUrl: z.string(),
  duplicate: z.boolean(),
});

export const submissionStatusSchema = z.object({
  id: uuid,
  assessmentId: z.string(),
  fileName: z.string(),
  archiveSha256: z.string(),
  createdAt: z.string(),
  status: gradingStatusSchema,
  phase: gradingPhaseSchema,
  queuePosition: z.number().int().nullable(),
  grading: z.object({
    id: uuid,
    queuedAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    workerHost: z.string().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
  }),
  reportUrl: z.string().nullable(),
});
