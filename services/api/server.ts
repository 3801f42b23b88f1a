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
// A close that fails still ends the process, with its reason logged (not an unhandled rejection).
const onSignal = () =>
  void shutdown().catch((err: unknown) => {
    ctx.logger.error({ err }, 'shutdown failed');
    process.exit(1);
  });
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
