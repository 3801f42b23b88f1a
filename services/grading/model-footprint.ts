import fsp from 'node:fs/promises';
import { parseCsv } from '../assessments/dataset-store.ts';
import { scanModel, trainingFingerprint, type FootprintScan } from '../checks/footprint-scan.ts';

const fingerprints = new Map<string, ReturnType<typeof trainingFingerprint>>();

/**
 * The trained model.pkl as the host received it from the training container: its size and which
 * training rows are inside it (footprint-scan.ts; read as bytes, never unpickled). The training
 * file's fingerprint is worked out once per dataset file and process.
 */
export async function modelFootprint(modelPath: string, trainCsv: string, idColumn: string): Promise<{ bytes: number; trainBytes: number; scan: FootprintScan }> {
  const [model, trainBytes] = await Promise.all([fsp.readFile(modelPath), fsp.stat(trainCsv).then((s) => s.size)]);
  const key = `${trainCsv}\0${idColumn}`;
  let fp = fingerprints.get(key);
  if (!fp) {
    fp = trainingFingerprint(parseCsv(await fsp.readFile(trainCsv, 'utf8')), idColumn);
    fingerprints.set(key, fp);
  }
  return { bytes: model.length, trainBytes, scan: scanModel(model, fp) };
}
