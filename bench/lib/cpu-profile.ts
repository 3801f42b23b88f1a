import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Busy (non-idle) milliseconds sampled. */
  busyMs: number;
  /** Self time by where the code lives: an npm package, a project file, Node internals, GC. */
  byOwner: { owner: string; pct: number }[];
  byFunction: { fn: string; pct: number }[];
}

/** Self time of a V8 .cpuprofile (node --cpu-prof), grouped by owner and by function. */
export function summarizeProfile(file: string, top = 8): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const owners = new Map<string, number>();
  const fns = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const owner = ownerOf(url, functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ k, pct: (100 * us) / Math.max(1, busy) }));
  return {
    busyMs: busy / 1000,
    byOwner: rank(owners).map(({ k, pct }) => ({ owner: k, pct })),
    byFunction: rank(fns).map(({ k, pct }) => ({ fn: k, pct })),
  };
}

function ownerOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : 'V8 / native';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'Node internals';
  const rel = path.relative(ROOT, url.replace(/^file:\/\//, ''));
  return rel.startsWith('..') ? url : rel;
}

function shortUrl(url: string): string {
  const nm = /node_modules\/(.+)$/.exec(url);
  if (nm) return nm[1]!;
  return url.startsWith('file://') ? path.relative(ROOT, url.slice(7)) : url;
}
