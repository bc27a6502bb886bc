import type { Context, Extension } from '../context.js';

/** `GET /metrics`: Prometheus text format, with the node counts refreshed at each scrape. */
export class MetricsRoute implements Extension {
  readonly name = 'metrics';

  async start(ctx: Context): Promise<void> {
    ctx.adminHttp.mount(async (req, res) => {
      if (req.url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      refreshNodeGauges(ctx);
      const body = await ctx.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    });
  }
}

/** Gauges computed at scrape time: node counts per axis value, frozen groups. */
function refreshNodeGauges(ctx: Context): void {
  const counts = new Map<string, number>();
  const add = (axis: string, value: string) => counts.set(`${axis}\u0000${value}`, (counts.get(`${axis}\u0000${value}`) ?? 0) + 1);
  for (const name of ctx.nodes.names()) {
    const s = ctx.nodeStates.get(name);
    if (!s) continue;
    add('phase', s.phase);
    add('liveness', s.liveness);
    add('admin', s.admin);
    add('power', s.power);
  }
  ctx.metrics.nodes.reset();
  for (const [key, n] of counts) {
    const [axis, value] = key.split('\u0000') as [string, string];
    ctx.metrics.nodes.set({ axis, value }, n);
  }
  ctx.metrics.breaker.reset();
  for (const { group } of ctx.nodeStates.frozenGroups()) ctx.metrics.breaker.set({ group }, 1);
}
