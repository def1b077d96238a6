/**
 * The container image (docs/container-image.md, docs/adr/0019), built for real from the
 * Dockerfile with podman and run with buildah, with no registry: the base image is made from
 * Debian packages when the local store lacks it (scripts/base-image.sh). One build serves every
 * check. Inside the image, as its own user: `vcs --help`, `vcs transcode` of a generated clip on
 * the volume (the package read back and checked here), the entrypoint as PID 1 of its own PID
 * namespace stopped by SIGTERM, orphans reaped, and nothing written outside the volume and /tmp.
 * What needs a container engine with cgroups (HEALTHCHECK scheduling, a read-only root, limits)
 * is checked in the image's configuration instead, and the healthcheck's command is run by hand.
 * Needs root, podman, buildah and debootstrap (scripts/install.sh). Removes what it built.
 */
import { spawnSync } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from './support/media.ts';
import { assertPackage, keyframeTimes } from './support/package-asserts.ts';
import { servicePorts } from './support/service.ts';
import { ROOT } from './support/vcs.ts';

const test = suite('container image');
const IMAGE = 'localhost/vcs-image-test:latest';
/** The build stage, tagged too, so teardown (and the next run, after a crash) can remove it by name. */
const BUILD_STAGE = 'localhost/vcs-image-test-build:latest';
const BASE = 'docker.io/library/debian:trixie-slim';
const VOLUME = '/var/www/video-compression/storage';
const SOURCE_URL = 'https://example.com/video-compression-service.git';
/** The image's user (TRANSCODER_RUN_AS_USER's default). */
const UID = 10001;
/**
 * The host's CA folder, mounted on /mnt for the build's npm (docs/container-image.md): HTTPS from
 * a build on the test machines meets a re-signing proxy, as it does behind a corporate one.
 */
const HOST_CA_DIR = '/etc/ssl/certs';

let tmp = '';
let volume = '';
let container = '';
/** The images in the store when the build began (null before): what teardown must leave. */
let imagesBefore: Set<string> | null = null;
let config: ImageConfig | null = null;

interface ImageConfig {
  Size: number;
  Config: { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; Labels: Record<string, string>; Volumes: Record<string, object>; ExposedPorts: Record<string, object> };
  Healthcheck: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number } | null;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 120_000): Run {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${cmd} is not installed (bash scripts/install.sh installs podman, buildah and debootstrap)`);
  return { code: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

function ok(r: Run, what: string): Run {
  assert.is(r.code, 0, `${what} failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
  return r;
}

const imageIds = (): Set<string> => new Set(ok(run('podman', ['images', '--all', '--quiet', '--no-trunc']), 'podman images').stdout.split('\n').filter(Boolean));

/** `buildah run` in the test's container: chroot isolation and the host network (no cgroups here). */
function inImage(args: string[], opts: { root?: boolean; volume?: boolean; env?: Record<string, string>; timeoutMs?: number } = {}): Run {
  const flags = ['--isolation', 'chroot', '--network', 'host'];
  if (opts.root) flags.push('--user', '0:0', '--cap-add', 'CAP_SYS_ADMIN');
  if (opts.volume !== false) flags.push('-v', `${volume}:${VOLUME}`);
  for (const [k, v] of Object.entries(opts.env ?? {})) flags.push('--env', `${k}=${v}`);
  return run('buildah', ['run', ...flags, container, '--', ...args], opts.timeoutMs);
}

/**
 * Runs `command` as PID 1 of a new PID namespace, as the image's user without capabilities: what a
 * container engine does, which chroot isolation does not (its processes share the host's PID
 * namespace). The outer shell is root only to create the namespace.
 */
function asPid1(command: string[]): string[] {
  return ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', ...asImageUser(command)];
}

function asImageUser(command: string[]): string[] {
  return ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--', ...command];
}

/** Lines a script inside the image prints for the test, "image-test: <key> <value>". */
function reported(output: string, key: string): string {
  const line = output.split('\n').find((l) => l.startsWith(`image-test: ${key} `));
  assert.ok(line, `the script reported "${key}":\n${output.slice(-3000)}`);
  return line.slice(`image-test: ${key} `.length);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

/**
 * Removes the test's container and its two tagged images (with their untagged layers), then, once
 * the build has started, any untagged image made since (the layers of a build that failed).
 */
function removeBuilt(): void {
  for (const c of run('buildah', ['containers', '--quiet', '--filter', `ancestor=${IMAGE}`]).stdout.split('\n').filter(Boolean)) run('buildah', ['rm', c]);
  if (container) run('buildah', ['rm', container]);
  container = '';
  run('podman', ['rmi', '--force', IMAGE, BUILD_STAGE]);
  const before = imagesBefore;
  if (!before) return;
  const images = JSON.parse(run('podman', ['images', '--all', '--format', 'json']).stdout || '[]') as { Id: string; Names?: string[] }[];
  const ours = images.filter((i) => !before.has(i.Id) && !i.Names?.length).map((i) => i.Id);
  if (ours.length) run('podman', ['rmi', '--force', ...ours]);
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-image-'));
  volume = path.join(tmp, 'storage');
  await mkdir(volume);
  await chown(volume, UID, UID);
});

test.after(async () => {
  removeBuilt();
  await rm(tmp, { recursive: true, force: true });
});

test('the base image is made when missing, and the Dockerfile builds', async () => {
  assert.is(process.getuid?.(), 0, 'podman builds and buildah runs need root here (run the tests as root)');
  removeBuilt(); // what an interrupted run left under the test's names
  let t0 = Date.now();
  const hadBase = run('podman', ['image', 'exists', BASE]).code === 0;
  ok(run('bash', [path.join(ROOT, 'scripts/base-image.sh')], 300_000), 'scripts/base-image.sh');
  console.log(`  base image ${BASE}: ${hadBase ? 'present' : `made in ${((Date.now() - t0) / 1000).toFixed(0)} s`}`);
  imagesBefore = imageIds();

  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const common = ['--isolation', 'chroot', '--network', 'host', '--pull=never', '--format', 'docker', '--force-rm', '-f', path.join(ROOT, 'Dockerfile')];
  const ca = ['-v', `${HOST_CA_DIR}:/mnt:ro`, '--build-arg', 'NODE_EXTRA_CA_CERTS=/mnt/ca-certificates.crt'];
  const args = ['--build-arg', `VERSION=${pkg.version}`, '--build-arg', `SOURCE_URL=${SOURCE_URL}`];
  t0 = Date.now();
  // --jobs 2: the build stage (npm ci, tsc) and the runtime's packages are made side by side.
  ok(run('podman', ['build', ...common, ...ca, ...args, '--jobs', '2', '-t', IMAGE, ROOT], 900_000), 'podman build');
  const built = (Date.now() - t0) / 1000;
  // Every layer of this one comes from the cache of the build above: it only names the stage.
  ok(run('podman', ['build', ...common, ...ca, '--target', 'build', '-t', BUILD_STAGE, ROOT], 120_000), 'podman build --target build');

  config = (JSON.parse(ok(run('podman', ['image', 'inspect', IMAGE]), 'podman image inspect').stdout) as ImageConfig[])[0]!;
  const base = (JSON.parse(run('podman', ['image', 'inspect', BASE]).stdout) as ImageConfig[])[0]!;
  console.log(`  built in ${built.toFixed(0)} s; image ${mb(config.Size)} (base ${mb(base.Size)})`);
  container = ok(run('buildah', ['from', '--pull-never', IMAGE]), 'buildah from').stdout.trim().split('\n').at(-1)!;
  // The reference point of the last check: everything written from here on.
  ok(inImage(['touch', '/tmp/image-test.marker'], { volume: false }), 'marker');
});

test('its configuration: non-root user, tini entrypoint, serve, volume, port, healthcheck, OCI labels', async () => {
  assert.ok(config, 'the image was built');
  const c = config.Config;
  assert.is(c.User, `${UID}:${UID}`);
  assert.equal(c.Entrypoint, ['/usr/bin/tini', '--', 'vcs']);
  assert.equal(c.Cmd, ['serve']);
  assert.equal(Object.keys(c.Volumes), [VOLUME]);
  assert.equal(Object.keys(c.ExposedPorts), ['3000/tcp']);
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
  assert.is(c.Labels['org.opencontainers.image.version'], pkg.version);
  assert.is(c.Labels['org.opencontainers.image.licenses'], pkg.license);
  assert.is(c.Labels['org.opencontainers.image.source'], SOURCE_URL);
  assert.is(c.Labels['org.opencontainers.image.title'], 'vcs');
  assert.match(c.Labels['org.opencontainers.image.description'] ?? '', /serve, gateway, controller and transcode/);
  // Kept only in the docker image format (podman build --format docker); the OCI format drops it.
  assert.ok(config.Healthcheck, 'HEALTHCHECK kept');
  assert.equal(config.Healthcheck.Test.slice(0, 3), ['CMD', 'node', '-e']);
  assert.match(config.Healthcheck.Test[3]!, '/health/live');
  assert.equal([config.Healthcheck.Interval, config.Healthcheck.Timeout, config.Healthcheck.StartPeriod, config.Healthcheck.Retries], [30e9, 5e9, 20e9, 3]);
  // buildah's view of the same image (what `buildah run` would not apply by itself).
  const oci = (JSON.parse(ok(run('buildah', ['inspect', '--type', 'image', IMAGE]), 'buildah inspect').stdout) as { OCIv1: { config: { Entrypoint: string[]; Cmd: string[] } } }).OCIv1.config;
  assert.equal([oci.Entrypoint, oci.Cmd], [c.Entrypoint, c.Cmd]);
});

test('inside, as its own user: uid 10001, Node 20, FFmpeg with libx264, vcs on PATH, no compilers, no apt lists, nothing left by the build', () => {
  assert.ok(container, 'the image was built');
  const script = [
    'echo "image-test: uid $(id -u) $(id -g)"',
    'echo "image-test: node $(node -v)"',
    'echo "image-test: ffmpeg $(ffmpeg -hide_banner -version | head -n1 | cut -d" " -f3)"',
    'echo "image-test: libx264 $(ffmpeg -hide_banner -encoders 2>/dev/null | grep -c libx264)"',
    'echo "image-test: vcs $(command -v vcs) -> $(readlink -f "$(command -v vcs)")"',
    'echo "image-test: compilers $(for t in cc gcc g++ c++ make python3 npm; do command -v $t; done | wc -l)"',
    'echo "image-test: apt-files $(find /var/lib/apt/lists /var/cache/apt -type f | wc -l)"',
    'echo "image-test: mnt $(ls -A /mnt | wc -l)"',
  ].join('\n');
  const r = ok(inImage(['sh', '-c', script]), 'the checks inside');
  assert.is(reported(r.stdout, 'uid'), `${UID} ${UID}`, 'the image runs as uid/gid 10001, not root');
  assert.match(reported(r.stdout, 'node'), /^v20\./);
  assert.ok(Number(reported(r.stdout, 'ffmpeg').split('.')[0]) >= 5, reported(r.stdout, 'ffmpeg'));
  assert.is(reported(r.stdout, 'libx264'), '2', 'libx264 and libx264rgb encoders');
  assert.is(reported(r.stdout, 'vcs'), '/usr/local/bin/vcs -> /app/dist/bin/vcs.js');
  assert.is(reported(r.stdout, 'compilers'), '0', 'no compiler, make, python or npm in the runtime');
  assert.is(reported(r.stdout, 'apt-files'), '0', 'no package lists or caches');
  assert.is(reported(r.stdout, 'mnt'), '0', 'the build mounted the CA folder on /mnt and left nothing there');
  const help = ok(inImage(['vcs', '--help']), 'vcs --help');
  for (const command of ['serve', 'gateway', 'controller', 'transcode', 'enqueue']) assert.match(help.stdout, `vcs ${command}`);
});

test('vcs transcode in the image: a clip on the volume becomes a checked HLS package there', async () => {
  assert.ok(container, 'the image was built');
  await makeClip(path.join(volume, 'clip.mp4'), { width: 854, height: 480, seconds: 4, audio: 2 });
  const r = inImage(['vcs', 'transcode', '--source', `${VOLUME}/clip.mp4`, '--output', `${VOLUME}/hls/7`, '--id', '7'], { env: { VIDEO_PRESET: 'veryfast' } });
  assert.is(r.code, 0, r.stderr.slice(-3000));
  assert.is(JSON.parse(r.stdout.trim().split('\n').at(-1)!).ok, true);
  const out = path.join(volume, 'hls', '7');
  const pkg = await assertPackage(out, {
    renditions: [{ name: 'high', width: 854, height: 480 }, { name: 'low', width: 640, height: 360 }],
    audio: true,
    frameRate: 30,
    sourceSeconds: 4,
    poster: { width: 854, height: 480 },
  });
  const segments = pkg.renditions[0]!.segments.map((s) => s.uri);
  const [high, low] = await Promise.all(['high', 'low'].map((r) => keyframeTimes(out, r, segments)));
  for (const t of [0, 2]) assert.ok(high!.includes(t), `keyframe at ${t} s (got ${high})`);
  assert.equal(low, high, 'low keyframes at the same times as high');
  assert.equal((await readdir(path.join(volume, 'hls'))).filter((n) => n.startsWith('.')), [], 'no work or staging folder left');
  assert.is((await stat(path.join(out, 'master.m3u8'))).uid, UID, 'written as the image user');
});

test('the entrypoint as PID 1: tini -- vcs serve answers its healthcheck and /health, and stops cleanly on SIGTERM', async () => {
  assert.ok(config && container, 'the image was built');
  const ports = await servicePorts();
  // Started in the background, the healthcheck's own command until it passes, /health, SIGTERM.
  const script = `
    set -u
    "$@" &
    outer=$!
    pid1=""; i=0
    while [ -z "$pid1" ] && [ "$i" -lt 50 ]; do pid1=$(cat /proc/$outer/task/$outer/children 2>/dev/null | tr -d ' '); i=$((i + 1)); sleep 0.1; done
    i=0
    until ${asImageUser(['node', '-e', '"$HEALTHCHECK_JS"']).join(' ')}; do
      i=$((i + 1)); [ "$i" -lt 150 ] || break; sleep 0.2
    done
    echo "image-test: healthcheck $([ "$i" -lt 150 ] && echo passed || echo failing) after $i retries"
    echo "image-test: pid1 $(grep -E '^(Name|Uid|NSpid|CapEff)' /proc/$pid1/status | tr '\\t\\n' '  ')"
    node -e "fetch('http://127.0.0.1:$PORT/health').then(async (r) => console.log('image-test: health ' + r.status + ' ' + (await r.text())))"
    kill -TERM "$pid1"
    wait "$outer"
    echo "image-test: exit $?"`;
  const command = [...config.Config.Entrypoint, ...config.Config.Cmd];
  const r = inImage(['sh', '-c', script, 'sh', ...asPid1(command)], {
    root: true,
    env: { ...ports, HEALTHCHECK_JS: config.Healthcheck!.Test[3]! },
  });
  assert.is(r.code, 0, r.stderr.slice(-3000));
  assert.match(reported(r.stdout, 'healthcheck'), /^passed/);
  const pid1 = reported(r.stdout, 'pid1');
  assert.match(pid1, /Name: tini /);
  assert.match(pid1, new RegExp(`Uid: ${UID} ${UID} ${UID} ${UID} `));
  assert.match(pid1, /NSpid: \d+ 1 /, 'tini is PID 1 of its namespace');
  assert.match(pid1, /CapEff: 0000000000000000/);
  const [status, body] = reported(r.stdout, 'health').split(/ (.*)/s);
  const health = JSON.parse(body!);
  assert.is(status, '200', body);
  assert.equal([health.status, health.ffmpeg.available, health.store.connected], ['healthy', true, true]);
  const logs = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; signal?: string });
  assert.ok(logs.some((l) => l.msg === 'service started'), r.stdout.slice(-2000));
  assert.ok(logs.some((l) => l.signal === 'SIGTERM'), 'vcs received the SIGTERM tini forwarded');
  assert.is(logs.at(-1)?.msg, 'stopped');
  assert.is(reported(r.stdout, 'exit'), '0', 'tini exits with vcs serve’s 0');
  assert.is((await stat(path.join(volume, 'vcs.sqlite'))).uid, UID, 'the store on the volume');
});

test('tini reaps orphans as PID 1 (node in its place leaves them as zombies)', async () => {
  assert.ok(config && container, 'the image was built');
  // A background child whose parent exits is handed to PID 1; only PID 1 can collect its exit.
  const orphan = `
    (sleep 0.5 & echo $! >/tmp/image-test.orphan)
    orphan=$(cat /tmp/image-test.orphan)
    sleep 0.2
    echo "image-test: parent $(sed -n 's/^PPid:[[:space:]]*//p' /proc/$orphan/status)"
    sleep 1
    echo "image-test: zombies $(grep -l '^State:[[:space:]]*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"`;
  const tini = inImage(asPid1([config.Config.Entrypoint[0]!, '--', 'sh', '-c', orphan]), { root: true });
  assert.is(tini.code, 0, tini.stderr);
  assert.is(reported(tini.stdout, 'parent'), '1');
  assert.is(reported(tini.stdout, 'zombies'), '0');
  const node = inImage(asPid1(['node', '-e', `require('node:child_process').spawnSync('sh', ['-c', process.argv[1]], { stdio: 'inherit' })`, orphan]), { root: true });
  assert.is(node.code, 0, node.stderr);
  assert.is(reported(node.stdout, 'zombies'), '1', 'the check can see a zombie');
});

test('the user owns the volume folder only, and nothing was written outside the volume and /tmp', () => {
  assert.ok(container, 'the image was built');
  // Without the test's volume: the image's own folder (a bind mount is another filesystem for -xdev).
  const owned = ok(inImage(['find', '/', '-xdev', '-path', '/tmp', '-prune', '-o', '(', '-user', String(UID), '-o', '-group', String(UID), ')', '-print'], { root: true, volume: false }), 'find owned');
  assert.equal(owned.stdout.split('\n').filter(Boolean), [VOLUME]);
  // buildah rewrites these on every run (a container engine mounts its own), as it does /run's entry for .containerenv.
  const runtimeFiles = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/run', '/run/.containerenv'];
  const r = ok(inImage(['find', '/', '-xdev', '(', '-path', '/proc', '-o', '-path', '/sys', '-o', '-path', '/dev', '-o', '-path', '/tmp', '-o', '-path', VOLUME, ')', '-prune', '-o', '-newer', '/tmp/image-test.marker', '-print'], { root: true }), 'find');
  const written = r.stdout.split('\n').filter((f) => f && !runtimeFiles.includes(f));
  assert.equal(written, [], 'files changed outside the volume and /tmp');
});

test('the image size', () => {
  assert.ok(config, 'the image was built');
  // One image for every role, FFmpeg's libraries most of it (docs/adr/0019): 739 MB when measured.
  // A bound that catches a compiler, the dev dependencies or apt's lists slipping in.
  assert.ok(config.Size < 800e6, `image ${mb(config.Size)}`);
});

test.run();
