/**
 * Whether a trained model carries its training data, read from the bytes of model.pkl on the host
 * (never unpickled). A pickled DataFrame or array keeps text values as UTF-8 and numeric columns as
 * raw little-endian values, one column's rows next to each other; so rows of the training file show
 * up as its customer ids, or as runs of consecutive values of one numeric column. Precision first:
 * a model built from the data (coefficients, trees) contains neither. A model that keeps only a
 * transformed matrix (a scaled nearest-neighbour index) is not found this way; its size is reported.
 */

export interface TrainingFingerprint {
  /** Identifiers of sampled training rows. */
  ids: string[];
  /** Runs of consecutive values of one numeric column, in the encodings a pickle would hold them. */
  windows: { column: string; encodings: Uint8Array[] }[];
}

export interface FootprintScan {
  idsSampled: number;
  idsFound: number;
  windowsSampled: number;
  windowsFound: number;
  /** Numeric columns of which at least one run was found. */
  columnsFound: string[];
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const WINDOW = 3;

/**
 * A fingerprint of a parsed CSV (header first): `ids` identifiers and up to `windows` runs of
 * WINDOW consecutive rows per clean numeric column, spread over the file. Deterministic.
 */
export function trainingFingerprint(rows: readonly string[][], idColumn: string, opts: { ids?: number; windows?: number } = {}): TrainingFingerprint {
  const [header, ...body] = rows;
  if (!header || body.length === 0) return { ids: [], windows: [] };
  const spread = <T>(xs: T[], k: number) => (xs.length <= k ? xs : [...Array(k).keys()].map((i) => xs[Math.floor((i * xs.length) / k)]!));
  const idAt = header.indexOf(idColumn);
  const ids =
    idAt < 0
      ? []
      : spread(
          body.map((r) => r[idAt] ?? '').filter((v) => v.length >= 4),
          opts.ids ?? 200,
        );
  const windows: TrainingFingerprint['windows'] = [];
  header.forEach((column, c) => {
    if (c === idAt) return;
    const values = body.map((r) => (r[c] ?? '').trim());
    if (values.filter((v) => NUMBER.test(v)).length < 0.95 * values.length) return;
    const starts: number[] = [];
    for (let i = 0; i + WINDOW <= values.length; i += WINDOW) {
      const run = values.slice(i, i + WINDOW);
      // A run of one repeated value (zeros...) would match anything: only runs of distinct values.
      if (run.every((v) => NUMBER.test(v)) && new Set(run).size === WINDOW) starts.push(i);
    }
    const encodings = (i: number): Uint8Array[] => {
      const nums = values.slice(i, i + WINDOW).map(Number);
      const f64 = Buffer.alloc(8 * WINDOW);
      nums.forEach((x, k) => f64.writeDoubleLE(x, 8 * k));
      if (!nums.every(Number.isInteger)) return [f64];
      const i64 = Buffer.alloc(8 * WINDOW);
      nums.forEach((x, k) => i64.writeBigInt64LE(BigInt(x), 8 * k));
      return [f64, i64];
    };
    for (const i of spread(starts, opts.windows ?? 40)) windows.push({ column, encodings: encodings(i) });
  });
  return { ids, windows };
}

/** Looks for the fingerprint in the model's bytes. */
export function scanModel(model: Uint8Array, fp: TrainingFingerprint): FootprintScan {
  const bytes = Buffer.from(model.buffer, model.byteOffset, model.byteLength);
  const idsFound = fp.ids.filter((id) => bytes.includes(id, 0, 'utf8')).length;
  const found = fp.windows.filter((w) => w.encodings.some((e) => bytes.includes(Buffer.from(e.buffer, e.byteOffset, e.byteLength))));
  return {
    idsSampled: fp.ids.length,
    idsFound,
    windowsSampled: fp.windows.length,
    windowsFound: found.length,
    columnsFound: [...new Set(found.map((w) => w.column))],
  };
}
