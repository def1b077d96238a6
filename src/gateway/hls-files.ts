/**
 * The HLS files under /storage/hls/ (koa-static over HLS_PATH): the plan's Content-Type and
 * Cache-Control per extension, CORS for players on other origins, no directory listings, no
 * dotfiles (staging and work folders are hidden), nothing outside HLS_PATH.
 */
import type { Middleware } from 'koa';
import serve from 'koa-static';
import { HLS_ROUTE } from '../jobs/urls.ts';

/** Content-Type and caching per file type (original plan, "HTTP Headers Needed"). */
export const HLS_FILE_TYPES: Record<string, { type: string; cache: string }> = {
  '.m3u8': { type: 'application/vnd.apple.mpegurl', cache: 'public, max-age=3600' },
  '.ts': { type: 'video/mp2t', cache: 'public, max-age=31536000, immutable' },
  '.jpg': { type: 'image/jpeg', cache: 'public, max-age=31536000' },
  '.json': { type: 'application/json', cache: 'no-cache' },
};

export function hlsFiles(hlsPath: string): Middleware {
  const files = serve(hlsPath, {
    index: false,
    hidden: false,
    gzip: false,
    brotli: false,
    defer: false,
    setHeaders(res, file) {
      const ext = file.slice(file.lastIndexOf('.'));
      const kind = HLS_FILE_TYPES[ext];
      if (kind) {
        res.setHeader('Content-Type', kind.type);
        res.setHeader('Cache-Control', kind.cache);
      }
      res.setHeader('Access-Control-Allow-Origin', '*');
    },
  });
  return async (ctx, next) => {
    if (!ctx.path.startsWith(`${HLS_ROUTE}/`) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const original = ctx.path;
    ctx.path = original.slice(HLS_ROUTE.length);
    try {
      await files(ctx, async () => undefined);
    } finally {
      ctx.path = original;
    }
    if (ctx.body === undefined || ctx.body === null) {
      ctx.status = 404;
      ctx.body = { error: { code: 'VCS_ERR_NOT_FOUND', message: 'no such file' } };
    }
  };
}
