import { z } from 'zod';

/**
 * The closed lists a grading row moves through, kept once: the code, the API schemas and the
 * database CHECK constraints (migrations/009_grading_states.sql, 015_notebooks_phase.sql) agree on them.
 */

/** Where a grading stands. */
export const GRADING_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type GradingStatus = (typeof GRADING_STATUSES)[number];
export const gradingStatusSchema = z.enum(GRADING_STATUSES);

/** The steps the Grader reports while it runs (GradeRequest.onPhase). */
export const GRADER_PHASES = ['preparing', 'training', 'predicting', 'notebooks', 'scoring'] as const;
export type GraderPhase = (typeof GRADER_PHASES)[number];

/** Every phase a grading row may show: waiting, one of the Grader's steps, or where it ended. */
export const GRADING_PHASES = ['queued', ...GRADER_PHASES, 'retrying', 'done', 'failed'] as const;
export type GradingPhase = (typeof GRADING_PHASES)[number];
export const gradingPhaseSchema = z.enum(GRADING_PHASES);

/** Each status change writes its phase with it. */
export const GRADING_STATE = {
  queued: { status: 'queued', phase: 'queued' },
  started: { status: 'running', phase: 'preparing' },
  retrying: { status: 'queued', phase: 'retrying' },
  completed: { status: 'completed', phase: 'done' },
  failed: { status: 'failed', phase: 'failed' },
} as const satisfies Record<string, { status: GradingStatus; phase: GradingPhase }>;

/** A grading that will not change any more. */
export const isFinishedStatus = (s: GradingStatus): s is 'completed' | 'failed' => s === 'completed' || s === 'failed';

/** Why a grading exists: the upload, a regrade's sandbox re-run, or a reviewer's retry after a system failure. */
export const GRADING_REASONS = ['initial', 'regrade', 'retry'] as const;
export type GradingReason = (typeof GRADING_REASONS)[number];

/** The phases each status allows (the database checks the same pairs). */
export const PHASES_OF_STATUS = {
  queued: ['queued', 'retrying'],
  running: GRADER_PHASES,
  completed: ['done'],
  failed: ['failed'],
} as const satisfies Record<GradingStatus, readonly GradingPhase[]>;
