import { z } from 'zod';
import { GRADING_REASONS } from '../submissions/grading-states.ts';

export const WEBHOOK_EVENTS = ['report.created', 'regrade.completed', 'grading.failed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const asUrl = (u: string) => {
  try {
    return new URL(u);
  } catch {
    return null;
  }
};
const webhookUrl = z
  .string()
  .max(2000)
  .refine((u) => /^https?:$/.test(asUrl(u)?.protocol ?? ''), 'must be an absolute http or https URL')
  .refine((u) => !asUrl(u)?.username && !asUrl(u)?.password, 'must not contain credentials; the signature authenticates the sender');

export const createWebhookSchema = z
  .object({
    url: webhookUrl,
    description: z.string().max(500).default(''),
    /** Only events of these assessments; every assessment the caller may see when left out. */
    assessmentIds: z.array(z.string().min(1).max(100)).min(1).max(100).nullable().default(null),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .default([...WEBHOOK_EVENTS]),
  })
  .strict();
export type CreateWebhook = z.infer<typeof createWebhookSchema>;

export const webhookEndpointSchema = z.object({
  id: z.string().uuid(),
  url: z.string(),
  description: z.string(),
  assessmentIds: z.array(z.string()).nullable(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  createdBy: z.string(),
  createdAt: z.string(),
  enabled: z.boolean(),
  consecutiveFailures: z.number().int(),
  disabledAt: z.string().nullable(),
  disabledReason: z.string().nullable(),
});
export type WebhookEndpointView = z.infer<typeof webhookEndpointSchema>;

export const webhookDeliverySchema = z.object({
  id: z.string().uuid(),
  event: z.enum(WEBHOOK_EVENTS),
  idempotencyKey: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  attemptLog: z.array(z.object({ attempt: z.number().int(), at: z.string(), statusCode: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number().int() })),
});
export type WebhookDeliveryView = z.infer<typeof webhookDeliverySchema>;

/** Body of report.created: a grading or a regrade published a report. */
export const reportEventSchema = z.object({
  event: z.literal('report.created'),
  eventId: z.string(),
  occurredAt: z.string(),
  source: z.enum(['grading', 'rescore']),
  submissionId: z.string().uuid(),
  assessmentId: z.string(),
  reportId: z.string().uuid(),
  gradingId: z.string().uuid().nullable(),
  regradeId: z.string().uuid().nullable(),
  score: z.number(),
  passed: z.boolean(),
  rubricVersion: z.number().int(),
  reportUrl: z.string(),
});
export type ReportEvent = z.infer<typeof reportEventSchema>;

/** Body of regrade.completed. */
export const regradeEventSchema = z.object({
  event: z.literal('regrade.completed'),
  eventId: z.string(),
  occurredAt: z.string(),
  regradeId: z.string().uuid(),
  assessmentId: z.string(),
  rubricVersion: z.number().int(),
  path: z.string().nullable(),
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  flips: z.number().int(),
  regradeUrl: z.string(),
});
export type RegradeEvent = z.infer<typeof regradeEventSchema>;

/** Body of grading.failed: a grading ended without a report for a system reason, all retries spent. */
export const gradingFailedEventSchema = z.object({
  event: z.literal('grading.failed'),
  eventId: z.string(),
  occurredAt: z.string(),
  submissionId: z.string().uuid(),
  assessmentId: z.string(),
  gradingId: z.string().uuid(),
  reason: z.enum(GRADING_REASONS),
  attempts: z.number().int(),
  error: z.string().nullable(),
  statusUrl: z.string(),
  /** POST here (reviewer or admin key) to grade the stored archive again. */
  retryUrl: z.string(),
});
export type GradingFailedEvent = z.infer<typeof gradingFailedEventSchema>;

/** The job catalog entry for deliveries. */
export const deliveryJobSchema = z.object({ deliveryId: z.string().uuid() }).strict();
export type DeliveryJob = z.infer<typeof deliveryJobSchema>;
