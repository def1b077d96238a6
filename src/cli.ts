/**
 * The `vcs` command: yargs wiring only (conventions 1). Each command loads and validates the
 * configuration once, builds what it needs and hands over.
 */
import type { Argv } from 'yargs';
import type { TranscodeCommand } from '../transcoder/main.ts';
import type { MaintenanceArgs, MaintenanceCommand } from './roots/maintenance.ts';
import { ConfigError, loadConfig, printableSettings, readEnvironment, type Env, type Settings } from './config.ts';
import { JOB_ENV } from './contract.ts';
import { appendingFile, createLogger, createLogging, type Logger, type Logging } from './log.ts';
import { serviceCommands } from './roots/service-commands.ts';

function settingsOrExit(env: Env): Settings {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vcs: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/**
 * A long-running command: starts it, or logs why it could not start (exit 1); on SIGTERM/SIGINT
 * closes it once and exits 0; the logs are flushed before every exit.
 */
async function runDaemon(logging: Logging, what: string, start: () => Promise<{ close(): Promise<void> }>, stopping?: string): Promise<void> {
  const { log } = logging;
  let running: { close(): Promise<void> };
  try {
    running = await start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, `${what} could not start`);
    await logging.close();
    if (err instanceof ConfigError) {
      process.stderr.write(`vcs: ${err.message}\n`);
      process.exit(78); // EX_CONFIG, as for a bad setting
    }
    // Exit now: whatever started before the failure (a store, a cluster worker's IPC channel)
    // would keep a half-started process alive.
    process.exit(1);
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, stopping ?? 'shutting down');
    void running.close().then(async () => {
      log.info('stopped');
      await logging.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** `vcs transcode`: from options, or (none given) the job contract's environment. */
async function transcodeCommand(cmd: TranscodeCommand, env: Env): Promise<void> {
  const settings = settingsOrExit(env);
  const { runTranscoder } = await import('../transcoder/main.ts');
  // Logs on stderr, the result JSON alone on stdout, so scripts can pipe it; a run started by a
  // controller also keeps them in its own file on the volume (the dashboard shows it).
  const logPath = env[JOB_ENV.logPath];
  const logging = await createLogging(settings, { program: 'transcoder', role: 'child', fd: 2, name: 'transcoder', ...(logPath ? { copyTo: appendingFile(logPath) } : {}) });
  process.stdout.on('error', () => undefined); // a closed reader must not stop the cleanup
  process.exitCode = await runTranscoder(cmd, settings, env, logging.log, (text) => process.stdout.write(text));
  await logging.close();
}

/** The commands, on a yargs instance made by `yargs` (the package's default export). */
export function buildCli(yargs: (argv: string[]) => Argv, argv: string[], env: Env, version = 'unknown'): Argv {
  let transcodeHelp: Argv | undefined;
  return yargs(argv)
    .scriptName('vcs')
    .usage('$0 <command> [options]\n\nVideo compression service: pending videos in, self-checked HLS packages out.')
    .command(
      'transcode',
      'Encode one video into an HLS package (from options, or the VCS_* job environment)',
      (y) =>
        (transcodeHelp = y)
          .usage('$0 transcode --source <file or URL> --output <folder> [--id N]\n\nEncode one video into an HLS package. A run started by the service (or a Job) gets its job\nin the environment instead (VCS_JOB_NAME, VCS_SOURCE_URL, …) and takes no options.')
          .option('source', { type: 'string', describe: 'http(s) URL or local file of the upload' })
          .option('output', { type: 'string', describe: 'folder that receives master.m3u8, poster.jpg, high/ …' })
          .option('id', { type: 'number', describe: 'video id (wp_post_id), for logs and the manifest' })
          .option('work-dir', { type: 'string', describe: 'download and staging folder (default: beside --output)' })
          .option('result', { type: 'string', describe: 'also write the result JSON to this file' })
          .option('force', { type: 'boolean', default: false, describe: 'replace a package already published in --output' }),
      (args) => {
        if (args.source === undefined && args.output === undefined && !env[JOB_ENV.jobName]) {
          transcodeHelp?.showHelp((text) => process.stderr.write(`${text}\n\nvcs transcode: give --source and --output\n`));
          process.exitCode = 1;
          return;
        }
        return transcodeCommand({ source: args.source, output: args.output, id: args.id, workDir: args.workDir, result: args.result, force: args.force }, env);
      },
    )
    .command('serve', 'Run the whole service in one process: controller, local runner, API, health, HLS files; metrics on INTERNAL_PORT', {}, async () => {
      const settings = settingsOrExit(env);
      const logging = await createLogging(settings, { program: 'serve' });
      const { startService } = await import('./roots/serve.ts');
      await runDaemon(logging, 'service', () => startService(settings, env, logging.log, logging), 'shutting down: no new work; running encodes are stopped and will be run again at the next start');
    })
    .command('gateway', 'Run the HTTP side alone: API, health, HLS files; metrics on INTERNAL_PORT (the controller runs elsewhere)', {}, async () => {
      const settings = settingsOrExit(env);
      const { workerCount, isClusterPrimary } = await import('./gateway/workers.ts');
      const { startGateway, startGatewayPrimary } = await import('./roots/gateway.ts');
      const workers = workerCount(settings.GATEWAY_WORKERS);
      // A worker of several logs JSON on stdout; the primary routes its lines (src/log.ts).
      const logging = await createLogging(settings, { program: 'gateway', role: workers > 1 && !isClusterPrimary() ? 'child' : 'main' });
      if (workers <= 1) return runDaemon(logging, 'gateway', () => startGateway(settings, env, logging.log));
      if (isClusterPrimary()) return runDaemon(logging, 'gateway workers', () => startGatewayPrimary(settings, env, logging, workers));
      await runDaemon(logging, 'gateway', () => startGateway(settings, env, logging.log, { worker: true }));
    })
    .command('controller', 'Run the controller alone (RUNNER=kubernetes): one Job per video, leader-elected; /healthz, /metrics and progress on INTERNAL_PORT', {}, async () => {
      const settings = settingsOrExit(env);
      const logging = await createLogging(settings, { program: 'controller' });
      const { startController } = await import('./roots/controller.ts');
      // Losing the lease stops everything at once; the Deployment starts a fresh standby.
      // At once, even before the log files are closed: a second leader may already be acting.
      const onLeadershipLost = () => {
        logging.log.flush();
        process.exit(1);
      };
      await runDaemon(logging, 'controller', () => startController(settings, env, logging.log, { onLeadershipLost, reporter: logging.reporter }));
    })
    .command('appwrite', 'The Appwrite store (STORE=appwrite)', (y) =>
      y
        .command('setup', 'Create the database, table, columns and indexes the Appwrite store needs; idempotent (prints what it created and what existed)', {}, async () => {
          const settings = settingsOrExit(env);
          const { runAppwriteSetup } = await import('./jobs/appwrite/setup.ts');
          process.exitCode = await runAppwriteSetup(settings, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
        })
        .demandCommand(1, 'Name a subcommand: setup'),
    )
    .command('apikey', 'API keys', (y) =>
      y
        .command('generate', 'Print a new 64-character API key and its SHA-256 hash (for API_KEY_HASHES)', {}, async () => {
          const { generateApiKey } = await import('./gateway/auth.ts');
          const { key, hash } = generateApiKey();
          process.stdout.write(`API key (give it to the client, store it nowhere else):\n  ${key}\nSHA-256 hash (add to API_KEY_HASHES):\n  ${hash}\n`);
        })
        .demandCommand(1, 'Name a subcommand: generate'),
    )
    .command(serviceCommands({ settings: () => settingsOrExit(env), cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr }))
    .command('cleanup', 'Run a scheduled cleanup now (prints what it did as JSON)', (y) => {
      const cleanup = (what: 'temp' | 'old' | 'stuck') => async (args: { dryRun: boolean }) => {
        const settings = settingsOrExit(env);
        const { openStore } = await import('./roots/wiring.ts');
        const { runCleanup } = await import('./roots/cleanup.ts');
        const log = createLogger(settings, { destination: 2 });
        const store = await openStore(settings);
        try {
          process.stdout.write(`${JSON.stringify(await runCleanup(what, settings, store, log, args.dryRun), null, 2)}\n`);
        } catch (err) {
          process.stderr.write(`vcs cleanup ${what}: ${(err as Error).message}\n`);
          process.exitCode = 1;
        } finally {
          await store.close();
        }
      };
      const dryRun = { 'dry-run': { type: 'boolean' as const, default: false, describe: 'print what would be done, change nothing' } };
      return y
        .command('temp', 'Remove stale work files (unchanged for CLEANUP_TEMP_AFTER)', dryRun, cleanup('temp'))
        .command('old', 'Delete completed videos older than DELETE_OLD_VIDEOS_AFTER days, except those watched within KEEP_WATCHED_VIDEOS_DAYS (files removed, documents marked deleted)', dryRun, cleanup('old'))
        .command('stuck', 'List runs past PROCESSING_TIMEOUT and ask the controller to fail them now', dryRun, cleanup('stuck'))
        .demandCommand(1, 'Name a subcommand: temp, old or stuck');
    })
    .command('maintenance', 'Passes over the published packages: JSON summary on stdout, progress on stderr; exit 0 all well, 1 problems found, 2 usage error', (y) => {
      const maintenance = (what: MaintenanceCommand) => async (args: Partial<MaintenanceArgs>) => {
        const settings = settingsOrExit(env);
        const { openStore } = await import('./roots/wiring.ts');
        const { runMaintenance } = await import('./roots/maintenance.ts');
        const log = createLogger(settings, { destination: 2 });
        // Ctrl-C or SIGTERM stops between two videos; the journals let the next run resume.
        const stop = new AbortController();
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
        const store = await openStore(settings);
        try {
          const { summary, exitCode } = await runMaintenance(what, { dryRun: false, deep: false, mark: false, removeOld: false, status: 'completed', rate: '60/h', ...args }, { settings, store, log, signal: stop.signal });
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          process.exitCode = exitCode;
        } catch (err) {
          process.stderr.write(`vcs maintenance ${what}: ${(err as Error).message}\n`);
          process.exitCode = (err as { code?: string }).code === 'VCS_ERR_BAD_REQUEST' ? 2 : 1;
        } finally {
          await store.close();
          log.flush();
        }
      };
      const id = { type: 'number', describe: 'only this video (wp_post_id)' } as const;
      const dryRun = { type: 'boolean', default: false, describe: 'print what would be done, change nothing' } as const;
      return y
        .command('rebuild-masters', 'Rewrite each published master.m3u8 from its package on disk (measured bit rates, codecs), without re-encoding', { id, 'dry-run': dryRun }, maintenance('rebuild-masters'))
        .command(
          'verify',
          'Check every published package (playlists, segments, keyframes, coverage); name the broken ones',
          {
            id,
            deep: { type: 'boolean', default: false, describe: 'also decode every segment with FFmpeg' },
            mark: { type: 'boolean', default: false, describe: 'queue broken videos for re-compression' },
          },
          maintenance('verify'),
        )
        .command(
          'migrate-storage',
          'Copy every package to a new storage root (checksummed), switch the URLs after each one verified; resumable (a journal in the target)',
          {
            to: { type: 'string', demandOption: true, describe: 'the new storage root for packages (the next HLS_PATH)' },
            'public-url': { type: 'string', describe: 'the new URL base (as PUBLIC_URL); the documents switch to it package by package' },
            'remove-old': { type: 'boolean', default: false, describe: 'remove each old copy once its document points at the new one (needs --public-url)' },
            'dry-run': dryRun,
          },
          maintenance('migrate-storage'),
        )
        .command(
          'recompress-all',
          'Queue videos again at a bounded rate, only while the queue is short (a new ladder rolls out without starving uploads); resumable',
          {
            status: { choices: ['completed', 'failed'] as const, default: 'completed' as const, describe: 'which videos to queue again' },
            rate: { type: 'string', default: '60/h', describe: 'at most this many videos queued in any hour' },
            'max-pending': { type: 'number', describe: 'queue only while fewer videos than this are pending (default: MAX_CONCURRENT_JOBS)' },
            rollout: { type: 'string', describe: 'name of the rollout whose journal says what is done (default: from the ladder settings)' },
            'dry-run': dryRun,
          },
          maintenance('recompress-all'),
        )
        .demandCommand(1, 'Name a subcommand: rebuild-masters, verify, migrate-storage or recompress-all')
        .fail((message, err) => {
          if (err) throw err;
          process.stderr.write(`vcs maintenance: ${message} (see vcs maintenance --help)\n`);
          process.exit(2);
        });
    })
    .command(
      'config',
      'Check the configuration and print the effective settings (secrets hidden)',
      (y) => y.option('example', { type: 'boolean', describe: 'print a .env.example with every setting, its default and what it does' }),
      async (args) => {
        if (args.example) {
          const { renderEnvExample } = await import('./reference.ts');
          return void process.stdout.write(renderEnvExample());
        }
        const settings = settingsOrExit(env);
        process.stdout.write(`${JSON.stringify(printableSettings(settings), null, 2)}\n`);
      },
    )
    .demandCommand(1, 'Name a command; see vcs --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(version)
    .wrap(Math.min(110, process.stdout.columns || 110));
}

export async function main(argv: string[]): Promise<void> {
  // A transcoder run — a local child or a Job pod — is `vcs transcode` with its job in the
  // environment: it needs no argument parser (loading yargs alone takes ~150 ms, most of the time
  // from a video being started to its transcoder running), and it reads no .env: its settings are
  // exactly what its runner passed, never what a .env in the service's folder holds (secrets).
  const jobEnv = readEnvironment({ dotenv: false });
  if (argv.length === 1 && argv[0] === 'transcode' && jobEnv[JOB_ENV.jobName]) return transcodeCommand({}, jobEnv);
  const { default: yargs } = await import('yargs');
  const { packageVersion } = await import('./roots/package-info.ts');
  await buildCli(yargs, argv, readEnvironment(), await packageVersion()).parseAsync();
}
