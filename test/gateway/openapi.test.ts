import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Router from '@koa/router';
import { apiRouter, healthRouter } from '../../src/gateway/app.ts';
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
    // The routers as the public app builds them.
    const noop = async () => undefined;
    const routes = routeList([healthRouter({} as never), apiRouter({ requireKey: noop, readKey: noop } as never)]).sort();
    assert.equal(described, routes);
    for (const route of routes.filter((r) => r.startsWith('GET ') && !r.includes('{') && r !== 'GET /metrics')) {
      assert.ok((await gw.request('GET', route.slice(4))).status !== 404, `${route} answers`);
    }
  } finally {
    await gw.close();
  }
});

/** Every route of the routers as "METHOD /path/{param}". */
function routeList(routers: Router[]): string[] {
  return routers.flatMap((r) =>
    r.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:([a-z_]+)/g, '{$1}')}`)),
  );
}

test('the document references only schemas it defines', () => {
  const text = JSON.stringify(OPENAPI);
  for (const [, name] of text.matchAll(/#\/components\/schemas\/(\w+)/g)) assert.ok(name! in OPENAPI.components.schemas, name);
});

test.run();
