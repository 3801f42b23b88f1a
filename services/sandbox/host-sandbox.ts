import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CappedBuffer } from './capped-buffer.ts';
import type { PrivateFile, Sandbox, SandboxResult, SandboxRunSpec } from './sandbox.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HARNESS = path.join(ROOT, 'docker/runner/harness');
/** Scratch on tmpfs where there is one, like the container's /tmp and /out. */
export const SCRATCH = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
/** The host Python's compiled modules for these runs (the bench's bare run writes them); not in /tmp, which a run may get a private one of. */
export const PYCACHE = path.join(fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(), 'bench-host-pycache');
/**
 * As root: a /tmp of its own for each run, a tmpfs of the container's size in a mount namespace
 * (util-linux unshare), as the container has. What candidate processes leave in /tmp stays there, and
 * the harness's sweep after every candidate process (identity.end_all: find over /tmp) reads that
 * tmpfs instead of the host's /tmp: with ~190,000 files there it took 3-5 s a process.
 */
const PRIVATE_TMP = 'mount -t tmpfs -o "nosuid,nodev,mode=1777,size=$0" tmpfs /tmp && exec "$@"';

export interface HostSandboxOptions {
  python?: string;
  /** The process's NODE_ENV (config.NODE_ENV); defaults to the environment's. */
  nodeEnv?: string;
  /** A private /tmp for each run (see PRIVATE_TMP); defaults to on when running as root. */
  privateTmp?: boolean;
}

/**
 * NO ISOLATION — for tests and the bench only; refused when NODE_ENV=production (here and in the
 * config schema, SANDBOX=host).
 *
 * Not a sandbox: runs the same harness command directly on the host with the host's Python
 * (/usr/bin/python3: Debian's python, numpy, pandas, scikit-learn, as in the runner image), so a
 * Grader built on it does exactly the work of a real grading minus the containers. Container paths
 * in the command are rewritten into a private folder that mirrors the container's mounts (copies of
 * the mounted folders, a symlink to the harness, /out → a fresh folder, …). The submission runs as
 * this process's user, with no limits but the wall clock.
 */
export class HostSandbox implements Sandbox {
  private readonly python: string;
  private readonly privateTmp: boolean;

  constructor(opts: HostSandboxOptions = {}) {
    if ((opts.nodeEnv ?? process.env.NODE_ENV) === 'production') throw new Error('the host sandbox runs code without any isolation; it is refused when NODE_ENV=production');
    this.python = opts.python ?? '/usr/bin/python3';
    this.privateTmp = opts.privateTmp ?? process.getuid?.() === 0;
  }

  async ping(): Promise<void> {}
  async reap(): Promise<number> {
    return 0;
  }
  async imageId(): Promise<string> {
    return 'host';
  }

  async run(spec: SandboxRunSpec): Promise<SandboxResult> {
    const t0 = performance.now();
    const timings = { createMs: 0, startMs: 0, runMs: 0, collectMs: 0, removeMs: 0, totalMs: 0 };
    const root = await fsp.mkdtemp(path.join(SCRATCH, `host-sandbox-${spec.step}-`));
    const fsRoot = path.join(root, 'fs');
    const out = path.join(fsRoot, spec.outputPath);
    const tmp = path.join(root, 'tmp');
    await fsp.mkdir(out, { recursive: true });
    await fsp.mkdir(tmp);
    // Run as root, the harness gives candidate processes uids of their own: they must be able to
    // reach their private folders under tmp (but not list what is there).
    for (const dir of [root, fsRoot, tmp]) await fsp.chmod(dir, 0o711);
    const inputs = spec.privateInputs;
    // Inputs handed over later (the prediction step's models) may arrive after the run has ended:
    // then nothing is written, and the clean-up waits for a copy that is under way.
    let ended = false;
    let lateCopy: Promise<void> = Promise.resolve();
    const putPrivate = async (files: PrivateFile[]) => {
      for (const f of files) {
        if (ended) return;
        const target = path.join(fsRoot, inputs!.containerPath, f.name);
        await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
        await fsp.copyFile(f.hostPath, `${target}.part`);
        await fsp.rename(`${target}.part`, target);
      }
    };
    if (inputs) {
      await fsp.mkdir(path.join(fsRoot, inputs.containerPath), { recursive: true, mode: 0o700 });
      await putPrivate(inputs.files);
      void inputs.later?.then(
        (files) => {
          if (!ended) lateCopy = putPrivate(files).catch(() => {});
        },
        () => {},
      );
    }
    for (const [target, source] of [...spec.mounts.map((m) => [m.containerPath, m.hostPath] as const), ['/opt/harness', HARNESS] as const]) {
      await fsp.mkdir(path.dirname(path.join(fsRoot, target)), { recursive: true });
      // Candidate processes run under uids of their own: a mount's host folder may sit below
      // folders they cannot enter (a worker's 0700 data dir), so the submission is copied in.
      if (target === '/opt/harness') await fsp.symlink(source, path.join(fsRoot, target));
      else await fsp.cp(source, path.join(fsRoot, target), { recursive: true });
    }
    // An absolute argument whose first segment is mounted is a container path: point it into the mirror.
    const top = new Set(fs.readdirSync(fsRoot));
    const rewrite = (arg: string) => (arg.startsWith('/') && top.has(arg.split('/')[1]!) ? path.join(fsRoot, arg) : arg);
    const [exe, ...args] = spec.command;
    if (exe !== 'python3') throw new Error(`HostSandbox runs python3 commands only, not ${exe}`);
    const argv = ['-X', `pycache_prefix=${PYCACHE}`, ...args.map(rewrite)];
    // The runner image's environment (docker/runner/Dockerfile), with TMPDIR in place of /tmp.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      MPLBACKEND: 'Agg',
      OMP_NUM_THREADS: '1',
      OPENBLAS_NUM_THREADS: '1',
      MKL_NUM_THREADS: '1',
      HOME: tmp,
      TMPDIR: tmp,
      ...spec.env,
    };
    const stdout = new CappedBuffer(spec.limits.logBytes);
    const stderr = new CappedBuffer(spec.limits.logBytes);
    let exitCode: number | null = null;
    let timedOut = false;
    try {
      const tRun = performance.now();
      // unshare and sh exec the next program: the pid is Python's, as without them.
      const [file, fileArgs] = this.privateTmp
        ? ['unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', PRIVATE_TMP, String(spec.limits.tmpfsBytes), this.python, ...argv]]
        : [this.python, argv];
      const child = spawn(file, fileArgs, { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pipe(stdout);
      child.stderr.pipe(stderr);
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, spec.limits.wallMs);
      const onAbort = () => child.kill('SIGKILL');
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      exitCode = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code) => resolve(code));
      }).finally(() => {
        clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onAbort);
      });
      timings.runMs = performance.now() - tRun;

      const tCollect = performance.now();
      const { outputs, ignored } = await collect(out, spec.collectTo, spec.limits.outputBytes);
      timings.collectMs = performance.now() - tCollect;
      return {
        outcome: timedOut ? 'timeout' : exitCode === 0 ? 'completed' : 'nonzero_exit',
        exitCode: timedOut ? null : exitCode,
        stdout: stdout.result(),
        stderr: stderr.result(),
        outputs,
        ignoredOutputs: ignored,
        oomKilled: false,
        pidsLimitHit: false,
        timings,
        peakMemoryBytes: null,
        peakPids: null,
        imageId: 'host',
      };
    } finally {
      const tRemove = performance.now();
      ended = true;
      await lateCopy;
      await fsp.rm(root, { recursive: true, force: true });
      timings.removeMs = performance.now() - tRemove;
      timings.totalMs = performance.now() - t0;
    }
  }
}

/**
 * Copies the regular files under `out` (sub-folders too, as the Docker sandbox does) to `collectTo`
 * while they fit in `budget` bytes; links and other entries are listed as ignored, never followed.
 */
async function collect(out: string, collectTo: string, budget: number): Promise<{ outputs: { name: string; bytes: number }[]; ignored: string[] }> {
  const outputs: { name: string; bytes: number }[] = [];
  const ignored: string[] = [];
  const walk = async (rel: string) => {
    await fsp.mkdir(path.join(collectTo, rel), { recursive: true });
    for (const d of await fsp.readdir(path.join(out, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        await walk(name);
        continue;
      }
      const bytes = d.isFile() ? (await fsp.lstat(path.join(out, name))).size : 0;
      if (!d.isFile() || bytes > budget) {
        ignored.push(name);
        continue;
      }
      budget -= bytes;
      await fsp.copyFile(path.join(out, name), path.join(collectTo, name));
      outputs.push({ name, bytes });
    }
  };
  await walk('');
  return { outputs, ignored };
}
