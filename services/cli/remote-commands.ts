import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { renderJunit, renderRegradeMarkdown } from '../regrades/regrade-render.ts';
import { regradeWithDiffSchema, type RegradeWithDiff } from '../regrades/regrade-schema.ts';

export const REMOTE_USAGE = `  grader rubric push FILE [--assessment ID] [--format text|json]
      Pushes a rubric (YAML or JSON) to the service: prints its version (new, or the existing
      version with the same content).
  grader regrade --assessment ID (--rubric FILE | --rubric-version N) [--dry-run] [--wait]
                 [--junit FILE] [--format md|json] [--fail-on-flip] [--submission ID]... [--timeout S]
      Pushes the rubric, regrades the assessment's submissions with it and, with --wait (implied by
      --junit, --format and --fail-on-flip), waits for the diff: JUnit XML (one testcase per
      submission, a failure when its verdict flips) and a Markdown summary for a pipeline comment.
      Exit 0 when done, 3 when --fail-on-flip and a verdict flipped, 1 on errors or failed
      regrades, 2 on usage errors.
  Both talk to the API at GRADER_URL with the key in GRADER_API_KEY (or --url, --key).`;

export const EXIT = { ok: 0, error: 1, usage: 2, flipped: 3 } as const;

class UsageError extends Error {}

/** An error answer of the API, with the field paths of a rejected rubric when there are any. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z
      .object({ issues: z.array(z.object({ path: z.string(), message: z.string() })).optional() })
      .passthrough()
      .optional(),
  }),
});

/** A small client for the service's API: bearer key, JSON in and out, errors as ApiError. */
export class GraderApi {
  constructor(
    private readonly baseUrl: string,
    private readonly key: string,
  ) {}

  async request<T>(method: string, url: string, schema: z.ZodType<T>, body?: { type: string; data: string }): Promise<{ status: number; data: T }> {
    const res = await fetch(`${this.baseUrl.replace(/\/+$/, '')}${url}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, accept: 'application/json', ...(body ? { 'content-type': body.type } : {}) },
      body: body?.data,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new ApiError(res.status, 'bad_response', `${method} ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = errorBody.safeParse(json);
      if (!e.success) throw new ApiError(res.status, 'http_error', `${method} ${url}: HTTP ${res.status}`);
      throw new ApiError(res.status, e.data.error.code, e.data.error.message, e.data.error.details?.issues ?? []);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ApiError(res.status, 'bad_response', `${method} ${url}: unexpected answer: ${parsed.error.issues[0]?.message}`);
    return { status: res.status, data: parsed.data };
  }
}

const pushedSchema = z.object({ assessmentId: z.string(), version: z.number().int(), rubricId: z.string(), contentSha256: z.string(), created: z.boolean() });
type Pushed = z.infer<typeof pushedSchema>;

async function pushRubric(api: GraderApi, file: string, assessment: string | undefined): Promise<Pushed> {
  const text = await fsp.readFile(file, 'utf8');
  const yaml = /\.ya?ml$/i.test(file);
  let doc: unknown;
  try {
    doc = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  const inFile = doc && typeof doc === 'object' && typeof (doc as { assessmentId?: unknown }).assessmentId === 'string' ? (doc as { assessmentId: string }).assessmentId : undefined;
  const assessmentId = assessment ?? inFile;
  if (!assessmentId) throw new UsageError(`${file} names no assessmentId; pass --assessment ID`);
  // The file goes as it is: the service validates it and answers with every bad field's path.
  const { data } = await api.request('POST', `/v1/assessments/${encodeURIComponent(assessmentId)}/rubrics`, pushedSchema, {
    type: yaml ? 'application/yaml' : 'application/json',
    data: text,
  });
  return data;
}

function connection(values: { url?: string; key?: string }, env: NodeJS.ProcessEnv): GraderApi {
  const url = values.url ?? env.GRADER_URL;
  const key = values.key ?? env.GRADER_API_KEY;
  if (!url) throw new UsageError('set GRADER_URL (or --url) to the service, e.g. https://grader.example.com');
  if (!key) throw new UsageError('set GRADER_API_KEY (or --key) to an API key');
  return new GraderApi(url, key);
}

const common = { url: { type: 'string' }, key: { type: 'string' } } as const;

async function rubricCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...common, assessment: { type: 'string' }, format: { type: 'string', default: 'text' } } });
  const [sub, file] = positionals;
  if (sub !== 'push' || !file || positionals.length !== 2 || !['text', 'json'].includes(values.format!)) throw new UsageError('usage: grader rubric push FILE');
  const pushed = await pushRubric(connection(values, env), file, values.assessment);
  process.stdout.write(
    values.format === 'json'
      ? `${JSON.stringify(pushed)}\n`
      : `${pushed.assessmentId}: rubric ${pushed.rubricId} is version ${pushed.version} (${pushed.created ? 'new version' : 'same content as the existing version'})\n`,
  );
  return EXIT.ok;
}

async function regradeCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...common,
      assessment: { type: 'string' },
      rubric: { type: 'string' },
      'rubric-version': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      junit: { type: 'string' },
      format: { type: 'string' },
      'fail-on-flip': { type: 'boolean', default: false },
      submission: { type: 'string', multiple: true },
      timeout: { type: 'string', default: '3600' },
    },
  });
  if (!values.assessment) throw new UsageError('--assessment ID is required');
  if (!values.rubric === !values['rubric-version']) throw new UsageError('give exactly one of --rubric FILE or --rubric-version N');
  if (values.format && !['md', 'json'].includes(values.format)) throw new UsageError('--format is md or json');
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) throw new UsageError('--timeout is a number of seconds');
  const api = connection(values, env);
  const log = (s: string) => process.stderr.write(`${s}\n`);

  let rubricVersion: number;
  if (values.rubric) {
    const pushed = await pushRubric(api, values.rubric, values.assessment);
    if (pushed.assessmentId !== values.assessment) throw new UsageError(`${values.rubric} is a rubric of "${pushed.assessmentId}", not "${values.assessment}"`);
    rubricVersion = pushed.version;
    log(`rubric ${path.basename(values.rubric)}: version ${pushed.version}${pushed.created ? ' (new)' : ' (unchanged)'}`);
  } else {
    rubricVersion = Number(values['rubric-version']);
    if (!Number.isInteger(rubricVersion) || rubricVersion < 1) throw new UsageError('--rubric-version is a positive integer');
  }

  const { data: started } = await api.request('POST', `/v1/assessments/${encodeURIComponent(values.assessment)}/regrades`, regradeWithDiffSchema.omit({ diff: true }), {
    type: 'application/json',
    data: JSON.stringify({ rubricVersion, dryRun: values['dry-run'], ...(values.submission?.length ? { submissionIds: values.submission } : {}) }),
  });
  log(`regrade ${started.id} started (rubric v${rubricVersion}${values['dry-run'] ? ', dry run' : ''})`);
  const wait = values.wait || !!values.junit || !!values.format || values['fail-on-flip'];
  if (!wait) {
    process.stdout.write(`${JSON.stringify({ id: started.id, statusUrl: started.statusUrl })}\n`);
    return EXIT.ok;
  }

  const final = await waitForRegrade(api, started.id, timeoutS * 1000, log);
  if (values.junit) {
    await fsp.mkdir(path.dirname(path.resolve(values.junit)), { recursive: true });
    await fsp.writeFile(values.junit, renderJunit(final));
    log(`JUnit report written to ${values.junit}`);
  }
  process.stdout.write(values.format === 'json' ? `${JSON.stringify(final, null, 2)}\n` : renderRegradeMarkdown(final));
  const s = final.diff?.summary;
  if (final.status === 'failed' || (s?.failed ?? 0) > 0) {
    log(`regrade ${final.status === 'failed' ? `failed: ${final.error ?? 'unknown error'}` : `finished with ${s!.failed} submission(s) that could not be regraded`}`);
    return EXIT.error;
  }
  if (values['fail-on-flip'] && (s?.flips ?? 0) > 0) {
    log(`${s!.flips} verdict(s) flipped`);
    return EXIT.flipped;
  }
  return EXIT.ok;
}

/** Polls the regrade until it is finished, then reads its whole diff (page by page). */
async function waitForRegrade(api: GraderApi, id: string, timeoutMs: number, log: (s: string) => void): Promise<RegradeWithDiff> {
  const deadline = Date.now() + timeoutMs;
  let delay = 250;
  let last = '';
  for (;;) {
    const { data } = await api.request('GET', `/v1/regrades/${id}?limit=1`, regradeWithDiffSchema);
    if (data.status === 'completed' || data.status === 'failed') break;
    const progress = `${data.status}: ${data.done + data.failed}/${data.total}`;
    if (progress !== last) log(progress);
    last = progress;
    if (Date.now() + delay > deadline) throw new Error(`regrade ${id} did not finish within ${timeoutMs / 1000} s (${progress})`);
    await sleep(delay);
    delay = Math.min(5_000, Math.round(delay * 1.5));
  }
  const limit = 10_000;
  let offset = 0;
  let full: RegradeWithDiff | null = null;
  for (;;) {
    const { data } = await api.request('GET', `/v1/regrades/${id}?offset=${offset}&limit=${limit}`, regradeWithDiffSchema);
    if (!full) full = data;
    else if (data.diff && full.diff) full.diff.rows.push(...data.diff.rows);
    if (!data.diff || data.diff.rows.length < limit) break;
    offset += limit;
  }
  return full!;
}

/** `grader rubric ...` and `grader regrade ...`: the commands pipelines run against the service. */
export async function remoteCommand(command: 'rubric' | 'regrade', args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return command === 'rubric' ? await rubricCommand(args, env) : await regradeCommand(args, env);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`grader: ${(err as Error).message}\n\n${REMOTE_USAGE}\n`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`grader: ${err.message}\n${err.issues.map((i) => `  ${i.path}: ${i.message}\n`).join('')}`);
      return EXIT.error;
    }
    throw err;
  }
}
