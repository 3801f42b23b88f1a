import { File, FingerprintIndex, LanguagePicker, Region, TokenizedFile, WinnowFilter, type FileEntry, type Pair, type Tokenizer } from '@dodona/dolos-lib';

/**
 * Source similarity on Dolos (@dodona/dolos-lib): tree-sitter's Python syntax tree as tokens (node
 * types only, so renamed identifiers, changed literals and comments do not matter), k-grams of
 * tokens, winnowing, and Dolos's fingerprint index to pair the k-grams two files share. Dolos's
 * own defaults for k and the window.
 */
export const KGRAM_LENGTH = 23;
export const KGRAMS_IN_WINDOW = 17;

/** Lines are 0-based, both ends included (Dolos's rows). */
export interface LineRange {
  startRow: number;
  endRow: number;
}

export interface SharedFragment {
  left: LineRange;
  right: LineRange;
  /** Consecutive shared k-grams the fragment spans. */
  kgrams: number;
}

export interface PairResult {
  otherId: string;
  /** Share of both texts' k-grams (starter code left out) that the other text also holds, 0..1. */
  similarity: number;
  /** K-grams in the longest run shared in the same order. */
  longest: number;
  fragments: SharedFragment[];
}

/**
 * A text's token stream as stored beside it: parsing is most of a comparison's cost (tree-sitter
 * and its nodes, ~25 ms for 170 lines), so a stored document is parsed once, when it is indexed.
 */
export interface StoredTokens {
  /** Dolos's tokens (syntax node types and brackets), space-separated. */
  tokens: string;
  /** Each token's region, four little-endian int32 per token: start row, start column, end row, end column. */
  mapping: Buffer;
}

export interface SourceText {
  id: string;
  text: string;
  tokens?: StoredTokens | null;
}

export interface IndexedText {
  fingerprints: number[];
  tokens: StoredTokens;
}

let tokenizer: Promise<Tokenizer> | null = null;

/** The Python tokenizer, loaded once per process (tree-sitter's native grammar, ~1 s). */
function pythonTokenizer(): Promise<Tokenizer> {
  tokenizer ??= new LanguagePicker().findLanguage('python').then((lang) => lang.createTokenizer());
  return tokenizer;
}

export class SimilarityEngine {
  private readonly filter = new WinnowFilter(KGRAM_LENGTH, KGRAMS_IN_WINDOW);

  private constructor(private readonly tokenizer: Tokenizer) {}

  static async create(): Promise<SimilarityEngine> {
    return new SimilarityEngine(await pythonTokenizer());
  }

  private tokenize(id: string, text: string): TokenizedFile {
    return this.tokenizer.tokenizeFile(new File(`${id}.py`, text));
  }

  /** The distinct winnowed fingerprints of a text (what the stored index keeps to find candidates) and its tokens. */
  index(text: string): IndexedText {
    const file = this.tokenize('fp', text);
    const fingerprints = [...new Set(this.filter.fingerprints(file.tokens).map((f) => f.hash))];
    return { fingerprints, tokens: encodeTokens(file) };
  }

  private tokenized(id: string, source: SourceText): TokenizedFile {
    return source.tokens ? decodeTokens(new File(`${id}.py`, source.text), source.tokens) : this.tokenize(id, source.text);
  }

  /**
   * Compares one text with each of the others; k-grams that occur in any starter text are left
   * out of both the shared part and the totals, so given code neither raises nor dilutes a score.
   */
  compare(subject: SourceText, others: SourceText[], starter: string[]): PairResult[] {
    const index = new FingerprintIndex(KGRAM_LENGTH, KGRAMS_IN_WINDOW, false);
    const left = this.tokenized('subject', subject);
    const rights = others.map((o, i) => this.tokenized(`other-${i}`, o));
    index.addFiles([left, ...rights]);
    // After the files, as Dolos itself does: an ignored file marks the fingerprints already indexed.
    starter.forEach((text, i) => index.addIgnoredFile(this.tokenize(`starter-${i}`, text)));
    return others.map((o, i) => pairResult(o.id, index.getPair(left, rights[i]!)));
  }
}

function encodeTokens(file: TokenizedFile): StoredTokens {
  if (file.tokens.some((t) => /\s/.test(t))) throw new Error('a token holds white space and cannot be stored space-separated');
  const ints = new Int32Array(file.mapping.length * 4);
  file.mapping.forEach((r, i) => ints.set([r.startRow, r.startCol, r.endRow, r.endCol], i * 4));
  return { tokens: file.tokens.join(' '), mapping: Buffer.from(ints.buffer, ints.byteOffset, ints.byteLength) };
}

function decodeTokens(file: File, stored: StoredTokens): TokenizedFile {
  const tokens = stored.tokens === '' ? [] : stored.tokens.split(' ');
  const at = (i: number) => stored.mapping.readInt32LE(i * 4);
  if (stored.mapping.length !== tokens.length * 16) throw new Error('stored tokens and their regions do not match');
  const mapping = tokens.map((_, i) => new Region(at(i * 4), at(i * 4 + 1), at(i * 4 + 2), at(i * 4 + 3)));
  return new TokenizedFile(file, tokens, mapping);
}

/** K-gram occurrences of a file that are neither starter code nor otherwise ignored. */
function countedKgrams(entry: FileEntry): number {
  let ignored = 0;
  for (const fp of entry.ignored) ignored += fp.occurrencesOf(entry.file).length;
  return entry.kgrams.length - ignored;
}

function pairResult(otherId: string, pair: Pair): PairResult {
  // Dolos's own Pair.similarity subtracts distinct ignored fingerprints (and the left side's twice)
  // from occurrence counts; counting occurrences on both sides keeps the share within 0..1.
  const total = countedKgrams(pair.leftEntry) + countedKgrams(pair.rightEntry);
  const similarity = total > 0 ? Math.min(1, (pair.leftCovered + pair.rightCovered) / total) : 0;
  const fragments = pair.buildFragments().map((f) => ({
    left: { startRow: f.leftSelection.startRow, endRow: f.leftSelection.endRow },
    right: { startRow: f.rightSelection.startRow, endRow: f.rightSelection.endRow },
    kgrams: f.pairs.length,
  }));
  fragments.sort((a, b) => b.kgrams - a.kgrams || a.left.startRow - b.left.startRow);
  return { otherId, similarity, longest: pair.longest, fragments };
}
