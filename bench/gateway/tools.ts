/**
 * nginx and wrk for bench/gateway: Debian's packages, installed when missing (the bench runs as
 * root on the build machines), and nginx started in the foreground on a temp config.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HLS_FILE_TYPES } from '../../src/gateway/hls-files.ts';

function which(name: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  return found || null;
}

/** The path of each tool, after `apt-get install -y` of the missing ones. */
export function ensureTools(names: string[]): Record<string, string> {
  const missing = names.filter((n) => !which(n));
  if (missing.length) {
    if (process.getuid?.() !== 0) throw new Error(`${missing.join(' and ')} not installed; run: apt-get install -y ${missing.join(' ')}`);
    console.log(`installing ${missing.join(', ')} (apt-get) …`);
    const install = () => spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    if (!install()) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
      if (!install()) throw new Error(`apt-get install -y ${missing.join(' ')} failed`);
    }
  }
  return Object.fromEntries(names.map((n) => [n, which(n) ?? n]));
}

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/**
 * nginx serving `hlsPath` at the gateway's URL layout, on 127.0.0.1 only: the same MIME types and
 * response headers (Cache-Control, CORS) as the gateway, sendfile, no access log.
 */
export async function startNginx(bin: string, dir: string, hlsPath: string, port: number): Promise<Nginx> {
  await mkdir(dir, { recursive: true });
  const types = Object.entries(HLS_FILE_TYPES).map(([ext, k]) => `${k.type} ${ext.slice(1)};`).join(' ');
  const cacheControl = Object.entries(HLS_FILE_TYPES)
    .map(([ext, k]) => `    ~\\${ext}$ "${k.cache}";`)
    .join('\n');
  const conf = `daemon off;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { ${types} }
  default_type application/octet-stream;
  map $uri $hls_cache_control {
${cacheControl}
  }
  server {
    listen 127.0.0.1:${port};
    location /storage/hls/ {
      alias ${hlsPath}/;
      add_header Cache-Control $hls_cache_control;
      add_header Access-Control-Allow-Origin "*";
    }
  }
}
`;
  const file = path.join(dir, 'nginx.conf');
  await writeFile(file, conf);
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start: ${stderr.trim()}`);
    const up = await fetch(`${url}/`).then(() => true, () => false);
    if (up) break;
    if (i > 100) throw new Error(`nginx did not answer on ${url}: ${stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
