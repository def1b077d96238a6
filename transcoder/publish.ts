/**
 * Atomic publication (docs/adr/0004): the package is complete and checked in a staging folder on the
 * same filesystem, then swapped in with two renames. A player sees the old package or the new one,
 * never a mix; between the two renames (microseconds) the folder is briefly absent and a request
 * answers 404, which players retry. A re-compression keeps the old package until the new one is
 * whole.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { vcsError } from '../src/errors.ts';

export async function publishPackage(staging: string, output: string, retiredDir: string): Promise<void> {
  await mkdir(path.dirname(output), { recursive: true });
  const retired = path.join(retiredDir, `retired-${path.basename(output)}-${process.pid}-${Date.now()}`);
  let hadOld = true;
  try {
    await rename(output, retired);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') hadOld = false;
    else throw publishError(err, output);
  }
  try {
    await rename(staging, output);
  } catch (err) {
    if (hadOld) await rename(retired, output).catch(() => undefined);
    throw publishError(err, output);
  }
  if (hadOld) await rm(retired, { recursive: true, force: true });
}

function publishError(err: unknown, output: string) {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EXDEV') {
    return vcsError('VCS_ERR_PUBLISH_FAILED', `cannot publish to ${output}: the work folder (TEMP_PATH) and HLS_PATH must be on the same filesystem`, err);
  }
  return vcsError('VCS_ERR_PUBLISH_FAILED', `cannot publish to ${output}: ${code ?? (err as Error).message}`, err);
}
