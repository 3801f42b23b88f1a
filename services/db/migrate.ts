import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { type Db, withTransaction } from './pool.ts';

const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');
const LOCK_KEY = 7_351_112; // advisory lock id shared by every migrating process

/**
 * Applies migrations/NNN_name.sql in order, all pending ones in one transaction under an advisory
 * lock, recording each in a ledger. A shipped migration whose file changed is refused.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  return withTransaction(db, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: string; checksum: string }>('SELECT version, checksum FROM schema_migrations');
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));
    const done: string[] = [];
    for (const file of files) {
      const sql = await fs.readFile(path.join(dir, file), 'utf8');
      const checksum = crypto.createHash('sha256').update(sql).digest('hex');
      const known = applied.get(file);
      if (known !== undefined) {
        if (known !== checksum) throw new Error(`migration ${file} was edited after it was applied; add a new migration instead`);
        continue;
      }
      await client.query(sql);
      await client.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [file, checksum]);
      done.push(file);
    }
    return done;
  });
}
