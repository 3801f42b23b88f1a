import { loadConfig } from '../config.ts';
import { assertNoEviction, createContext } from '../context.ts';
import { migrate } from '../db/migrate.ts';
import { buildApp } from './app.ts';

const config = loadConfig();
const ctx = createContext(config, 'api');
if (config.REQUIRE_NOEVICTION) await assertNoEviction(ctx.redis);
await migrate(ctx.db);
const app = await buildApp(ctx);
await app.listen({ host: config.HOST, port: config.PORT });

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  await app.close();
  await ctx.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
