/**
 * The single-server deployment files (deploy/): the systemd unit passes `systemd-analyze verify`
 * and rates OK in `systemd-analyze security`, and the nginx example — run by the real nginx in
 * front of a real `vcs serve` — serves segments and posters from the disk with the gateway's own
 * headers, sends playlists, the API and health to the gateway, and serves nothing hidden.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import { freePort, servicePorts, startServe, waitFor } from '../support/service.ts';
import { ROOT } from '../support/vcs.ts';

const UNIT = path.join(ROOT, 'deploy/systemd/video-compression.service');
const NGINX = path.join(ROOT, 'deploy/nginx/video-compression.conf');
const DEFAULTS = loadConfig({});

test('a LICENSE file matching package.json', async () => {
  const license = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).license;
  assert.is(license, 'MIT');
  assert.match(await readFile(path.join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n/);
});

test('the systemd unit verifies, restarts on failure but not on a bad setting, and its sandbox rates OK', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-unit-'));
  try {
    const text = await readFile(UNIT, 'utf8');
    assert.match(text, /^ExecStart=\/usr\/bin\/node \/opt\/video-compression\/dist\/bin\/vcs\.js serve$/m);
    assert.match(text, /^RestartPreventExitStatus=78$/m);
    const writable = /^ReadWritePaths=(.+)$/m.exec(text)?.[1];
    assert.ok(writable && DEFAULTS.STORAGE_PATH.startsWith(`${writable}/`), `ReadWritePaths=${writable} holds the default STORAGE_PATH (${DEFAULTS.STORAGE_PATH})`);
    // verify checks that ExecStart exists and the user resolves: this machine's node, root.
    const unit = path.join(dir, 'video-compression.service');
    await writeFile(unit, text.replace('/usr/bin/node', process.execPath).replace(/^User=vcs$/m, 'User=root').replace(/^Group=vcs$/m, 'Group=root'));
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.is(verify.status, 0, verify.stderr);
    assert.is(verify.stderr.trim(), '', 'no warnings');
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const score = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(security.stdout);
    assert.ok(score, security.stdout + security.stderr);
    assert.ok(Number(score[1]) <= 2.5, `exposure ${score[1]} ${score[2]}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('nginx in front of vcs serve: segments and posters from the disk with the gateway’s headers, the rest through the gateway', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-nginx-'));
  const storage = path.join(dir, 'storage');
  const hls = path.join(storage, 'hls');
  const ports = await servicePorts();
  const serve = await startServe({ ...ports, STORAGE_PATH: storage, TEMP_PATH: path.join(dir, 'tmp'), BIND_ADDRESS: '127.0.0.1', TRUST_PROXY: 'true' });
  const nginxPort = await freePort();
  const prefix = path.join(dir, 'nginx');
  let nginx: ReturnType<typeof spawn> | undefined;
  try {
    // A package as the transcoder leaves it (the gateway serves files; no store record needed).
    await mkdir(path.join(hls, '7', 'high'), { recursive: true });
    await mkdir(path.join(hls, '.vcs-work-x'), { recursive: true });
    const segment = Buffer.alloc(188 * 50, 0x47);
    await writeFile(path.join(hls, '7', 'high', 'segment000.ts'), segment);
    await writeFile(path.join(hls, '7', 'poster.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    await writeFile(path.join(hls, '7', 'master.m3u8'), '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nhigh/playlist.m3u8\n');
    await writeFile(path.join(hls, '.vcs-work-x', 'segment000.ts'), segment);

    const site = (await readFile(NGINX, 'utf8'))
      .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${serve.port};`)
      .replace(/listen 80;/, `listen 127.0.0.1:${nginxPort};`)
      .replace(/listen \[::\]:80;\n/, '')
      .replaceAll(`${DEFAULTS.HLS_PATH}/`, `${hls}/`);
    assert.match(site, `alias ${hls}/$1/$2$3;`, 'the example serves from the storage default');
    await mkdir(path.join(prefix, 'logs'), { recursive: true });
    await writeFile(path.join(prefix, 'site.conf'), site);
    const user = process.getuid?.() === 0 ? 'user root;\n' : '';
    await writeFile(
      path.join(prefix, 'nginx.conf'),
      `${user}worker_processes 1;\nerror_log ${prefix}/logs/error.log;\npid ${prefix}/nginx.pid;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;\n  include ${prefix}/site.conf;\n}\n`,
    );
    const check = spawnSync('nginx', ['-t', '-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { encoding: 'utf8' });
    assert.is(check.status, 0, check.stderr);
    nginx = spawn('nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    const front = `http://127.0.0.1:${nginxPort}`;
    await waitFor(async () => fetch(`${front}/health/live`).then((r) => r.ok, () => false), 10_000, 'nginx');

    // Segments: the bytes from the disk, with exactly the headers the gateway gives them.
    const viaNginx = await fetch(`${front}/storage/hls/7/high/segment000.ts`);
    const viaGateway = await fetch(`${serve.url}/storage/hls/7/high/segment000.ts`);
    assert.is(viaNginx.status, 200);
    assert.equal(Buffer.from(await viaNginx.arrayBuffer()), segment);
    await viaGateway.arrayBuffer();
    for (const h of ['content-type', 'cache-control', 'access-control-allow-origin']) assert.is(viaNginx.headers.get(h), viaGateway.headers.get(h), h);
    assert.match(viaNginx.headers.get('server') ?? '', 'nginx');
    const poster = await fetch(`${front}/storage/hls/7/poster.jpg`);
    const posterGw = await fetch(`${serve.url}/storage/hls/7/poster.jpg`);
    for (const h of ['content-type', 'cache-control', 'access-control-allow-origin']) assert.is(poster.headers.get(h), posterGw.headers.get(h), `poster ${h}`);

    const missing = await fetch(`${front}/storage/hls/8/high/segment000.ts`);
    assert.is(missing.status, 404);
    assert.not.match(missing.headers.get('cache-control') ?? '', 'max-age=31536000', 'a CDN must not keep a 404 for a year');

    // Playlists, health and the API: the gateway's answers.
    const master = await fetch(`${front}/storage/hls/7/master.m3u8`);
    assert.is(master.status, 200);
    assert.is(master.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.match(await master.text(), 'high/playlist.m3u8');
    const health = await fetch(`${front}/health`);
    assert.is((await health.json()).status !== undefined, true);
    assert.is((await fetch(`${front}/api/jobs`)).status, 401, 'the API keeps its authentication');

    // Nothing hidden, nothing outside the folder.
    for (const hidden of ['/storage/hls/.vcs-work-x/segment000.ts', '/storage/hls/7/../.vcs-work-x/segment000.ts', '/storage/hls/7/%2e%2e/.vcs-work-x/segment000.ts', '/storage/hls/7/high/../../../../../etc/hostname.ts']) {
      const res = await fetch(`${front}${hidden}`);
      assert.ok(res.status >= 400, `${hidden}: ${res.status}`);
      assert.not.equal(Buffer.from(await res.arrayBuffer()), segment, hidden);
    }
  } finally {
    nginx?.kill('SIGQUIT');
    serve.child.kill('SIGTERM');
    await serve.exited;
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
