import { loadConfig } from '../config.ts';
import { createPool } from './pool.ts';
import { migrate } from './migrate.ts';

const config = loadConfig();
const db = createPool(config.DATABASE_URL, 1);
try {
  const applied = await migrate(db);
  console.error(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
} finally {
  await db.end();
}
