import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../services/config.ts';
import { createSandbox } from '../../services/sandbox/create-sandbox.ts';
import { DockerSandbox } from '../../services/sandbox/docker-sandbox.ts';
import { HostSandbox, SCRATCH } from '../../services/sandbox/host-sandbox.ts';
import type { SandboxLimits } from '../../services/sandbox/sandbox.ts';

const PRODUCTION = { NODE_ENV: 'production', ADMIN_API_KEY: 'a-real-admin-key-0123456789', INVITE_SECRET: 'a-real-invite-secret-0123456789' };

describe('SANDBOX: the sandbox chosen at start-up', () => {
  it('is the Docker sandbox unless told otherwise', () => {
    const config = loadConfig({});
    expect(config.SANDBOX).toBe('docker');
    expect(createSandbox(config)).toBeInstanceOf(DockerSandbox);
  });

  it('is the host sandbox with SANDBOX=host outside production', () => {
    for (const NODE_ENV of ['development', 'test']) expect(createSandbox(loadConfig({ NODE_ENV, SANDBOX: 'host' }))).toBeInstanceOf(HostSandbox);
  });

  it('refuses an unknown sandbox', () => {
    expect(() => loadConfig({ SANDBOX: 'chroot' })).toThrow(ConfigError);
  });

  it('refuses the host sandbox in production: in the config and in the class itself', () => {
    expect(loadConfig(PRODUCTION).SANDBOX).toBe('docker');
    expect(() => loadConfig({ ...PRODUCTION, SANDBOX: 'host' })).toThrow(/SANDBOX: the host sandbox runs candidate code without isolation/);
    expect(() => createSandbox({ SANDBOX: 'host', NODE_ENV: 'production', SANDBOX_RUNTIME: undefined })).toThrow(/refused when NODE_ENV=production/);
    expect(() => new HostSandbox({ nodeEnv: 'production' })).toThrow(/refused when NODE_ENV=production/);
  });
});

describe('HostSandbox.run', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'host-sandbox-test-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  const limits: SandboxLimits = { memoryBytes: 0, cpus: 1, pids: 0, wallMs: 20_000, tmpfsBytes: 0, outputBytes: 1024, logBytes: 1024, nofile: 0, fsizeBytes: 0 };

  it('runs a command on container paths and copies /out back, sub-folders included', async () => {
    fs.mkdirSync(path.join(work, 'in'));
    fs.writeFileSync(path.join(work, 'in', 'seed.txt'), 'seven');
    // Container paths are rewritten where they are arguments, as the harness receives them.
    const script = [
      'import os, sys',
      'seed_file, out = sys.argv[1:]',
      'seed = open(seed_file).read()',
      "os.makedirs(f'{out}/ds/labels')",
      "open(f'{out}/ds/labels/a.csv', 'w').write(seed)",
      "open(f'{out}/top.txt', 'w').write('x' * 2000)",
      "os.symlink('/etc/passwd', f'{out}/link')",
      "print('done', seed)",
    ].join('\n');
    const collectTo = path.join(work, 'collected');
    const result = await new HostSandbox({ nodeEnv: 'test' }).run({
      gradingId: '00000000-0000-0000-0000-000000000000',
      step: 'unit',
      image: 'unused',
      command: ['python3', '-I', '-c', script, '/input/seed.txt', '/out'],
      mounts: [{ hostPath: path.join(work, 'in'), containerPath: '/input' }],
      outputPath: '/out',
      collectTo,
      limits,
    });
    expect(result).toMatchObject({ outcome: 'completed', exitCode: 0, imageId: 'host' });
    expect(result.stdout.text).toBe('done seven\n');
    expect(result.outputs).toEqual([{ name: 'ds/labels/a.csv', bytes: 5 }]);
    // Over the 1 KiB output budget, and a link: listed, not copied, not followed.
    expect(result.ignoredOutputs.sort()).toEqual(['link', 'top.txt']);
    expect(fs.readFileSync(path.join(collectTo, 'ds/labels/a.csv'), 'utf8')).toBe('seven');
    expect(fs.existsSync(path.join(collectTo, 'top.txt'))).toBe(false);
  });

  it('leaves nothing behind when inputs handed over later arrive after the run has ended', async () => {
    fs.writeFileSync(path.join(work, 'late.bin'), 'model');
    let handOver!: (files: { name: string; hostPath: string }[]) => void;
    const later = new Promise<{ name: string; hostPath: string }[]>((resolve) => (handOver = resolve));
    const step = `late-${process.pid}`;
    const result = await new HostSandbox({ nodeEnv: 'test' }).run({
      gradingId: '00000000-0000-0000-0000-000000000000',
      step,
      image: 'unused',
      command: ['python3', '-I', '-c', 'pass'],
      mounts: [],
      privateInputs: { containerPath: '/in', files: [], later },
      outputPath: '/out',
      collectTo: path.join(work, 'late-out'),
      limits,
    });
    expect(result.outcome).toBe('completed');
    handOver([{ name: 'models/model.pkl', hostPath: path.join(work, 'late.bin') }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.readdirSync(SCRATCH).filter((n) => n.startsWith(`host-sandbox-${step}-`))).toEqual([]);
  });
});
