/**
 * The OpenAPI 3 description of the HTTP API, served at GET /api/openapi.json. A test checks that
 * every route of the app is described here and every path described here exists.
 */

const id = { name: 'wp_post_id', in: 'path', required: true, description: 'The WordPress post id (a positive integer)', schema: { type: 'integer', minimum: 1 } };
const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string) => ({ description, content: json(ref('Error')) });
const keyed = [{ bearerAuth: [] }];
const readKey = [{}, { bearerAuth: [] }];
const common = { 401: error('Missing or wrong API key'), 429: error('Rate limit exceeded (Retry-After tells when to retry)') };

const urls = {
  type: 'object',
  nullable: true,
  description: 'The package served now: set once the video is completed, and kept while it is compressed again (pending, processing) and after a failed re-compression; null once its files are removed',
  properties: Object.fromEntries(['master_playlist_url', 'poster_url', 'hls_high_url', 'hls_medium_url', 'hls_low_url'].map((k) => [k, { type: 'string', format: 'uri', nullable: true }])),
};

export const OPENAPI = {
  openapi: '3.0.3',
  info: {
    title: 'Video compression service',
    version: '1',
    description: 'Turns pending video posts into HLS packages and serves them. Errors are `{ "error": { "code", "message" } }`.',
  },
  components: {
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', example: 'VCS_ERR_NOT_FOUND' }, message: { type: 'string' } } } },
      },
      Status: { type: 'string', enum: ['pending', 'processing', 'completed', 'failed', 'deleted'] },
      Step: { type: 'string', nullable: true, enum: ['queued', 'downloading', 'probing', 'creating_poster', 'compressing', 'finalizing', 'completed', null] },
      PostStatus: {
        type: 'object',
        properties: {
          wp_post_id: { type: 'integer' },
          title: { type: 'string' },
          status: ref('Status'),
          step: ref('Step'),
          progress: { type: 'integer', minimum: 0, maximum: 100 },
          priority: { type: 'string', enum: ['normal', 'high'] },
          created_at: { type: 'string', format: 'date-time' },
          started_at: { type: 'string', format: 'date-time', nullable: true },
          completed_at: { type: 'string', format: 'date-time', nullable: true },
          estimated_completion: { type: 'string', format: 'date-time', nullable: true, description: 'From the progress observed so far' },
          position_in_queue: { type: 'integer', nullable: true },
          urls,
          total_size: { type: 'integer', nullable: true },
          duration_seconds: { type: 'number', nullable: true },
          error_message: { type: 'string', nullable: true },
          failed_at_step: ref('Step'),
          failed_at: { type: 'string', format: 'date-time', nullable: true },
          retry_count: { type: 'integer' },
          last_accessed_at: { type: 'string', format: 'date-time', nullable: true, description: 'When a gateway last served one of its playlists (written in batches, precise to about an hour; behind a CDN only the requests that reach the gateway)' },
        },
      },
      Queued: {
        type: 'object',
        properties: {
          success: { type: 'boolean' },
          message: { type: 'string' },
          wp_post_id: { type: 'integer' },
          position_in_queue: { type: 'integer', nullable: true },
          paused: { type: 'boolean', description: 'The worker is paused: nothing starts until it is resumed' },
        },
      },
      Health: { type: 'object', description: 'status, reasons, uptime, version, worker, storage, store, appwrite (STORE=appwrite), ffmpeg' },
    },
  },
  paths: {
    '/health': {
      get: { summary: 'Service health', tags: ['health'], responses: { 200: { description: 'Healthy', content: json(ref('Health')) }, 503: { description: 'Unhealthy, with reasons', content: json(ref('Health')) } } },
    },
    '/health/live': { get: { summary: 'Liveness probe', tags: ['health'], responses: { 200: { description: 'The process answers' } } } },
    '/health/ready': { get: { summary: 'Readiness probe (store reachable)', tags: ['health'], responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } } } },
    '/api/openapi.json': { get: { summary: 'This document', tags: ['api'], responses: { 200: { description: 'OpenAPI 3 document', content: json({ type: 'object' }) } } } },
    '/api/post/{wp_post_id}': {
      get: {
        summary: 'Compression status of one post',
        tags: ['videos'],
        security: readKey,
        parameters: [id],
        responses: { 200: { description: 'The video', content: json(ref('PostStatus')) }, 400: error('wp_post_id is not a positive integer'), 404: error('Unknown video'), ...common },
      },
      delete: {
        summary: 'Delete a video: stops a running job first, marks it deleted and removes its HLS files',
        tags: ['videos'],
        security: keyed,
        parameters: [id, { name: 'delete_files', in: 'query', schema: { type: 'boolean', default: true } }],
        responses: {
          200: { description: 'Deleted', content: json({ type: 'object', properties: { success: { type: 'boolean' }, deleted_files: { type: 'boolean' }, space_freed: { type: 'string', example: '523 MB' }, space_freed_bytes: { type: 'integer' }, run_stopping: { type: 'boolean', description: 'The video was being compressed and its run had not stopped yet when the answer was sent; whatever it publishes is removed once it has.' } } }) },
          400: error('Bad id or delete_files'),
          404: error('Unknown video'),
          ...common,
        },
      },
    },
    '/api/compress/{wp_post_id}': {
      post: {
        summary: 'Queue a video again (retry or re-compression), optionally from a new upload or with a new title; priority high skips the queue',
        tags: ['videos'],
        security: keyed,
        parameters: [id],
        requestBody: {
          required: false,
          content: json({
            type: 'object',
            properties: {
              priority: { type: 'string', enum: ['normal', 'high'] },
              original_video_url: { type: 'string', description: 'A new upload to compress; absent: the current one' },
              title: { type: 'string', maxLength: 500, description: 'A new title; absent: the title is kept' },
            },
          }),
        },
        responses: { 202: { description: 'Queued', content: json(ref('Queued')) }, 400: error('Bad id or body'), 404: error('Unknown video'), 409: error('The video is being compressed now, or queued with another source'), ...common },
      },
    },
    '/api/post/{wp_post_id}/logs': {
      get: {
        summary: "The runs' own logs of a video (one per attempt, newest first; the last 64 KB of each)",
        tags: ['videos'],
        security: keyed,
        parameters: [id],
        responses: {
          200: {
            description: 'The logs',
            content: json({
              type: 'object',
              properties: {
                wp_post_id: { type: 'integer' },
                runs: { type: 'array', items: { type: 'object', properties: { job: { type: 'string' }, modified: { type: 'string', format: 'date-time' }, bytes: { type: 'integer' }, lines: { type: 'array', items: { type: 'string' } } } } },
              },
            }),
          },
          400: error('wp_post_id is not a positive integer'),
          404: error('Unknown video'),
          ...common,
        },
      },
    },
    '/api/jobs': {
      get: {
        summary: 'List videos with filters, search, sorting and pagination',
        tags: ['videos'],
        security: keyed,
        parameters: [
          { name: 'status', in: 'query', schema: ref('Status') },
          { name: 'search', in: 'query', description: 'Title contains the text, or wp_post_id equals it', schema: { type: 'string', maxLength: 200 } },
          { name: 'from', in: 'query', description: 'Created on or after this day (YYYY-MM-DD, UTC) or ISO time', schema: { type: 'string' } },
          { name: 'to', in: 'query', description: 'Created on or before this day (YYYY-MM-DD, UTC: the whole day), or before this ISO time', schema: { type: 'string' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'sort', in: 'query', schema: { type: 'string', enum: ['created_at', 'wp_post_id', 'title', 'status', 'updated_at'], default: 'created_at' } },
          { name: 'order', in: 'query', schema: { type: 'string', enum: ['asc', 'desc'], default: 'desc' } },
        ],
        responses: {
          200: { description: 'One page', content: json({ type: 'object', properties: { total: { type: 'integer' }, page: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' }, jobs: { type: 'array', items: { type: 'object' } } } }) },
          400: error('A query parameter is invalid'),
          ...common,
        },
      },
      post: {
        summary: 'Add a video to the queue',
        tags: ['videos'],
        security: keyed,
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['wp_post_id', 'title', 'original_video_url'],
            properties: { wp_post_id: { type: 'integer', minimum: 1 }, title: { type: 'string', maxLength: 500 }, original_video_url: { type: 'string', format: 'uri' }, priority: { type: 'string', enum: ['normal', 'high'] } },
          }),
        },
        responses: { 201: { description: 'Queued', content: json(ref('Queued')) }, 400: error('A field is missing or invalid'), 409: error('A video with this wp_post_id exists'), ...common },
      },
    },
    '/api/stats': {
      get: {
        summary: 'System-wide statistics',
        tags: ['system'],
        security: readKey,
        responses: { 200: { description: 'Totals per status, storage used, average compression time, videos today, success rate', content: json({ type: 'object' }) }, ...common },
      },
    },
    '/api/worker': { get: { summary: 'Worker state: paused flag and counts', tags: ['system'], security: readKey, responses: { 200: { description: 'State', content: json({ type: 'object' }) }, ...common } } },
    '/api/worker/pause': { post: { summary: 'Pause the worker: nothing new starts', tags: ['system'], security: keyed, responses: { 200: { description: 'Paused', content: json({ type: 'object' }) }, ...common } } },
    '/api/worker/resume': { post: { summary: 'Resume the worker', tags: ['system'], security: keyed, responses: { 200: { description: 'Resumed', content: json({ type: 'object' }) }, ...common } } },
    '/api/queue/clear': { post: { summary: 'Cancel every pending video (they become failed, cancelled, and can be queued again)', tags: ['system'], security: keyed, responses: { 200: { description: 'Cancelled count', content: json({ type: 'object' }) }, ...common } } },
    '/api/cleanup': { post: { summary: 'Remove stale temp files now', tags: ['system'], security: keyed, responses: { 200: { description: 'Removed count and space freed', content: json({ type: 'object' }) }, ...common } } },
    '/storage/hls/{path}': {
      get: {
        summary: 'HLS files: master.m3u8, poster.jpg, {rendition}/playlist.m3u8, {rendition}/segmentNNN.ts',
        tags: ['hls'],
        parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'The file' }, 206: { description: 'A byte range' }, 304: { description: 'Not modified' }, 403: error('Hotlinking refused'), 404: error('No such file'), 429: error('Rate limit exceeded') },
      },
    },
  },
} as const;
