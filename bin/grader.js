#!/usr/bin/env node
// The `grader` command: runs the TypeScript CLI through tsx (no build step needed).
import { register } from 'tsx/esm/api';

register();
process.env.GRADER_CLI = '1';
process.env.ASSESSMENTS_DIR ??= new URL('../assessments', import.meta.url).pathname;
process.env.DATA_DIR ??= new URL('../.data', import.meta.url).pathname;
await import('../services/cli/grader.ts');
