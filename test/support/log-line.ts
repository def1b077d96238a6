/** Logs one info line through createLogging, with LOG_FORMAT from the environment (the auto-mode test runs it on a terminal and on a pipe). */
import { createLogging } from '../../src/log.ts';

const format = (process.env.LOG_FORMAT ?? 'auto') as 'auto' | 'json' | 'pretty';
const logging = await createLogging({ LOG_LEVEL: 'info', ENABLE_LOGGING: true, LOG_FORMAT: format, LOG_DIR: undefined, SENTRY_DSN: undefined }, { program: 'serve' });
logging.log.info({ videoId: 5 }, 'hello');
await logging.close();
