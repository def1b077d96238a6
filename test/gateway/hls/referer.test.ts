import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { refererAllowed } from '../../../src/gateway/hls/referer.ts';

const test = suite('refererAllowed');
const allowed = new Set(['example.com', 'www.example.com', 'localhost:8080']);

test('no list allows every site; no Referer is always allowed', () => {
  assert.ok(refererAllowed('https://anywhere.net/', new Set()));
  assert.ok(refererAllowed('', allowed));
});

test('hosts on the list, any scheme, path or case; a port only where the list names one', () => {
  const cases: [string, boolean][] = [
    ['https://example.com/watch?v=1', true],
    ['http://EXAMPLE.com', true],
    ['https://www.example.com:8443/x', true],
    ['http://localhost:8080/', true],
    ['http://localhost:9090/', false],
    ['http://localhost/', false],
    ['https://example.com.evil.net/', false],
    ['https://evil.net/?https://example.com/', false],
    ['https://sub.example.com/', false],
    ['example.com', false],
    ['not a url', false],
  ];
  for (const [referer, ok] of cases) assert.is(refererAllowed(referer, allowed), ok, referer);
});

test.run();
