import { File, FingerprintIndex, LanguagePicker, WinnowFilter, type FileEntry, type Pair, type TokenizedFile, type Tokenizer } from '@dodona/dolos-lib';

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

export interface SourceText {
  id: string;
  text: string;
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

  /** The distinct winnowed fingerprints of a text: what the stored index keeps to find candidates. */
  fingerprints(text: string): number[] {
    const tokens = this.tokenize('fp', text).tokens;
    return [...new Set(this.filter.fingerprints(tokens).map((f) => f.hash))];
  }

  /**
   * Compares one text with each of the others; k-grams that occur in any starter text are left
   * out of both the shared part and the totals, so given code neither raises nor dilutes a score.
   */
  compare(subject: SourceText, others: SourceText[], starter: string[]): PairResult[] {
    const index = new FingerprintIndex(KGRAM_LENGTH, KGRAMS_IN_WINDOW, false);
    const left = this.tokenize('subject', subject.text);
    const rights = others.map((o, i) => this.tokenize(`other-${i}`, o.text));
    index.addFiles([left, ...rights]);
    // After the files, as Dolos itself does: an ignored file marks the fingerprints already indexed.
    starter.forEach((text, i) => index.addIgnoredFile(this.tokenize(`starter-${i}`, text)));
    return others.map((o, i) => pairResult(o.id, index.getPair(left, rights[i]!)));
  }
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
