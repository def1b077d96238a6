import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { routeList, systemRouter, apiRouter } from '../../src/gateway/app.ts';
import { OPENAPI } from '../../src/gateway/openapi.ts';
import { startGateway } from '../support/gateway.ts';

test('every route is described in the OpenAPI document, and every described route exists', async () => {
  const gw = await startGateway();
  try {
    const doc = (await gw.request('GET', '/api/openapi.json')).json;
    assert.is(doc.openapi, '3.0.3');
    const described = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .filter((r) => !r.includes('/storage/hls/'))
      .sort();
    // The routers as the app builds them (with a controller: progress and poke routes exist too).
    const noop = async () => undefined;
    const deps = {
      metrics: { http: noop, handler: noop },
      api: { poke: () => undefined, requireKey: noop, readKey: noop },
      progress: { receive: noop, eta: () => undefined },
    } as never;
    const routes = routeList({ system: systemRouter(deps), api: apiRouter((deps as { api: never }).api) })
      .filter((r) => !r.includes('/internal/'))
      .sort();
    assert.equal(described, routes);
    for (const route of routes.filter((r) => r.startsWith('GET ') && !r.includes('{') && r !== 'GET /metrics')) {
      assert.ok((await gw.request('GET', route.slice(4))).status !== 404, `${route} answers`);
    }
  } finally {
    await gw.close();
  }
});

test('the document references only schemas it defines', () => {
  const text = JSON.stringify(OPENAPI);
  for (const [, name] of text.matchAll(/#\/components\/schemas\/(\w+)/g)) assert.ok(name! in OPENAPI.components.schemas, name);
});

test.run();
