import type { Redis } from 'ioredis';

/**
 * Fair order for the grading queue with open-source BullMQ (no groups): every job gets a priority
 * when it is queued, and BullMQ hands out the lowest priority first (FIFO among equals).
 *
 * The policy (docs/SCALING.md, "Fair queues"):
 * - Two lanes. Candidates' gradings (first gradings and retries) use priorities 1 .. 2^20-1;
 *   regrades that need the sandbox use 2^20 .. 2^21-1, so a waiting first grading always starts
 *   before any waiting regrade.
 * - Within a lane, start-time fair queueing by assessment: the lane keeps a virtual clock V, the
 *   rank of the last job a worker started. A job of assessment X gets rank max(V, last[X] + 1), and
 *   last[X] becomes that rank. An assessment with nothing waiting enters at V, ahead of every job
 *   still waiting (all ranked above V), so a flood delays another assessment's submission by at
 *   most one grading per flooding assessment, and only while every slot is busy; two floods are
 *   served in turns.
 * - Ranks only grow while work waits; when the queue drains the clocks start again at 1. A rank
 *   that would leave its lane's range is held at the top of the range (FIFO from there on).
 */
export type Lane = 'first' | 'regrade';

export const LANE_SPAN = 2 ** 20;
const LANE_BASE: Record<Lane, number> = { first: 0, regrade: LANE_SPAN - 1 };
const LANE_MAX_RANK: Record<Lane, number> = { first: LANE_SPAN - 1, regrade: LANE_SPAN };

// KEYS: clock, last-rank hash; ARGV: group, max rank. Atomic in Redis, so hosts agree on the order.
const RANK_SCRIPT = `
local v = tonumber(redis.call('GET', KEYS[1]) or '1')
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local r = math.max(v, last + 1)
local cap = tonumber(ARGV[2])
if r > cap then r = cap end
redis.call('HSET', KEYS[2], ARGV[1], r)
return r`;

// KEYS: clock; ARGV: the started job's rank. The clock only moves forward.
const ADVANCE_SCRIPT = `
local v = tonumber(redis.call('GET', KEYS[1]) or '1')
if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

export function laneOf(reason: string): Lane {
  return reason === 'regrade' ? 'regrade' : 'first';
}

export class FairPriority {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(lane: Lane): [string, string] {
    return [`${this.prefix}:fair:${lane}:clock`, `${this.prefix}:fair:${lane}:last`];
  }

  /** The BullMQ priority for the next job of `group` in `lane`. */
  async priority(group: string, lane: Lane): Promise<number> {
    const [clock, last] = this.keys(lane);
    const rank = Number(await this.redis.eval(RANK_SCRIPT, 2, clock, last, group, LANE_MAX_RANK[lane]));
    return LANE_BASE[lane] + rank;
  }

  /** A worker started a job of this priority: its lane's clock moves up to it. */
  async started(priority: number | undefined): Promise<void> {
    if (!priority) return;
    const lane: Lane = priority >= LANE_SPAN ? 'regrade' : 'first';
    await this.redis.eval(ADVANCE_SCRIPT, 1, this.keys(lane)[0], priority - LANE_BASE[lane]);
  }

  /** Starts the clocks again; called when the queue has nothing waiting. */
  async reset(): Promise<void> {
    await this.redis.del(...this.keys('first'), ...this.keys('regrade'));
  }
}
