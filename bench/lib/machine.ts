import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';

export interface MachineInfo {
  nproc: number;
  memoryGiB: number;
  cpuModel: string;
  kernel: string;
  node: string;
  python: string;
  docker: string;
}

const quiet = (file: string, args: string[]) => {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch {
    return 'n/a';
  }
};

export function machineInfo(): MachineInfo {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  return {
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    python: quiet('/usr/bin/python3', ['--version']),
    docker: quiet('docker', ['version', '--format', '{{.Server.Version}}']),
  };
}

/** CPU time the whole machine spent busy, and CPU pressure (PSI), between start() and stop(). */
export class LoadProbe {
  private t0 = 0;
  private stat0 = readStat();
  private psi0 = readPsi();

  start(): this {
    this.t0 = performance.now();
    this.stat0 = readStat();
    this.psi0 = readPsi();
    return this;
  }

  stop(): { seconds: number; busyCores: number | null; cpuPressurePct: number | null; loadavg1: number } {
    const seconds = (performance.now() - this.t0) / 1000;
    const s1 = readStat();
    const p1 = readPsi();
    const busyCores = s1 && this.stat0 ? (s1.busy - this.stat0.busy) / 100 / seconds : null;
    // PSI "some": share of wall time in which at least one runnable task waited for a CPU.
    const cpuPressurePct = p1 !== null && this.psi0 !== null ? ((p1 - this.psi0) / 1e6 / seconds) * 100 : null;
    return { seconds, busyCores, cpuPressurePct, loadavg1: os.loadavg()[0]! };
  }
}

function readStat(): { busy: number } | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
    return { busy };
  } catch {
    return null;
  }
}

function readPsi(): number | null {
  try {
    const m = /some .*total=(\d+)/.exec(fs.readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** VmRSS / VmHWM of a process, in bytes (Linux). */
export function processMemory(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far (Linux). */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; keeps the peak and the samples' count. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  peak = 0;
  samples = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 10,
  ) {}

  start(): this {
    const tick = () => {
      const m = processMemory(this.pid);
      if (m) {
        this.peak = Math.max(this.peak, m.rss);
        this.samples++;
      }
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
    return this;
  }

  stop(): { peak: number; samples: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return { peak: this.peak, samples: this.samples };
  }
}

/**
 * Waits (bounded) until the machine has been nearly idle for `windowS` seconds: other work on a
 * small shared machine changes every number here. -> the busy cores seen in the last window.
 */
export async function waitForQuiet(opts: { maxWaitS: number; windowS?: number; busyBelow?: number; log?: (s: string) => void }): Promise<{ busyCores: number | null; waitedS: number }> {
  const windowS = opts.windowS ?? 5;
  const limit = opts.busyBelow ?? 0.3;
  const t0 = performance.now();
  let busy: number | null = null;
  for (;;) {
    const probe = new LoadProbe().start();
    await new Promise((r) => setTimeout(r, windowS * 1000));
    busy = probe.stop().busyCores;
    const waitedS = (performance.now() - t0) / 1000;
    if (busy === null || busy < limit) return { busyCores: busy, waitedS };
    if (waitedS >= opts.maxWaitS) {
      opts.log?.(`  the machine is still busy (${busy.toFixed(2)} cores) after ${waitedS.toFixed(0)} s; measuring anyway`);
      return { busyCores: busy, waitedS };
    }
    opts.log?.(`  waiting for a quiet machine: ${busy.toFixed(2)} cores busy`);
  }
}
