/**
 * Runs untrusted code. The grading pipeline only talks to this interface; the Docker driver is
 * the implementation today (optionally under gVisor via an OCI runtime), others can follow.
 */

/** How a sandboxed run ended: the candidate's doing, never the platform's (those throw SystemError). */
export const SANDBOX_OUTCOMES = ['completed', 'nonzero_exit', 'timeout', 'oom_killed', 'pids_exhausted'] as const;
export type SandboxOutcome = (typeof SANDBOX_OUTCOMES)[number];

export interface SandboxLimits {
  memoryBytes: number;
  cpus: number;
  pids: number;
  wallMs: number;
  tmpfsBytes: number;
  /** Size of the /out scratch that is copied back; also the cap on what is copied. */
  outputBytes: number;
  /** Bytes of stdout and of stderr kept (the rest is counted and dropped). */
  logBytes: number;
  nofile: number;
  fsizeBytes: number;
}

export interface SandboxMount {
  hostPath: string;
  containerPath: string;
}

/** A host file copied into the container for the harness supervisor alone (root, mode 0600). */
export interface PrivateFile {
  /** Relative path inside `privateInputs.containerPath`, e.g. "holdout/prediction_time.csv". */
  name: string;
  hostPath: string;
}

export interface SandboxRunSpec {
  gradingId: string;
  /** Short name of the step, e.g. "train" or "predict"; labels the container and the metrics. */
  step: string;
  image: string;
  command: string[];
  /** Always mounted read-only. */
  mounts: SandboxMount[];
  /** Container folder whose regular files are copied back (through the archive API) to `collectTo`. */
  outputPath: string;
  collectTo: string;
  env?: Record<string, string>;
  /**
   * Run the command as the harness supervisor: root inside the container with only the capabilities
   * to give candidate processes uids of their own and end them (SETUID, SETGID, KILL, CHOWN). Only
   * the supervisor can write `outputPath` and read `privateInputs`. Without it the command runs as
   * the unprivileged sandbox user and owns `outputPath`.
   */
  supervisor?: boolean;
  /**
   * Files only the supervisor can read, on a scratch volume at `containerPath`: `files` before the
   * command starts, `later` while it runs (the command waits for them itself).
   */
  privateInputs?: { containerPath: string; files: PrivateFile[]; later?: Promise<PrivateFile[]> };
  limits: SandboxLimits;
  signal?: AbortSignal;
}

export interface CapturedStream {
  text: string;
  totalBytes: number;
  truncated: boolean;
}

export interface SandboxResult {
  outcome: SandboxOutcome;
  exitCode: number | null;
  stdout: CapturedStream;
  stderr: CapturedStream;
  /** Regular files copied out (name → bytes); links and other entries are listed in `ignoredOutputs`. */
  outputs: { name: string; bytes: number }[];
  ignoredOutputs: string[];
  oomKilled: boolean;
  pidsLimitHit: boolean;
  timings: { createMs: number; startMs: number; runMs: number; collectMs: number; removeMs: number; totalMs: number };
  peakMemoryBytes: number | null;
  peakPids: number | null;
  imageId: string;
}

export interface Sandbox {
  run(spec: SandboxRunSpec): Promise<SandboxResult>;
  /** Removes containers and volumes left behind by dead workers. Returns how many were removed. */
  reap(): Promise<number>;
  /** Throws unless the engine answers. */
  ping(): Promise<void>;
  imageId(image: string): Promise<string>;
}
