import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import tar from 'tar-stream';
import type { Logger } from 'pino';
import { SystemError } from '../errors.ts';
import { CappedBuffer } from './capped-buffer.ts';
import { readCgroupCounters, type CgroupCounters } from './cgroup-counters.ts';
import type { PrivateFile, Sandbox, SandboxOutcome, SandboxResult, SandboxRunSpec } from './sandbox.ts';

/** Commands that are not the harness supervisor run as this uid; it owns their scratch folders. */
export const SANDBOX_UID = 65534;
/** The harness supervisor: root inside the container, with only these capabilities (and no-new-privileges). */
const SUPERVISOR_UID = 0;
const SUPERVISOR_CAPS = ['SETUID', 'SETGID', 'KILL', 'CHOWN'];
/** PID 1 of the container runs as another unprivileged uid, so candidate code cannot ptrace it. */
const INIT_UID = 65533;
const LABEL_MANAGED = 'grader.managed';
const LABEL_GRADING = 'grader.grading';
const LABEL_OWNER = 'grader.owner';

export interface DockerSandboxOptions {
  docker?: Docker;
  /** OCI runtime for sandbox containers, e.g. "runsc" (gVisor). */
  runtime?: string;
  logger?: Logger;
}

/** Identifies this process on this host, so a reaper can tell orphans from live work. */
export const OWNER = `${os.hostname()}/${process.pid}`;

export class DockerSandbox implements Sandbox {
  readonly docker: Docker;
  private readonly runtime?: string;
  private readonly logger?: Logger;
  private readonly imageIds = new Map<string, string>();

  constructor(opts: DockerSandboxOptions = {}) {
    this.docker = opts.docker ?? new Docker();
    this.runtime = opts.runtime;
    this.logger = opts.logger;
  }

  async ping(): Promise<void> {
    await this.engine('ping', () => this.docker.ping());
  }

  async imageId(image: string): Promise<string> {
    const known = this.imageIds.get(image);
    if (known) return known;
    const info = await this.engine(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
    this.imageIds.set(image, info.Id);
    return info.Id;
  }

  async run(spec: SandboxRunSpec): Promise<SandboxResult> {
    const t0 = performance.now();
    const imageId = await this.imageId(spec.image);
    const labels = { [LABEL_MANAGED]: '1', [LABEL_GRADING]: spec.gradingId, [LABEL_OWNER]: OWNER, 'grader.step': spec.step };
    const name = `grader-${spec.gradingId.slice(0, 8)}-${spec.step}-${crypto.randomBytes(3).toString('hex')}`;
    const { limits } = spec;
    const owner = spec.supervisor ? SUPERVISOR_UID : SANDBOX_UID;
    const volume = await this.scratchVolume(name, limits.outputBytes, owner, labels);
    const inputs = spec.privateInputs ? await this.scratchVolume(`${name}-in`, limits.tmpfsBytes, SUPERVISOR_UID, labels) : null;
    let container: Docker.Container | undefined;
    const timings = { createMs: 0, startMs: 0, runMs: 0, collectMs: 0, removeMs: 0, totalMs: 0 };
    try {
      const tCreate = performance.now();
      container = await this.engine('create container', () => this.docker.createContainer(this.containerOptions(spec, name, imageId, labels, volume.name, inputs?.name ?? null)));
      timings.createMs = performance.now() - tCreate;
      const tStart = performance.now();
      await this.engine('start container', () => container!.start());
      if (spec.privateInputs) await this.putPrivate(container, spec.privateInputs.containerPath, spec.privateInputs.files);
      timings.startMs = performance.now() - tStart;

      const tRun = performance.now();
      const late = spec.privateInputs?.later?.then((files) => this.putPrivate(container!, spec.privateInputs!.containerPath, files));
      late?.catch((err) => this.logger?.warn({ err }, 'late private inputs could not be copied in; the harness will give up waiting'));
      const run = await this.execute(container, spec);
      timings.runMs = performance.now() - tRun;

      const tCollect = performance.now();
      // Frozen before anything is read: no process of the container can change what is copied out.
      let ended = run.timedOut || run.containerDied;
      if (!ended) ended = await this.pauseUnlessStopped(container);
      const collected = ended ? { outputs: [], ignored: [] } : await this.collect(container, spec);
      const state = (await this.engine('inspect container', () => container!.inspect())).State;
      timings.collectMs = performance.now() - tCollect;

      const oomKilled = Boolean(state.OOMKilled) || run.memoryFailures > 0;
      const pidsLimitHit = run.peakPids !== null && run.peakPids >= limits.pids;
      const outcome = classify({ timedOut: run.timedOut, exitCode: run.exitCode, oomKilled, pidsLimitHit });
      return {
        outcome,
        exitCode: run.exitCode,
        stdout: run.stdout,
        stderr: run.stderr,
        outputs: collected.outputs,
        ignoredOutputs: collected.ignored,
        oomKilled,
        pidsLimitHit,
        timings,
        peakMemoryBytes: run.peakMemory,
        peakPids: run.peakPids,
        imageId,
      };
    } finally {
      const tRemove = performance.now();
      await this.removeQuietly(container, [volume.name, ...(inputs ? [inputs.name] : [])]);
      timings.removeMs = performance.now() - tRemove;
      timings.totalMs = performance.now() - t0;
    }
  }

  /** A tmpfs volume owned by `uid` (mode 0700), so nothing of it outlives the run. */
  private scratchVolume(name: string, bytes: number, uid: number, labels: Record<string, string>) {
    return this.engine('create scratch volume', () =>
      this.docker.createVolume({
        Name: name,
        Driver: 'local',
        DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${bytes},uid=${uid},gid=${uid},mode=0700,nosuid,nodev,noexec` },
        Labels: labels,
      }),
    );
  }

  /** Copies host files into the supervisor's input volume as root-owned 0600 files (0700 folders). */
  private async putPrivate(container: Docker.Container, containerPath: string, files: PrivateFile[]): Promise<void> {
    if (files.length === 0) return;
    const pack = tar.pack();
    const dirs = new Set<string>();
    const done = (async () => {
      for (const f of files) {
        const segments = f.name.split('/');
        for (let i = 1; i < segments.length; i++) {
          const dir = segments.slice(0, i).join('/');
          if (!dirs.has(dir)) {
            dirs.add(dir);
            pack.entry({ name: dir, type: 'directory', mode: 0o700, uid: SUPERVISOR_UID, gid: SUPERVISOR_UID });
          }
        }
        const data = await fsp.readFile(f.hostPath);
        await new Promise<void>((resolve, reject) => pack.entry({ name: f.name, mode: 0o600, uid: SUPERVISOR_UID, gid: SUPERVISOR_UID }, data, (err) => (err ? reject(err) : resolve())));
      }
      pack.finalize();
    })();
    await this.engine('copy private inputs in', async () => {
      await Promise.all([container.putArchive(pack as unknown as NodeJS.ReadableStream, { path: containerPath }), done]);
    });
  }

  /** The hardened container definition. Every protection here is covered by the security suite. */
  protected containerOptions(
    spec: SandboxRunSpec,
    name: string,
    imageId: string,
    labels: Record<string, string>,
    volumeName: string,
    inputsVolume: string | null,
  ): Docker.ContainerCreateOptions {
    const { limits } = spec;
    return {
      name,
      Image: imageId,
      // PID 1 idles under docker-init (which reaps orphans); the work runs as an exec so that
      // /out is still mounted when we copy it out after the work has finished.
      Cmd: ['sleep', 'infinity'],
      // The engine grants the capabilities of CapAdd only to processes of a root container; candidate
      // processes never run as root either way (they are the exec's user, or the supervisor's uids).
      User: spec.supervisor ? `${SUPERVISOR_UID}:${SUPERVISOR_UID}` : `${INIT_UID}:${INIT_UID}`,
      WorkingDir: '/tmp',
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: labels,
      NetworkDisabled: true,
      StopTimeout: 1,
      HostConfig: {
        NetworkMode: 'none',
        Init: true,
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        ...(spec.supervisor ? { CapAdd: SUPERVISOR_CAPS } : {}),
        SecurityOpt: ['no-new-privileges'],
        Memory: limits.memoryBytes,
        MemorySwap: limits.memoryBytes,
        MemorySwappiness: 0,
        NanoCpus: Math.round(limits.cpus * 1e9),
        PidsLimit: limits.pids,
        IpcMode: 'private',
        Ulimits: [
          { Name: 'nofile', Soft: limits.nofile, Hard: limits.nofile },
          { Name: 'fsize', Soft: limits.fsizeBytes, Hard: limits.fsizeBytes },
          { Name: 'core', Soft: 0, Hard: 0 },
        ],
        Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpfsBytes},uid=${SANDBOX_UID},gid=${SANDBOX_UID},mode=1777` },
        Binds: spec.mounts.map((m) => `${m.hostPath}:${m.containerPath}:ro`),
        Mounts: [
          { Type: 'volume', Source: volumeName, Target: spec.outputPath, ReadOnly: false },
          ...(inputsVolume && spec.privateInputs ? [{ Type: 'volume' as const, Source: inputsVolume, Target: spec.privateInputs.containerPath, ReadOnly: false }] : []),
        ],
        LogConfig: { Type: 'none', Config: {} },
        ...(this.runtime ? { Runtime: this.runtime } : {}),
      },
    };
  }

  /** Runs the command as an exec, enforcing the wall clock, capturing capped output and stats. */
  private async execute(container: Docker.Container, spec: SandboxRunSpec) {
    const stdout = new CappedBuffer(spec.limits.logBytes);
    const stderr = new CappedBuffer(spec.limits.logBytes);
    let peakMemory: number | null = null;
    let peakPids: number | null = null;
    let memoryFailures = 0;
    const stats = (await this.engine('stats', () => container.stats({ stream: true }))) as unknown as Readable;
    let pending = '';
    stats.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const s = JSON.parse(line);
          const mem = s.memory_stats?.max_usage ?? s.memory_stats?.usage;
          if (typeof mem === 'number') peakMemory = Math.max(peakMemory ?? 0, mem);
          if (typeof s.memory_stats?.failcnt === 'number') memoryFailures = Math.max(memoryFailures, s.memory_stats.failcnt);
          if (typeof s.pids_stats?.current === 'number') peakPids = Math.max(peakPids ?? 0, s.pids_stats.current);
        } catch {
          /* a partial or odd stats line is not worth failing a grading for */
        }
      }
    });
    stats.on('error', () => {});

    const exec = await this.engine('exec create', () =>
      container.exec({
        Cmd: spec.command,
        AttachStdout: true,
        AttachStderr: true,
        User: spec.supervisor ? `${SUPERVISOR_UID}:${SUPERVISOR_UID}` : `${SANDBOX_UID}:${SANDBOX_UID}`,
        WorkingDir: '/tmp',
      }),
    );
    const stream = await this.engine('exec start', () => exec.start({ hijack: true, stdin: false }));
    this.docker.modem.demuxStream(stream, stdout, stderr);

    let timedOut = false;
    let containerDied = false;
    // gVisor removes the container's cgroup the moment its sandbox dies: keep the last reading.
    let lastCounters: CgroupCounters | null = null;
    const poll = setInterval(() => void readCgroupCounters(container.id).then((c) => c && (lastCounters = c)), 100);
    let countersAtKill: CgroupCounters | null = null;
    const kill = () => container.kill({ signal: 'SIGKILL' }).catch(() => {});
    const timer = setTimeout(() => {
      timedOut = true;
      // The counters are read before the kill resets them; the kill happens whatever the read does.
      void readCgroupCounters(container.id)
        .then((c) => (countersAtKill = c))
        .finally(() => void kill());
    }, spec.limits.wallMs);
    const onAbort = () => void kill();
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // The exec ends with its stream; if the container itself dies (killed at the wall clock, or
      // a runtime such as gVisor ending the sandbox), some runtimes never close that stream.
      await Promise.race([
        new Promise<void>((resolve) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => resolve());
        }),
        container.wait().then(
          () => new Promise<void>((resolve) => setTimeout(resolve, 500)), // what the stream still carries
          () => new Promise<void>(() => {}), // no answer from wait: rely on the stream alone
        ),
      ]);
    } finally {
      (stream as { destroy?: () => void }).destroy?.();
      clearInterval(poll);
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      (stats as Readable & { destroy?: () => void }).destroy?.();
    }
    if (spec.signal?.aborted) throw new SystemError(`sandbox run aborted: ${String(spec.signal.reason ?? 'shutdown')}`);
    // Where the runtime ended the whole container (gVisor does at the memory or pids limit), the
    // exec is gone with it: its exit is then the container's.
    const info = await exec.inspect().catch(async (err: { statusCode?: number }) => {
      if (err?.statusCode !== 404) throw new SystemError(`docker engine: exec inspect failed: ${(err as Error).message}`, { cause: err });
      const state = (await this.engine('inspect container', () => container.inspect())).State;
      containerDied = !state.Running;
      if (state.OOMKilled) memoryFailures = Math.max(memoryFailures, 1);
      return { ExitCode: state.ExitCode ?? null };
    });
    const counters = countersAtKill ?? (await readCgroupCounters(container.id)) ?? lastCounters;
    if (counters) {
      memoryFailures = Math.max(memoryFailures, counters.oomKills);
      if (counters.pidsDenied > 0) peakPids = Math.max(peakPids ?? 0, spec.limits.pids);
      if (counters.peakMemoryBytes !== null) peakMemory = Math.max(peakMemory ?? 0, counters.peakMemoryBytes);
    }
    return {
      timedOut,
      containerDied,
      exitCode: timedOut ? null : (info.ExitCode ?? null),
      stdout: stdout.result(),
      stderr: stderr.result(),
      peakMemory,
      peakPids,
      memoryFailures,
    };
  }

  /**
   * Copies /out through the archive API and writes only regular files with plain names into a
   * fresh host folder the sandbox never had access to. Links and anything else are not followed:
   * they are listed and ignored.
   */
  protected async collect(container: Docker.Container, spec: SandboxRunSpec): Promise<{ outputs: { name: string; bytes: number }[]; ignored: string[] }> {
    await fsp.mkdir(spec.collectTo, { recursive: true, mode: 0o755 });
    const archive = (await this.engine('copy out', () => container.getArchive({ path: `${spec.outputPath}/.` }))) as unknown as Readable;
    const outputs: { name: string; bytes: number }[] = [];
    const ignored: string[] = [];
    let budget = spec.limits.outputBytes;
    const extract = tar.extract();
    extract.on('entry', (header, entry, next) => {
      // Names come from the sandbox: keep plain relative paths of safe segments, nothing else.
      const rel = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      const segments = rel.split('/');
      const safe = rel !== '' && rel !== '.' && segments.every((seg) => /^[\w][\w.-]{0,99}$/.test(seg)) && segments.length <= 4;
      if (header.type === 'directory' && (safe || rel === '' || rel === '.')) {
        entry.resume();
        return next();
      }
      if (header.type !== 'file' || !safe || (header.size ?? 0) > budget) {
        ignored.push(`${header.name} (${header.type})`);
        entry.resume();
        return next();
      }
      budget -= header.size ?? 0;
      const target = path.join(spec.collectTo, ...segments);
      fsp
        .mkdir(path.dirname(target), { recursive: true, mode: 0o755 })
        .then(() => pipeline(entry, fs.createWriteStream(target, { flags: 'wx', mode: 0o644 })))
        .then(
          () => {
            outputs.push({ name: segments.join('/'), bytes: header.size ?? 0 });
            next();
          },
          (err) => next(err),
        );
    });
    try {
      await pipeline(archive, extract);
    } catch (err) {
      throw new SystemError(`copying sandbox output failed: ${(err as Error).message}`, { cause: err });
    }
    return { outputs, ignored };
  }

  private async removeQuietly(container: Docker.Container | undefined, volumeNames: string[]): Promise<void> {
    if (container) {
      await container.unpause().catch(() => {}); // only a paused container needs it
      await container.remove({ force: true, v: true }).catch((err) => this.logger?.warn({ err }, 'container removal failed; the reaper will retry'));
    }
    for (const v of volumeNames)
      await this.docker
        .getVolume(v)
        .remove()
        .catch((err) => this.logger?.warn({ err }, 'volume removal failed; the reaper will retry'));
  }

  async reap(): Promise<number> {
    const containers = await this.engine('list containers', () => this.docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=1`] } }));
    let removed = 0;
    for (const c of containers) {
      const owner = c.Labels[LABEL_OWNER] ?? '';
      if (!isOrphan(owner)) continue;
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .then(
          () => removed++,
          () => {},
        );
    }
    const { Volumes } = await this.engine('list volumes', () => this.docker.listVolumes({ filters: { label: [`${LABEL_MANAGED}=1`], dangling: ['true'] } }));
    for (const v of Volumes ?? []) {
      if (!isOrphan(v.Labels?.[LABEL_OWNER] ?? '')) continue;
      await this.docker
        .getVolume(v.Name)
        .remove()
        .then(
          () => removed++,
          () => {},
        );
    }
    return removed;
  }

  /** Managed containers currently present (running or not), by grading id. */
  async listManaged(): Promise<{ id: string; gradingId: string; state: string }[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=1`] } });
    return list.map((c) => ({ id: c.Id, gradingId: c.Labels[LABEL_GRADING] ?? '', state: c.State }));
  }

  /**
   * Pauses the container before its outputs are read. A container that stopped between the end of
   * the exec and the pause (killed at the memory limit: seen under gVisor) has nothing left running
   * either; it counts as having died. -> whether it had stopped.
   */
  private async pauseUnlessStopped(container: Docker.Container): Promise<boolean> {
    try {
      await container.pause();
      return false;
    } catch (err) {
      const state = (await this.engine('inspect container', () => container.inspect())).State;
      if (state.Running) throw new SystemError(`docker engine: pause container failed: ${(err as Error).message}`, { cause: err });
      return true;
    }
  }

  private async engine<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SystemError) throw err;
      throw new SystemError(`docker engine: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Owned by a process of this host that is gone (or by an unparseable owner). */
function isOrphan(owner: string): boolean {
  const [host, pidText] = owner.split('/');
  if (host !== os.hostname()) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function classify(r: { timedOut: boolean; exitCode: number | null; oomKilled: boolean; pidsLimitHit: boolean }): SandboxOutcome {
  if (r.pidsLimitHit && (r.timedOut || r.exitCode !== 0)) return 'pids_exhausted';
  if (r.timedOut) return 'timeout';
  if (r.oomKilled && r.exitCode !== 0) return 'oom_killed';
  if (r.exitCode === 0) return 'completed';
  return 'nonzero_exit';
}
