import { z } from 'zod';
import path from 'node:path';

const DEFAULT_ADMIN_KEY = 'dev-admin-key-change-me';
const DEFAULT_INVITE_SECRET = 'dev-invite-secret-change-me';

const bytes = z.coerce.number().int().positive();
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

/** Every setting of the service, from the environment. One schema, one source of truth. */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    PUBLIC_URL: z.string().url().optional(),
    /**
     * Which proxies to believe about the client address (X-Forwarded-For), so per-address limits
     * see clients, not the proxy: empty (none, the default), "true", a hop count, or a comma-separated
     * list of addresses/CIDRs.
     */
    TRUST_PROXY: z
      .string()
      .default('')
      .transform((s): boolean | number | string[] => {
        const v = s.trim();
        if (v === '' || v === 'false') return false;
        if (v === 'true') return true;
        if (/^\d+$/.test(v)) return Number(v);
        return v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      }),
    DATABASE_URL: z.string().default('postgres://grader@127.0.0.1:55432/grader'),
    REDIS_URL: z.string().default('redis://127.0.0.1:56379'),
    DOCKER_HOST: z.string().optional(),
    DATA_DIR: z.string().default(path.resolve('.data')),
    /**
     * Where blobs (uploaded archives) live: disk (DATA_DIR, one machine) or postgres (every host that
     * reaches DATABASE_URL; DATA_DIR is then this host's cache). Several hosts need postgres.
     */
    BLOB_STORE: z.enum(['disk', 'postgres']).default('disk'),
    /** Generated datasets (cached per version); defaults to DATA_DIR/datasets. */
    DATASET_CACHE_DIR: z.string().optional(),
    ASSESSMENTS_DIR: z.string().default(path.resolve('assessments')),
    RUNNER_IMAGE: z.string().default('grader-runner:latest'),
    /** The digest (image id, sha256:...) RUNNER_IMAGE must have on this host; a worker whose image differs refuses to start. */
    RUNNER_IMAGE_DIGEST: z
      .string()
      .regex(/^sha256:[a-f0-9]{64}$/)
      .optional(),
    SANDBOX_RUNTIME: z.string().optional().describe('OCI runtime for sandbox containers, e.g. runsc for gVisor'),
    /** Where candidate code runs: docker (the hardened sandbox), or host (no isolation: fast tests and the bench; refused in production). */
    SANDBOX: z.enum(['docker', 'host']).default('docker'),
    ADMIN_API_KEY: z.string().min(16).default(DEFAULT_ADMIN_KEY),
    INVITE_SECRET: z.string().min(16).default(DEFAULT_INVITE_SECRET),
    QUEUE_PREFIX: z.string().default('grader'),
    QUEUE_MAX_DEPTH: z.coerce.number().int().positive().default(200),
    WORKER_CONCURRENCY: z.coerce.number().int().positive().default(1),
    /** How long a grading job's lock lasts without renewal; a dead worker's job is taken over after about this long. */
    WORKER_LOCK_MS: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(10 * 60_000)
      .default(30_000),
    JOB_ATTEMPTS: z.coerce.number().int().positive().default(6),
    UPLOAD_MAX_BYTES: bytes.default(20 * 1024 * 1024),
    UPLOAD_MAX_UNCOMPRESSED_BYTES: bytes.default(200 * 1024 * 1024),
    UPLOAD_MAX_ENTRIES: bytes.default(2000),
    UPLOAD_MAX_RATIO: z.coerce.number().positive().default(100),
    UPLOAD_TIMEOUT_MS: bytes.default(60_000),
    /** Warm Python processes the API keeps for parsing uploaded solutions (started on the first upload). */
    UPLOAD_PARSERS: z.coerce.number().int().min(1).max(16).default(2),
    /** Uploads accepted per client IP per minute (API and invite pages alike). */
    UPLOAD_RATE_PER_IP: z.coerce.number().int().positive().default(30),
    /** Uploads accepted per invite token per minute. */
    UPLOAD_RATE_PER_INVITE: z.coerce.number().int().positive().default(5),
    SANDBOX_MEMORY_BYTES: bytes.default(2 * 1024 * 1024 * 1024),
    SANDBOX_CPUS: z.coerce.number().positive().default(2),
    SANDBOX_PIDS: bytes.default(256),
    SANDBOX_TMPFS_BYTES: bytes.default(512 * 1024 * 1024),
    /** Code viewer: files larger than this are listed with their size, not rendered. */
    CODE_VIEWER_MAX_FILE_BYTES: bytes.default(1024 * 1024),
    /** Report bodies the API keeps in memory (reports are immutable); 0 turns the cache off. */
    REPORT_CACHE_BYTES: z.coerce
      .number()
      .int()
      .min(0)
      .default(32 * 1024 * 1024),
    /** Regrades: stored reports rescored per page (one read and one multi-row write per page). */
    REGRADE_PAGE_SIZE: z.coerce.number().int().min(10).max(10_000).default(1000),
    /** Webhooks: attempts per delivery (exponential backoff from WEBHOOK_BACKOFF_MS), request timeout. */
    WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
    WEBHOOK_BACKOFF_MS: z.coerce.number().int().positive().default(10_000),
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /** An endpoint whose deliveries fail for good this many times in a row is disabled. */
    WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).default(5),
    WEBHOOK_CONCURRENCY: z.coerce.number().int().positive().default(4),
    /**
     * Comma-separated host names webhook URLs may point at. Empty: any host whose addresses are
     * public (loopback, private, link-local, metadata and other internal targets are refused, see
     * services/webhooks/webhook-address.ts). Listed hosts skip that check: the opt-in for internal receivers.
     */
    WEBHOOK_ALLOWED_HOSTS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean),
      ),
    /** Lowers every assessment's per-phase time limit to at most this many seconds (operators, tests). */
    PHASE_TIMEOUT_CAP_S: z.coerce.number().positive().optional(),
    /**
     * The serving probe (serving.latency): warm single-customer predict() calls, and the seconds
     * they may take in all (a slow model answers fewer). 0 calls: no probe (the check is skipped).
     */
    SERVING_CALLS: z.coerce.number().int().min(0).max(2000).default(200),
    SERVING_BUDGET_S: z.coerce.number().positive().max(600).default(20),
    SANDBOX_LOG_BYTES: bytes.default(64 * 1024),
    SANDBOX_OUTPUT_BYTES: bytes.default(256 * 1024 * 1024),
    STALLED_GRADING_MS: bytes.default(30 * 60_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    REQUIRE_NOEVICTION: bool.default(true),
    /** Reviewer web sessions (API key exchanged for a cookie) last this long. */
    WEB_SESSION_TTL_S: z.coerce
      .number()
      .int()
      .positive()
      .default(8 * 3600),
    /** Failed reviewer sign-ins allowed per client IP per 15 minutes; then every attempt gets 429. */
    SIGN_IN_FAILURES_PER_IP: z.coerce.number().int().positive().default(10),
    /** Secure flag on the session cookie: auto sets it when the request came over https. */
    WEB_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
    /** Invite defaults when the creator does not say: expiry and allowed uploads. */
    INVITE_DEFAULT_TTL_H: z.coerce
      .number()
      .positive()
      .max(24 * 90)
      .default(7 * 24),
    INVITE_DEFAULT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
    /**
     * E-mailing invite links (optional): off while SMTP_HOST is unset. SMTP_SECURE is TLS from the
     * first byte (port 465); otherwise STARTTLS is used when the server offers it, and required
     * with SMTP_REQUIRE_TLS. SMTP_USER/SMTP_PASSWORD when the server wants a login.
     */
    SMTP_HOST: z.string().optional(),
    SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(587),
    SMTP_SECURE: bool.default(false),
    SMTP_REQUIRE_TLS: bool.default(false),
    SMTP_USER: z.string().optional(),
    SMTP_PASSWORD: z.string().optional(),
    /** The sender of invite e-mails, e.g. "Hiring team <hiring@example.com>"; required with SMTP_HOST. */
    SMTP_FROM: z.string().optional(),
    /** How long one send may take (connect, greeting, each reply) before the reviewer is told it failed. */
    SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  })
  .superRefine((c, ctx) => {
    if (c.SMTP_HOST && !c.SMTP_FROM) ctx.addIssue({ code: 'custom', path: ['SMTP_FROM'], message: 'is required when SMTP_HOST is set (the sender of invite e-mails)' });
    if (!c.SMTP_USER !== !c.SMTP_PASSWORD) ctx.addIssue({ code: 'custom', path: ['SMTP_PASSWORD'], message: 'SMTP_USER and SMTP_PASSWORD go together' });
    if (c.NODE_ENV !== 'production') return;
    if (c.ADMIN_API_KEY === DEFAULT_ADMIN_KEY) ctx.addIssue({ code: 'custom', path: ['ADMIN_API_KEY'], message: 'must be set in production (the default is public)' });
    if (c.INVITE_SECRET === DEFAULT_INVITE_SECRET) ctx.addIssue({ code: 'custom', path: ['INVITE_SECRET'], message: 'must be set in production (the default is public)' });
    if (c.SANDBOX === 'host') ctx.addIssue({ code: 'custom', path: ['SANDBOX'], message: 'the host sandbox runs candidate code without isolation; use docker in production' });
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Config, unknown>> = {}): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) if (env[key] !== undefined && env[key] !== '') input[key] = env[key];
  const parsed = configSchema.safeParse({ ...input, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
