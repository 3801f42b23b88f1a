import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { assessmentManifestSchema, type AssessmentManifest } from './assessment-schema.ts';
import { parseRubric, type Rubric } from '../rubrics/rubric-schema.ts';
import { NotFoundError } from '../errors.ts';

export interface Assessment {
  manifest: AssessmentManifest;
  dir: string;
}

/** The assessments shipped in the assessments/ folder, one sub-folder each, validated at load. */
export class AssessmentRegistry {
  private constructor(private readonly byId: Map<string, Assessment>) {}

  static load(root: string): AssessmentRegistry {
    const byId = new Map<string, Assessment>();
    for (const name of fs.readdirSync(root).sort()) {
      const file = path.join(root, name, 'assessment.json');
      if (!fs.existsSync(file)) continue;
      const parsed = assessmentManifestSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
      if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (parsed.data.id !== name) throw new Error(`${file}: id "${parsed.data.id}" must match its folder name "${name}"`);
      byId.set(name, { manifest: parsed.data, dir: path.join(root, name) });
    }
    return new AssessmentRegistry(byId);
  }

  list(): Assessment[] {
    return [...this.byId.values()];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Assessment {
    const a = this.byId.get(id);
    if (!a) throw new NotFoundError(`assessment "${id}"`);
    return a;
  }

  async defaultRubric(id: string): Promise<Rubric> {
    const a = this.get(id);
    return parseRubric(JSON.parse(await fsp.readFile(path.join(a.dir, a.manifest.rubric), 'utf8')));
  }

  async readDoc(id: string, which: 'brief' | 'dataDictionary'): Promise<string> {
    const a = this.get(id);
    return fsp.readFile(path.join(a.dir, a.manifest[which]), 'utf8');
  }
}
