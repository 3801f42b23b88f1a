import type { Logger } from 'pino';
import { readArchiveFiles } from '../archive/archive-reader.ts';
import type { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import type { Config } from '../config.ts';
import { NotFoundError } from '../errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { SubmissionRepository } from '../submissions/submission-repository.ts';
import { SimilarityEngine, type PairResult } from './similarity-engine.ts';
import type { SimilarityDocument, SimilarityRepository } from './similarity-repository.ts';
import { comparedSource, isComparedFile, starterCode, type ComparedSource } from './similarity-source.ts';

/** Pairs below this similarity are not stored (the reviewer's list and flag use their own, higher bars). */
export const SIMILARITY_FLOOR = 0.2;
/** A candidate must share this many fingerprints with the new text before Dolos compares the two. */
const MIN_SHARED_FINGERPRINTS = 4;
/** At most this many candidates (those sharing the most fingerprints) are compared in full. */
const MAX_CANDIDATES = 200;

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
  /** Documents compared in full (after the fingerprint look-up). */
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
  private readonly starter = new Map<string, Promise<string[]>>();

  constructor(private readonly deps: SimilarityServiceDeps) {}

  private getEngine(): Promise<SimilarityEngine> {
    this.engine ??= SimilarityEngine.create();
    return this.engine;
  }

  /** The brief's Python code blocks (contract signatures, given helpers): excluded as starter code. */
  private starterOf(assessmentId: string): Promise<string[]> {
    let s = this.starter.get(assessmentId);
    if (!s) {
      s = this.deps.assessments.readDoc(assessmentId, 'brief').then(starterCode);
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
    const doc = await this.deps.similarity.saveDocument(
      { assessmentId: sub.assessmentId, kind: 'submission', submissionId: sub.id, name: sub.fileName },
      source,
      engine.fingerprints(source.text),
    );
    return this.compareStored(doc, engine);
  }

  /** Adds a reference solution (a known public or leaked answer) and compares it with every stored submission. */
  async addReference(assessmentId: string, name: string, files: { name: string; text: string }[]): Promise<IndexOutcome> {
    this.deps.assessments.get(assessmentId);
    const source = comparedSource(files);
    const engine = await this.getEngine();
    const doc = await this.deps.similarity.saveDocument({ assessmentId, kind: 'reference', submissionId: null, name }, source, engine.fingerprints(source.text));
    // A reference is compared with every submission, earlier or later: the look-up has no date bar for it.
    return this.compareStored(doc, engine, true);
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

  private async compareStored(doc: SimilarityDocument, engine: SimilarityEngine, anyDate = false): Promise<IndexOutcome> {
    if (doc.source.trim() === '') {
      await this.deps.similarity.savePairs(doc.assessmentId, doc.id, []);
      return { documentId: doc.id, compared: 0, stored: 0 };
    }
    const fingerprints = engine.fingerprints(doc.source);
    const candidates = await this.deps.similarity.candidates(doc.assessmentId, fingerprints, doc.id, MIN_SHARED_FINGERPRINTS, MAX_CANDIDATES, anyDate);
    const results: PairResult[] = candidates.length
      ? engine.compare({ id: doc.id, text: doc.source }, candidates.map((c) => ({ id: c.id, text: c.source })), await this.starterOf(doc.assessmentId))
      : [];
    const kept = results.filter((r) => r.similarity >= SIMILARITY_FLOOR);
    await this.deps.similarity.savePairs(
      doc.assessmentId,
      doc.id,
      kept.map((r) => ({ leftId: doc.id, rightId: r.otherId, similarity: r.similarity, longest: r.longest, fragments: r.fragments.slice(0, 50) })),
      candidates.map((c) => c.id),
    );
    return { documentId: doc.id, compared: candidates.length, stored: kept.length };
  }
}
