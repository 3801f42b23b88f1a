/**
 * Queue overhead per grading, from timestamps alone: enqueue → start, minus the time spent waiting
 * for a free worker slot. Slots are one pool across processes: a process brings `concurrency` free
 * slots when it is ready, a finished grading frees its slot, a killed process takes its slots with
 * it. Sweeping the events in time order, each start takes the slot that has been free the longest;
 * the grading's overhead is start − max(queued, that slot's free time). Gradings that were retried
 * after a kill take a slot but are left out (their wait is the lock expiry, reported apart). Only
 * each grading's last attempt is known, so a killed attempt's slot looks free until the kill: that
 * can only make the overheads of others larger, never smaller.
 */
export type SlotEvent =
  | { kind: 'ready'; at: number; pid: number; slots: number }
  | { kind: 'killed'; at: number; pid: number }
  | { kind: 'finished'; at: number; pid: number }
  /** `measured: false`: takes a slot but is not counted (a grading retried after a kill). */
  | { kind: 'started'; at: number; pid: number; queuedAt: number; measured: boolean };

export interface OverheadResult {
  overheadsMs: number[];
  /** Starts for which no free slot was known (clock skew between the sources): counted, not guessed. */
  unmatched: number;
}

const ORDER: Record<SlotEvent['kind'], number> = { ready: 0, finished: 1, killed: 2, started: 3 };

export function queueOverheads(events: SlotEvent[]): OverheadResult {
  // At equal times a slot is freed before it is taken.
  const sorted = [...events].sort((a, b) => a.at - b.at || ORDER[a.kind] - ORDER[b.kind]);
  const dead = new Set<number>();
  // Free slots, oldest first; entries of dead processes are skipped when reached.
  const free: { at: number; pid: number }[] = [];
  let head = 0;
  const overheadsMs: number[] = [];
  let unmatched = 0;
  for (const e of sorted) {
    if (e.kind === 'ready') for (let i = 0; i < e.slots; i++) free.push({ at: e.at, pid: e.pid });
    else if (e.kind === 'finished') {
      if (!dead.has(e.pid)) free.push({ at: e.at, pid: e.pid });
    } else if (e.kind === 'killed') dead.add(e.pid);
    else {
      while (head < free.length && dead.has(free[head]!.pid)) head++;
      const slot = head < free.length ? free[head++] : undefined;
      if (!slot) {
        unmatched++;
        continue;
      }
      if (e.measured) overheadsMs.push(Math.max(0, e.at - Math.max(e.queuedAt, slot.at)));
    }
  }
  return { overheadsMs, unmatched };
}
