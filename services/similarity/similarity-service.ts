import type { Logger } from 'pino';
import { readArchiveFiles } from '../archive/archive-reader.ts';
import type { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import type { Config } from '../config.ts';
import { NotFoundError } from '../errors.ts';
import { SIMILARITY_FLOOR } from '../rubrics/rubric-schema.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { SubmissionRepository } from '../submissions/submission-repository.ts';
import { SimilarityEngine, type PairResult } from './similarity-engine.ts';
import type { SimilarityDocument, SimilarityRepository, StoredPair } from './similarity-repository.ts';
import { comparedSource, isComparedFile, starterCode, type ComparedSource } from './similarity-source.ts';

/** Pairs below this similarity are not stored (the reviewer's list and the rubric's flag use their own, higher bars). */
export { SIMILARITY_FLOOR };
/** A candidate must share this many fingerprints with the new text before Dolos compares the two. */
const MIN_SHARED_FINGERPRINTS = 4;
/** At most this many candidates (those sharing the most fingerprints) are looked at. */
const MAX_CANDIDATES = 2000;
/**
 * The references and this many submissions (those sharing the most fingerprints) are compared by
 * Dolos in full (fragments, longest run): the cost of a run stays flat however many near-copies a
 * cohort holds. The other candidates' similarity is estimated from the fingerprints they share
 * (the same winnowed k-grams Dolos counts, as sets), stored as such, detailed when opened.
 */
const FULL_COMPARISONS = 10;

export interface SimilarityServiceDeps {
  config: Pick<Config, 'CODE_VIEWER_MAX_FILE_BYTES' | 'UPLOAD_MAX_ENTRIES' | 'UPLOAD_MAX_UNCOMPRESSED_BYTES' | 'UPLOAD_MAX_RATIO'>;
  blobs: BlobStore;
  submissions: SubmissionRepository;
  assessments: AssessmentRegistry;
  similarity: SimilarityRepository;
  logger: Pick<Logger, 'info' | 'warn'>;
}

export interface IndexOutcome {
  documentId: string | null;
  /** Documents sharing enough fingerprints to be candidates (the first few compared in full). */
  compared: number;
  stored: number;
}

/**
 * Compares a submission's code with the earlier submissions of its assessment and the reference
 * corpus, incrementally: its fingerprints go into the stored index, only the documents sharing
 * enough of them are compared in full, and the pairs above the floor are stored. Candidate code
 * is read from the stored archive as text through the upload scanner; nothing is run.
 */
export class SimilarityService {
  private engine: Promise<SimilarityEngine> | null = null;
  private readonly starter = new Map<string, Promise<{ texts: string[]; fingerprints: Set<number> }>>();

  constructor(private readonly deps: SimilarityServiceDeps) {}

  private getEngine(): Promise<SimilarityEngine> {
    this.engine ??= SimilarityEngine.create();
    return this.engine;
  }

  /** The brief's Python code blocks (contract signatures, given helpers): excluded as starter code. */
  private starterOf(assessmentId: string): Promise<{ texts: string[]; fingerprints: Set<number> }> {
    let s = this.starter.get(assessmentId);
    if (!s) {
      s = Promise.all([this.deps.assessments.readDoc(assessmentId, 'brief'), this.getEngine()]).then(([brief, engine]) => {
        const texts = starterCode(brief);
        return { texts, fingerprints: new Set(texts.flatMap((t) => engine.index(t).fingerprints)) };
      });
      this.starter.set(assessmentId, s);
    }
    return s;
  }

  async sourceOfSubmission(submissionId: string): Promise<{ sub: { id: string; assessmentId: string; fileName: string }; source: ComparedSource }> {
    const sub = await this.deps.submissions.getSubmission(submissionId);
    if (!sub) throw new NotFoundError(`submission ${submissionId}`);
    const { config, blobs } = this.deps;
    if (!(await blobs.exists(sub.archiveSha256))) throw new NotFoundError(`the stored archive of submission ${submissionId}`);
    const limits = { maxEntries: config.UPLOAD_MAX_ENTRIES, maxUncompressedBytes: config.UPLOAD_MAX_UNCOMPRESSED_BYTES, maxRatio: config.UPLOAD_MAX_RATIO };
    const { files } = await readArchiveFiles(blobs.pathOf(sub.archiveSha256), limits, { maxFileBytes: config.CODE_VIEWER_MAX_FILE_BYTES, want: isComparedFile });
    return { sub, source: comparedSource(files) };
  }

  /** Indexes one graded submission and stores its pairs with what came before it. Idempotent. */
  async indexSubmission(submissionId: string): Promise<IndexOutcome> {
    const { sub, source } = await this.sourceOfSubmission(submissionId);
    const engine = await this.getEngine();
    const indexed = engine.index(source.text);
    const doc = await this.deps.similarity.saveDocument({ assessmentId: sub.assessmentId, kind: 'submission', submissionId: sub.id, name: sub.fileName }, source, indexed);
    return this.compareStored(doc, indexed.fingerprints, engine);
  }

  /** Adds a reference solution (a known public or leaked answer) and compares it with every stored submission. */
  async addReference(assessmentId: string, name: string, files: { name: string; text: string }[]): Promise<IndexOutcome> {
    this.deps.assessments.get(assessmentId);
    const source = comparedSource(files);
    const engine = await this.getEngine();
    const indexed = engine.index(source.text);
    const doc = await this.deps.similarity.saveDocument({ assessmentId, kind: 'reference', submissionId: null, name }, source, indexed);
    // A reference is compared with every submission, earlier or later: the look-up has no date bar for it.
    return this.compareStored(doc, indexed.fingerprints, engine, true);
  }

  /** Compares every submission of an assessment again, in arrival order (after the rules changed). */
  async rebuild(assessmentId: string, onEach?: (id: string, outcome: IndexOutcome | Error) => void): Promise<{ done: number; failed: number }> {
    let done = 0;
    let failed = 0;
    for (const id of await this.deps.similarity.submissionsInOrder(assessmentId)) {
      try {
        const outcome = await this.indexSubmission(id);
        done++;
        onEach?.(id, outcome);
      } catch (err) {
        failed++;
        onEach?.(id, err as Error);
      }
    }
    return { done, failed };
  }

  private async compareStored(doc: SimilarityDocument, fingerprints: number[], engine: SimilarityEngine, anyDate = false): Promise<IndexOutcome> {
    if (doc.source.trim() === '') {
      await this.deps.similarity.savePairs(doc.assessmentId, doc.id, []);
      return { documentId: doc.id, compared: 0, stored: 0 };
    }
    const starter = await this.starterOf(doc.assessmentId);
    const own = fingerprints.filter((h) => !starter.fingerprints.has(h));
    const candidates = await this.deps.similarity.candidates(doc.assessmentId, own, doc.id, MIN_SHARED_FINGERPRINTS, MAX_CANDIDATES, anyDate);
    const full = new Set([...candidates.filter((c) => c.kind === 'reference'), ...candidates.slice(0, FULL_COMPARISONS)].map((c) => c.id));
    const others = await this.deps.similarity.documents([...full]);
    const results: PairResult[] = others.length
      ? engine.compare(
          { id: doc.id, text: doc.source, tokens: doc.tokens },
          others.map((c) => ({ id: c.id, text: c.source, tokens: c.tokens })),
          starter.texts,
        )
      : [];
    const pairs: StoredPair[] = results.map((r) => ({
      leftId: doc.id,
      rightId: r.otherId,
      similarity: r.similarity,
      longest: r.longest,
      fragments: r.fragments.slice(0, 50),
      detailed: true,
    }));
    for (const c of candidates) {
      if (full.has(c.id)) continue;
      // Starter fingerprints are out of the subject's count, not out of the candidate's: an estimate that errs low.
      const estimate = Math.min(1, (2 * c.shared) / Math.max(1, own.length + c.fingerprints));
      pairs.push({ leftId: doc.id, rightId: c.id, similarity: estimate, longest: 0, fragments: [], detailed: false });
    }
    const kept = pairs.filter((p) => p.similarity >= SIMILARITY_FLOOR);
    await this.deps.similarity.savePairs(
      doc.assessmentId,
      doc.id,
      kept,
      candidates.map((c) => c.id),
    );
    return { documentId: doc.id, compared: candidates.length, stored: kept.length };
  }
}
