import zlib from 'node:zlib';

/** Crafts zip files byte by byte, including the malformed ones real zip tools refuse to make. */
export interface ZipEntrySpec {
  name: string;
  data?: Buffer | string;
  /** Unix mode (e.g. 0o120777 for a symlink); sets "made by Unix". */
  mode?: number;
  deflate?: boolean;
  /** Lie about the uncompressed size in the headers. */
  declaredSize?: number;
  /** Another name in the local header than in the central directory. */
  localName?: string;
  /** Clear the UTF-8 flag (general purpose bit 11) in the local header only. */
  localCp437?: boolean;
  /** An Info-ZIP Unicode Path extra field (0x7075) in the central directory, naming the entry so. */
  unicodePath?: string;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Info-ZIP Unicode Path: version 1, the CRC-32 of the header name, the UTF-8 name. */
function unicodePathField(headerName: Buffer, unicodeName: string): Buffer {
  const utf8 = Buffer.from(unicodeName, 'utf8');
  const field = Buffer.alloc(9);
  field.writeUInt16LE(0x7075, 0);
  field.writeUInt16LE(5 + utf8.length, 2);
  field.writeUInt8(1, 4);
  field.writeUInt32LE(crc32(headerName), 5);
  return Buffer.concat([field, utf8]);
}

export function makeZip(entries: ZipEntrySpec[], opts: { overlapAllOnFirst?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const firstOffset = 0;
  for (const [i, e] of entries.entries()) {
    const raw = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '');
    const body = e.deflate ? zlib.deflateRawSync(raw, { level: 9 }) : raw;
    const name = Buffer.from(e.name, 'utf8');
    const localName = Buffer.from(e.localName ?? e.name, 'utf8');
    const extra = e.unicodePath === undefined ? Buffer.alloc(0) : unicodePathField(name, e.unicodePath);
    const size = e.declaredSize ?? raw.length;
    const crc = crc32(raw);
    const method = e.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.localCp437 ? 0 : 0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(localName.length, 26);
    const headerOffset = opts.overlapAllOnFirst && i > 0 ? firstOffset : offset;
    if (!(opts.overlapAllOnFirst && i > 0)) {
      locals.push(local, localName, body);
      offset += 30 + localName.length + body.length;
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.mode !== undefined ? (3 << 8) | 20 : 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(e.mode !== undefined ? (e.mode << 16) >>> 0 : 0, 38);
    central.writeUInt32LE(headerOffset, 42);
    centrals.push(central, name, extra);
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
