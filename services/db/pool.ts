import pg from 'pg';

export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

export function createPool(databaseUrl: string, max = 10): Db {
  // Idle connections are kept for a minute, two always: with pg's 10 s default, a burst after a
  // quiet spell paid a reconnect per connection, which alone raised the status endpoint's p99 at
  // 500 req/s from ~12 ms to ~40 ms (npm run bench, section 5).
  // TCP keepalive so a connection dropped by a NAT or firewall while idle is noticed.
  const pool = new pg.Pool({ connectionString: databaseUrl, max, min: Math.min(2, max), connectionTimeoutMillis: 5_000, idleTimeoutMillis: 60_000, keepAlive: true });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** Runs fn in one transaction on one client; rolls back on any error. */
export async function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
