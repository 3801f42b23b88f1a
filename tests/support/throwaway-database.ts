import crypto from 'node:crypto';
import pg from 'pg';

/**
 * A fresh, empty database on the shared Postgres server, dropped afterwards: suites that push
 * rubric versions or register webhooks must not leak them into other suites' assessments.
 */
export async function throwawayDatabase(baseUrl = process.env.DATABASE_URL ?? 'postgres://grader@127.0.0.1:55432/grader_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `grader_tmp_${crypto.randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
