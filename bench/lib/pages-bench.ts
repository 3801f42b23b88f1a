import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { autocannon } from './api-bench.ts';
import { LoadProbe } from './machine.ts';
import { BENCH_ADMIN_KEY, BenchServices } from './services.ts';
import { quantile } from './stats.ts';

/** Server time of each request, from the API's own request log (Fastify's responseTime: request received → response sent). */
class ServerTimes {
  private readonly urls = new Map<string, string>();
  private samples: { url: string; ms: number; status: number }[] = [];

  follow(stdout: Readable): void {
    const lines = readline.createInterface({ input: stdout });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      let rec: { reqId?: string; msg?: string; req?: { url?: string }; res?: { statusCode?: number }; responseTime?: number };
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (!rec.reqId) return;
      if (rec.msg === 'incoming request' && rec.req?.url) this.urls.set(rec.reqId, rec.req.url);
      else if (rec.msg === 'request completed' && typeof rec.responseTime === 'number') {
        const url = this.urls.get(rec.reqId);
        this.urls.delete(rec.reqId);
        if (url) this.samples.push({ url, ms: rec.responseTime, status: rec.res?.statusCode ?? 0 });
      }
    });
  }

  /** The samples since the last call, and a fresh start. */
  take(): { url: string; ms: number; status: number }[] {
    const out = this.samples;
    this.samples = [];
    return out;
  }
}

export interface PageRun {
  n: number;
  /** Server time (ms): p50, p95, max. */
  server: { p50: number; p95: number; max: number };
  /** As the client saw it (ms), for comparison: includes the loopback and, under load, queueing (p95 idle; autocannon's p99 under load). */
  clientP95: number;
  non2xx: number;
  /** Busy cores, all processes, during the run. */
  busyCores: number | null;
}

export interface PageTiming {
  page: string;
  path: string;
  bytes: number;
  idle: PageRun;
  loaded: PageRun & { rate: number; durationS: number; achievedRate: number };
}

export interface PagesBenchResult {
  startedAt: string;
  idleRequests: number;
  pages: PageTiming[];
}

const HEALTH = 'GET /health';

/**
 * Section 7 (issue 15): the reviewer's pages (report, code viewer, compare) next to the health
 * endpoint, idle (one request at a time) and at a fixed rate from autocannon in its own process.
 * The times are the server's own (from its request log at LOG_LEVEL=info, the production default),
 * so the load generator's share of the two cores does not count. Needs two graded submissions:
 * one exemplary upload graded by a real worker, twice (throughput section's helper).
 */
export async function pagesBench(opts: { idleRequests: number; rate: number; durationS: number; log: (s: string) => void }): Promise<PagesBenchResult> {
  const startedAt = new Date().toISOString();
  const services = await BenchServices.start({ LOG_LEVEL: 'info' });
  try {
    const times = new ServerTimes();
    // A busy machine can take a minute to start the API (tsx compiles on the way).
    await services.startApi({ onStdout: (s) => times.follow(s), readyTimeoutS: 180 });
    const { throughputBench } = await import('./throughput-bench.ts');
    opts.log('  grading the exemplary submission (one at worker concurrency 1, one at 2) for the pages to show');
    await throughputBench(services, { submissions: 1, idleSamples: 0, log: opts.log, perGradingTimeoutMs: 600_000 });
    const { rows } = await services.db.query('SELECT DISTINCT submission_id FROM reports LIMIT 2');
    if (rows.length < 2) throw new Error(`needed two graded submissions, found ${rows.length}`);
    const [a, b] = rows.map((r) => r.submission_id as string) as [string, string];

    const signIn = await fetch(`${services.baseUrl}/review/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: BENCH_ADMIN_KEY, next: '/review' }),
      redirect: 'manual',
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (!cookie.includes('=')) throw new Error(`reviewer sign-in failed (${signIn.status})`);

    const pages: [string, string][] = [
      [HEALTH, '/health'],
      ['report page', `/review/submissions/${a}`],
      ['code viewer', `/review/submissions/${a}/code`],
      ['compare (two)', `/review/compare?ids=${a}&ids=${b}`],
    ];
    const out: PageTiming[] = [];
    for (const [page, path] of pages) {
      const url = `${services.baseUrl}${path}`;
      const headers: Record<string, string> = page === HEALTH ? {} : { cookie };
      const first = await fetch(url, { headers });
      const bytes = (await first.arrayBuffer()).byteLength;
      if (first.status !== 200) throw new Error(`${page}: ${path} answered ${first.status}`);
      // Warm-up (JIT, caches, pools), not counted.
      for (let i = 0; i < 20; i++) await (await fetch(url, { headers })).arrayBuffer();
      await settle();
      times.take();

      const idleProbe = new LoadProbe().start();
      const client: number[] = [];
      for (let i = 0; i < opts.idleRequests; i++) {
        const t = performance.now();
        await (await fetch(url, { headers })).arrayBuffer();
        client.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
      await settle();
      const idle = run(times.take(), path, client, idleProbe.stop().busyCores);
      if (idle.n === 0) throw new Error(`${page}: no request of ${path} in the API's request log (is LOG_LEVEL info?)`);

      const probe = new LoadProbe().start();
      const r = await autocannon(url, page === HEALTH ? [] : [`cookie=${cookie}`], opts.rate, opts.durationS);
      const busy = probe.stop().busyCores;
      await settle();
      const loaded = run(times.take(), path, [], busy);
      out.push({
        page,
        path: path.replace(a, ':a').replace(b, ':b'),
        bytes,
        idle,
        loaded: { ...loaded, clientP95: r.latency.p99, rate: opts.rate, durationS: opts.durationS, achievedRate: r.requests.total / opts.durationS },
      });
      opts.log(`  ${page}: server p95 ${idle.server.p95.toFixed(1)} ms idle, ${loaded.server.p95.toFixed(1)} ms at ${opts.rate} req/s (${loaded.n} requests)`);
    }
    return { startedAt, idleRequests: opts.idleRequests, pages: out };
  } finally {
    await services.close();
  }
}

const settle = () => new Promise((r) => setTimeout(r, 300));

function run(samples: { url: string; ms: number; status: number }[], path: string, client: number[], busyCores: number | null): PageRun {
  const mine = samples.filter((s) => s.url === path);
  const ms = mine.map((s) => s.ms);
  return {
    n: mine.length,
    server: { p50: quantile(ms, 0.5), p95: quantile(ms, 0.95), max: ms.length ? Math.max(...ms) : Number.NaN },
    clientP95: quantile(client, 0.95),
    non2xx: mine.filter((s) => s.status < 200 || s.status >= 300).length,
    busyCores,
  };
}

// ------------------------------------------------------------------------------------------------
// Rendering and merging: the section is a marked block of latest.md, so a run of other sections
// keeps it and a run of this section alone replaces only it (and the "pages" key of latest.json).
// ------------------------------------------------------------------------------------------------

export const PAGES_START = '<!-- pages:start -->';
export const PAGES_END = '<!-- pages:end -->';

export function renderPages(p: PagesBenchResult | undefined, error: string | undefined, commit: string): string {
  const out = [PAGES_START, '## 7. Page timings (issue 15)', ''];
  if (!p) out.push(`Not measured: ${error ?? 'not run'}.`);
  else {
    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
    const rate = p.pages[0]?.loaded.rate ?? 0;
    out.push(
      `${p.startedAt} · commit ${commit} · \`npm run bench -- --only pages\`. Server time is the API's own (Fastify's responseTime in its request log, LOG_LEVEL=info): ` +
        `request received → response sent, so the load generator's share of the two cores does not count; the client's view is beside it. Idle: ${p.idleRequests} requests, ` +
        `one at a time. Loaded: autocannon in its own process at ${rate} req/s (10 connections). A signed-in reviewer session; the report and code viewer of a graded ` +
        'exemplary submission, and the compare page of two.',
      '',
      `| page | size | idle: server p50 / **p95** / max | idle: client p95 | at ${rate} req/s: server p50 / **p95** / max | at ${rate} req/s: client p99 | achieved | non-2xx | busy cores (idle / loaded) |`,
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const t of p.pages)
      out.push(
        `| ${t.page} (\`${t.path}\`) | ${(t.bytes / 1024).toFixed(1)} KB | ${f(t.idle.server.p50)} / **${f(t.idle.server.p95)}** / ${f(t.idle.server.max)} ms | ${f(t.idle.clientP95)} ms | ` +
          `${f(t.loaded.server.p50)} / **${f(t.loaded.server.p95)}** / ${f(t.loaded.server.max)} ms (${t.loaded.n}) | ${f(t.loaded.clientP95)} ms | ${t.loaded.achievedRate.toFixed(0)}/s | ` +
          `${t.idle.non2xx + t.loaded.non2xx} | ${t.idle.busyCores?.toFixed(2) ?? 'n/a'} / ${t.loaded.busyCores?.toFixed(2) ?? 'n/a'} |`,
      );
  }
  out.push('', PAGES_END, '');
  return out.join('\n');
}

/** The pages block of an earlier latest.md, if it has one. */
export function pagesBlockOf(md: string): string | null {
  const a = md.indexOf(PAGES_START);
  const b = md.indexOf(PAGES_END);
  return a >= 0 && b > a ? `${md.slice(a, b + PAGES_END.length)}\n` : null;
}

/** `md` with its pages block replaced by `block` (appended when it has none). */
export function withPagesBlock(md: string, block: string): string {
  const old = pagesBlockOf(md);
  if (old) return md.replace(old, block);
  return `${md.trimEnd()}\n\n${block}`;
}
