/**
 * The `vcs` command: yargs wiring only (STYLE 1). Each command loads and validates the
 * configuration once, builds what it needs and hands over.
 */
import yargs, { type Argv } from 'yargs';
import { ConfigError, loadConfig, readEnvironment, type Env, type Settings } from './config.ts';
import { createLogger } from './log.ts';

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

export function buildCli(argv: string[], env: Env): Argv {
  return yargs(argv)
    .scriptName('vcs')
    .usage('$0 <command> [options]\n\nVideo compression service: pending videos in, self-checked HLS packages out.')
    .command(
      'transcode',
      'Encode one video into an HLS package (from options, or the VCS_* job environment)',
      (y) =>
        y
          .option('source', { type: 'string', describe: 'http(s) URL or local file of the upload' })
          .option('output', { type: 'string', describe: 'folder that receives master.m3u8, poster.jpg, high/ …' })
          .option('id', { type: 'number', describe: 'video id (wp_post_id), for logs and the manifest' })
          .option('work-dir', { type: 'string', describe: 'download and staging folder (default: beside --output)' })
          .option('result', { type: 'string', describe: 'also write the result JSON to this file' }),
      async (args) => {
        const settings = settingsOrExit(env);
        const { runTranscoder } = await import('../transcoder/main.ts');
        // Logs on stderr, the result JSON alone on stdout, so scripts can pipe it.
        const log = createLogger(settings, { name: 'transcoder', destination: 2 });
        process.exitCode = await runTranscoder(
          { source: args.source, output: args.output, id: args.id, workDir: args.workDir, result: args.result },
          settings,
          env,
          log,
          (text) => process.stdout.write(text),
        );
      },
    )
    .command('config', 'Check the configuration and print the effective settings (secrets hidden)', {}, () => {
      const settings = settingsOrExit(env);
      const shown = Object.fromEntries(
        Object.entries(settings).map(([k, v]) => [k, /KEY|DSN|SECRET|TOKEN/.test(k) && v !== undefined ? '[set]' : v]),
      );
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    })
    .demandCommand(1, 'Name a command; see vcs --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110));
}

export async function main(argv: string[]): Promise<void> {
  await buildCli(argv, readEnvironment()).parseAsync();
}
