/** One wrk run and the numbers bench/gateway reports from it. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx answers plus socket errors: a run with any is not a fair measurement. */
  errors: number;
}

const MS_PER_UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(text: string, percentile: string): number {
  const m = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) * MS_PER_UNIT[m[2]!]! : NaN;
}

export async function wrk(bin: string, url: string, o: { threads: number; connections: number; seconds: number }): Promise<WrkResult> {
  // --timeout 10s: with wrk's 2-s default, a 4-MB segment queued behind 99 others on a busy
  // machine counts as an error and drops out of the latency figures instead of raising p99.
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '10s', '--latency', url];
  const { stdout } = await run(bin, args, { maxBuffer: 1 << 20 });
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout);
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${stdout}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  // Read errors at the end of a run are wrk closing its own connections mid-transfer; count the rest.
  const socketErrors = socket ? Number(socket[1]) + Number(socket[3]) + Number(socket[4]) : 0;
  return { requestsPerSec: Number(rps[1]), p50Ms: latencyMs(stdout, '50'), p99Ms: latencyMs(stdout, '99'), errors: non2xx + socketErrors };
}
