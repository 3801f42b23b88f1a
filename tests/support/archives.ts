import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export type TarEntrySpec = { name: string; data?: string | Buffer; type?: tar.Header['type']; linkname?: string; size?: number };

/** A .tar.gz built in memory from explicit headers (links and devices included). */
export async function makeTarGz(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const gz = zlib.createGzip();
  gz.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => gz.on('end', resolve));
  pack.pipe(gz);
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    const header: Partial<tar.Header> & { name: string } = { name: e.name, type: e.type ?? 'file', mode: 0o644, ...(e.linkname ? { linkname: e.linkname } : {}) };
    if (data) pack.entry({ ...header, size: data.length }, data);
    else pack.entry({ ...header, size: e.size ?? 0 });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Packs a fixture folder (regular files only) into a .tar.gz buffer. */
export async function tarGzOfFolder(dir: string, prefix = ''): Promise<Buffer> {
  const entries: TarEntrySpec[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.name === '__pycache__') continue;
      if (d.isDirectory()) walk(r);
      else entries.push({ name: prefix + r, data: fs.readFileSync(path.join(dir, r)) });
    }
  };
  walk('');
  return makeTarGz(entries);
}
