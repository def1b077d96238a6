/**
 * Metrics of a gateway that runs as several processes (GATEWAY_WORKERS, node:cluster): each worker
 * keeps its own series, and only the primary answers /metrics, with the workers' series added up
 * by prom-client's AggregatorRegistry (counters and histograms summed; the scrape-time facts, the
 * same in every worker, taken once — see each gauge's `aggregator`). Without this a scrape would
 * reach one worker at random and every counter would jump between workers' values.
 */
import type { Middleware } from 'koa';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** In a worker: answer the primary's requests for this registry's series. */
export function shareWithPrimary(registry: Registry): void {
  new AggregatorRegistry(); // installs the worker's listener for the primary's requests
  AggregatorRegistry.setRegistries([registry]);
}

/** In the primary: GET /metrics with every worker's series aggregated. */
export function clusterMetricsHandler(): Middleware {
  const aggregator = new AggregatorRegistry();
  return async (ctx) => {
    try {
      const text = await aggregator.clusterMetrics();
      ctx.set('Content-Type', aggregator.contentType);
      ctx.body = text;
    } catch (err) {
      // A worker that does not answer (starting, stuck) makes prom-client give up after 5 s.
      ctx.status = 503;
      ctx.body = `metrics not available now: ${(err as Error).message}\n`;
    }
  };
}
