import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { DockerSandbox } from './docker-sandbox.ts';
import { HostSandbox } from './host-sandbox.ts';
import type { Sandbox } from './sandbox.ts';

/** The sandbox a process runs candidate code in, chosen once at start-up by SANDBOX. */
export function createSandbox(config: Pick<Config, 'SANDBOX' | 'SANDBOX_RUNTIME' | 'NODE_ENV'>, logger?: Logger): Sandbox {
  switch (config.SANDBOX) {
    case 'docker':
      return new DockerSandbox({ runtime: config.SANDBOX_RUNTIME, logger });
    case 'host':
      return new HostSandbox({ nodeEnv: config.NODE_ENV });
  }
}
