import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { checkEntryName, extractArchive, scanArchive } from '../../services/archive/archive-scanner.ts';
import { ArchiveRejectedError } from '../../services/errors.ts';
import { makeZip } from '../support/zip-writer.ts';
import { makeTarGz } from '../support/archives.ts';

const limits = { maxEntries: 50, maxUncompressedBytes: 10 * 1024 * 1024, maxRatio: 100 };
let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scan-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, buf: Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, buf);
  return p;
};
function rejectionOf(fn: () => unknown): ArchiveRejectedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ArchiveRejectedError);
    return err as ArchiveRejectedError;
  }
  throw new Error('name was accepted');
}
async function rejection(file: string): Promise<ArchiveRejectedError> {
  try {
    await scanArchive(file, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ArchiveRejectedError);
    return err as ArchiveRejectedError;
  }
  throw new Error('archive was accepted');
}

describe('entry names', () => {
  it.each([
    ['../x', 'path traversal'],
    ['a/../../x', 'path traversal'],
    ['/etc/x', 'absolute path'],
    ['C:\\x', 'backslash'],
    ['C:/x', 'drive-letter'],
    ['a\\..\\x', 'backslash'],
    ['a//b', 'empty path segment'],
  ])('%s is rejected (%s)', (name, why) => {
    expect(() => checkEntryName(name)).toThrow(why);
  });
  // Every bidirectional control and mark: embeddings, overrides, isolates, LRM/RLM/ALM.
  const BIDI = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c];
  it.each(BIDI.map((cp) => [`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`, cp]))('a name with %s is rejected, the control escaped in the message', (hex, cp) => {
    const err = rejectionOf(() => checkEntryName(`report${String.fromCharCode(cp)}yp.exe`));
    expect(err.entry).toBe(`report\\u${hex.slice(2)}yp.exe`);
    expect(err.message).toBe(`archive entry "report\\u${hex.slice(2)}yp.exe": bidirectional control character in name (it can make the name display as another)`);
  });
  it('right-to-left names without controls are accepted', () => {
    expect(checkEntryName('תרגיל/حل.py')).toBe('תרגיל/حل.py');
  });
  it('normalises ./ prefixes and trailing slashes', () => {
    expect(checkEntryName('./sub/solution.py')).toBe('sub/solution.py');
    expect(checkEntryName('sub/')).toBe('sub');
  });
});

describe('zip archives', () => {
  it('accepts a plain archive and extracts it with safe permissions', async () => {
    const file = write(
      'ok.zip',
      makeZip([
        { name: 'solution.py', data: 'def train(p):\n  return 1\n', deflate: true },
        { name: 'pkg/util.py', data: 'X = 1\n' },
      ]),
    );
    const scan = await scanArchive(file, limits);
    expect(scan.format).toBe('zip');
    expect(scan.entries.map((e) => e.name).sort()).toEqual(['pkg/util.py', 'solution.py']);
    const out = path.join(dir, 'ok-out');
    await extractArchive(file, out, limits);
    expect(fs.readFileSync(path.join(out, 'solution.py'), 'utf8')).toContain('def train');
    expect(fs.statSync(path.join(out, 'pkg/util.py')).mode & 0o777).toBe(0o644);
  });

  it.each([
    ['traversal', [{ name: '../evil.py', data: 'x' }], '../evil.py', 'path traversal'],
    ['absolute path', [{ name: '/etc/cron.d/x', data: 'x' }], '/etc/cron.d/x', 'absolute path'],
    ['windows path', [{ name: 'C:\\Windows\\x', data: 'x' }], 'C:\\\\Windows\\\\x', 'backslash'],
    ['symlink', [{ name: 'link', data: '/etc/passwd', mode: 0o120777 }], 'link', 'symbolic links'],
    ['device', [{ name: 'dev', data: '', mode: 0o020644 }], 'dev', 'special files'],
    [
      'duplicate',
      [
        { name: 'a.py', data: '1' },
        { name: 'a.py', data: '2' },
      ],
      'a.py',
      'duplicate',
    ],
    [
      'duplicate after normalising',
      [
        { name: 'a.py', data: '1' },
        { name: './a.py', data: '2' },
      ],
      'a.py',
      'duplicate',
    ],
    ['bidi override', [{ name: 'report\u202Eyp.exe', data: 'x' }], 'report\\u202Eyp.exe', 'bidirectional control'],
    ['bidi isolate in a folder', [{ name: 'src\u2067/x.py', data: 'x' }], 'src\\u2067/x.py', 'bidirectional control'],
    ['bidi-named symlink', [{ name: 'l\u202Ek', data: '/etc/passwd', mode: 0o120777 }], 'l\\u202Ek', 'symbolic links'],
    ['local header name differs', [{ name: 'notes.txt', localName: 'evil.sh', data: 'x' }], 'notes.txt', 'its local header names it "evil.sh" (the two names must agree)'],
    [
      'local header name with a traversal',
      [
        { name: 'solution.py', data: 'x' },
        { name: 'data/x.csv', localName: '../../x.csv', data: 'x' },
      ],
      'data/x.csv',
      'its local header names it "../../x.csv"',
    ],
    ['local header hiding a bidi name', [{ name: 'readme.txt', localName: 'readme\u202Etxt.sh', data: 'x' }], 'readme.txt', 'its local header names it "readme\\u202Etxt.sh"'],
    ['local header decoding the name differently', [{ name: 'résumé.txt', localCp437: true, data: 'x' }], 'résumé.txt', 'UTF-8 flag'],
    ['Unicode Path field renaming the entry', [{ name: 'notes.txt', unicodePath: '../notes.txt', data: 'x' }], 'notes.txt', 'Unicode Path extra field gives it another name'],
  ])('rejects %s, naming the entry', async (_label, entries, entry, why) => {
    const err = await rejection(write(`bad-${_label}.zip`, makeZip(entries)));
    expect(err.entry).toBe(entry);
    expect(err.message).toContain(why);
  });

  it('accepts non-ASCII names, agreeing local headers, a matching Unicode Path and a cleared UTF-8 flag on an ASCII name', async () => {
    const file = write(
      'names.zip',
      makeZip([
        { name: 'données/résumé.txt', data: 'x' },
        { name: 'תרגיל.py', data: 'x', unicodePath: 'תרגיל.py' },
        { name: 'plain.txt', data: 'x', localCp437: true },
      ]),
    );
    expect((await scanArchive(file, limits)).entries.map((e) => e.name)).toEqual(['données/résumé.txt', 'תרגיל.py', 'plain.txt']);
  });

  it('refuses a zip whose local header names disagree before extracting anything', async () => {
    const file = write(
      'disagree.zip',
      makeZip([
        { name: 'a.txt', data: 'a' },
        { name: 'b.txt', localName: 'c.txt', data: 'b' },
      ]),
    );
    const out = path.join(dir, 'disagree-out');
    await expect(extractArchive(file, out, limits)).rejects.toThrow('archive entry "b.txt": its local header names it "c.txt"');
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('rejects a zip bomb by its declared size before inflating it', async () => {
    const file = write('bomb.zip', makeZip([{ name: 'big.csv', data: Buffer.alloc(1), deflate: true, declaredSize: 4_000_000_000 }]));
    expect((await rejection(file)).message).toMatch(/uncompressed size exceeds/);
  });

  it('rejects a zip bomb by its compression ratio', async () => {
    const file = write('ratio.zip', makeZip([{ name: 'zeros.csv', data: Buffer.alloc(5 * 1024 * 1024), deflate: true }]));
    expect((await rejection(file)).message).toMatch(/compression ratio/);
  });

  it('rejects an overlapping-entry zip bomb', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.alloc(1000, 65), deflate: true }));
    const file = write('overlap.zip', makeZip(entries, { overlapAllOnFirst: true }));
    expect((await rejection(file)).message).toMatch(/overlaps/);
  });

  it('rejects too many entries', async () => {
    const entries = Array.from({ length: 51 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
    expect((await rejection(write('many.zip', makeZip(entries)))).message).toMatch(/more than 50 entries/);
  });

  it('stops extraction when an entry inflates beyond its declared size', async () => {
    const file = write('liar.zip', makeZip([{ name: 'a.txt', data: Buffer.alloc(4096, 66), deflate: true, declaredSize: 10 }]));
    await expect(extractArchive(file, path.join(dir, 'liar-out'), limits)).rejects.toThrow();
  });

  it('rejects a file that is not an archive', async () => {
    expect((await rejection(write('x.zip', Buffer.from('hello, not a zip')))).message).toMatch(/not a .zip or .tar.gz/);
  });
});

describe('tar.gz archives', () => {
  it('accepts and extracts a plain archive', async () => {
    const file = write(
      'ok.tar.gz',
      await makeTarGz([
        { name: 'sub/', type: 'directory' },
        { name: 'sub/solution.py', data: 'x = 1\n' },
      ]),
    );
    const scan = await scanArchive(file, limits);
    expect(scan.format).toBe('tar.gz');
    await extractArchive(file, path.join(dir, 'tok'), limits);
    expect(fs.readFileSync(path.join(dir, 'tok/sub/solution.py'), 'utf8')).toBe('x = 1\n');
  });

  it.each([
    ['symlink', { name: 'l', type: 'symlink' as const, linkname: '/etc/passwd' }, 'symbolic links'],
    ['hard link', { name: 'h', type: 'link' as const, linkname: 'solution.py' }, 'hard links'],
    ['character device', { name: 'c', type: 'character-device' as const }, 'special entry type'],
    ['fifo', { name: 'f', type: 'fifo' as const }, 'special entry type'],
    ['traversal', { name: '../../x', data: 'x' }, 'path traversal'],
    ['absolute', { name: '/tmp/x', data: 'x' }, 'absolute path'],
    ['bidi override', { name: 'report\u202Eyp.exe', data: 'x' }, 'archive entry "report\\u202Eyp.exe": bidirectional control'],
    ['bidi mark in a folder', { name: 'src\u200F/', type: 'directory' as const }, 'archive entry "src\\u200F/": bidirectional control'],
    ['bidi-named symlink', { name: 'l\u2066k', type: 'symlink' as const, linkname: '/etc/passwd' }, 'archive entry "l\\u2066k": symbolic links'],
  ])('rejects a %s entry', async (label, entry, why) => {
    const file = write(`t-${label}.tar.gz`, await makeTarGz([{ name: 'solution.py', data: 'x' }, entry]));
    expect((await rejection(file)).message).toContain(why);
  });

  it('rejects duplicate names', async () => {
    const file = write(
      'dup.tar.gz',
      await makeTarGz([
        { name: 'a.py', data: '1' },
        { name: 'a.py', data: '2' },
      ]),
    );
    expect((await rejection(file)).message).toContain('duplicate');
  });

  it('stops a tar bomb while decompressing, before it is read whole', async () => {
    const file = write('bomb.tar.gz', await makeTarGz([{ name: 'zeros.bin', data: Buffer.alloc(40 * 1024 * 1024) }]));
    const t = performance.now();
    expect((await rejection(file)).message).toMatch(/exceeds|ratio/);
    expect(performance.now() - t).toBeLessThan(5_000);
  });
});
