import fsp from 'node:fs/promises';

export interface CgroupCounters {
  oomKills: number;
  /** Times a fork/clone was refused because the pids limit was reached. */
  pidsDenied: number;
  peakMemoryBytes: number | null;
}

const read = (p: string) => fsp.readFile(p, 'utf8').catch(() => null);
const field = (text: string | null, key: string) => {
  const m = text?.match(new RegExp(`^${key} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : null;
};

/**
 * Reads the container's cgroup counters straight from the host when the engine is local
 * (cgroup v1 with the cgroupfs driver, or v2 with systemd scopes). They are exact where Docker's
 * stats are sampled once a second. Returns null when the files are not reachable (remote engine).
 */
export async function readCgroupCounters(containerId: string): Promise<CgroupCounters | null> {
  const v1 = {
    oom: `/sys/fs/cgroup/memory/docker/${containerId}/memory.oom_control`,
    peak: `/sys/fs/cgroup/memory/docker/${containerId}/memory.max_usage_in_bytes`,
    pids: `/sys/fs/cgroup/pids/docker/${containerId}/pids.events`,
  };
  const v2base = `/sys/fs/cgroup/system.slice/docker-${containerId}.scope`;
  const v2 = { oom: `${v2base}/memory.events`, peak: `${v2base}/memory.peak`, pids: `${v2base}/pids.events` };
  for (const p of [v1, v2]) {
    const [oom, peak, pids] = await Promise.all([read(p.oom), read(p.peak), read(p.pids)]);
    if (oom === null && pids === null) continue;
    return {
      oomKills: field(oom, 'oom_kill') ?? 0,
      pidsDenied: field(pids, 'max') ?? 0,
      peakMemoryBytes: peak === null ? null : Number(peak.trim()) || null,
    };
  }
  return null;
}
