import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const DIR = path.join(import.meta.dirname, 'static');
const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

export interface StaticAsset {
  body: Buffer;
  type: string;
  version: string;
}

/** The pages' CSS and scripts, read once; URLs carry a content hash so they can be cached for long. */
export const ASSETS: ReadonlyMap<string, StaticAsset> = new Map(
  fs
    .readdirSync(DIR)
    .filter((f) => TYPES[path.extname(f)])
    .map((f) => {
      const body = fs.readFileSync(path.join(DIR, f));
      return [f, { body, type: TYPES[path.extname(f)]!, version: crypto.createHash('sha256').update(body).digest('hex').slice(0, 10) }] as const;
    }),
);

export function assetUrl(name: string): string {
  const a = ASSETS.get(name);
  if (!a) throw new Error(`unknown static asset ${name}`);
  return `/static/${name}?v=${a.version}`;
}
