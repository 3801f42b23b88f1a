import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../services/config.ts';
import { createContext } from '../services/context.ts';
import { migrate } from '../services/db/migrate.ts';
import { SimilarityRepository } from '../services/similarity/similarity-repository.ts';
import { SimilarityService } from '../services/similarity/similarity-service.ts';

const USAGE = `usage: npm run similarity -- <assessment-id> [--reference NAME=FILE.py ...] [--rebuild]
  --reference  add a reference solution (a known public or leaked answer) to the assessment's corpus
  --rebuild    compare every submission of the assessment again, in arrival order (after the rules changed)`;

const argsSchema = z.object({
  assessment: z.string().min(1),
  references: z.array(z.string().regex(/^[^=]+=.+$/, 'a reference is NAME=FILE')).default([]),
  rebuild: z.boolean().default(false),
});

/** Adds reference solutions and/or rebuilds the similarity index of one assessment. */
async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { reference: { type: 'string', multiple: true }, rebuild: { type: 'boolean' } } });
  const parsed = argsSchema.safeParse({ assessment: positionals[0], references: values.reference, rebuild: values.rebuild });
  if (!parsed.success || (!parsed.data.rebuild && parsed.data.references.length === 0)) {
    console.error(parsed.success ? USAGE : `${parsed.error.issues.map((i) => i.message).join('; ')}\n${USAGE}`);
    return 2;
  }
  const { assessment, references, rebuild } = parsed.data;
  const ctx = createContext(loadConfig(), 'similarity');
  try {
    await migrate(ctx.db);
    const service = new SimilarityService({ ...ctx, similarity: new SimilarityRepository(ctx.db) });
    for (const ref of references) {
      const [name, file] = [ref.slice(0, ref.indexOf('=')), ref.slice(ref.indexOf('=') + 1)];
      const outcome = await service.addReference(assessment, name, [{ name: path.basename(file), text: await fs.readFile(file, 'utf8') }]);
      console.error(`reference "${name}": compared with ${outcome.compared} submissions, ${outcome.stored} pairs above the floor`);
    }
    if (rebuild) {
      const { done, failed } = await service.rebuild(assessment, (id, r) => {
        if (r instanceof Error) console.error(`${id}: ${r.message}`);
      });
      console.error(`rebuilt ${assessment}: ${done} submissions compared, ${failed} failed`);
      return failed ? 1 : 0;
    }
    return 0;
  } finally {
    await ctx.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
