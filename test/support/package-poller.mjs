// A reader that polls a published package from a worker thread, in a tight loop, while the test's
// main thread publishes over it (test/transcoder/publish.test.ts). Synchronous reads on their own
// thread run truly concurrently with publishPackage's renames in libuv's pool.
//
// One observation: stat the folder, read every expected file, stat the folder again. When the
// folder is the same inode before and after, every read went through that one folder (a renamed-
// away folder never comes back during a publish), so what was read is exactly what that folder
// held: the observation is kept. When it changed, the observation straddled a swap and says
// nothing about the package: it is counted as "straddled". Kinds:
//   "absent"          no folder (between the two renames)
//   "whole <gen>"     every file there, all of generation <gen>
//   "mixed a,b"       every file there, of several generations
//   "missing <file>"  a file absent from a folder that stayed
//   "torn <file>"     a file of the wrong size or content in a folder that stayed
//   "straddled"       the folder changed during the observation
//
// workerData: { dir, files, size, control } — control is an Int32Array's SharedArrayBuffer:
// [0] set to 1 to stop, [1] the last whole generation seen (written by this worker).
// Posts [kind, count][] (consecutive repeats collapsed) when stopped.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const { dir, files, size, control } = workerData;
const flags = new Int32Array(control);

function folderId() {
  try {
    const s = statSync(dir);
    return `${s.dev}:${s.ino}`;
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

/** A file written by the test: "gen <n>\n" then the byte n repeated up to `size` bytes. */
function generationOf(buf) {
  const match = /^gen (\d+)\n/.exec(buf.subarray(0, 16).toString('latin1'));
  if (!match || buf.length !== size) return null;
  const gen = Number(match[1]);
  return buf.at(-1) === gen % 256 ? gen : null;
}

function observe() {
  const before = folderId();
  if (before === null) return 'absent';
  const gens = new Set();
  let problem = null;
  for (const file of files) {
    let buf;
    try {
      buf = readFileSync(path.join(dir, file));
    } catch (err) {
      if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') throw err;
      problem = `missing ${file}`;
      break;
    }
    const gen = generationOf(buf);
    if (gen === null) {
      problem = `torn ${file}`;
      break;
    }
    gens.add(gen);
  }
  if (folderId() !== before) return 'straddled';
  if (problem) return problem;
  if (gens.size > 1) return `mixed ${[...gens].join(',')}`;
  const [gen] = gens;
  Atomics.store(flags, 1, gen);
  return `whole ${gen}`;
}

const seen = [];
while (Atomics.load(flags, 0) === 0) {
  const kind = observe();
  const last = seen.at(-1);
  if (last && last[0] === kind) last[1] += 1;
  else seen.push([kind, 1]);
}
parentPort.postMessage(seen);
