// The dashboard at 10,000 nodes: the page's synthetic mode (the same parse → model → frame path as
// live data) served by a real `muster controller` and timed inside Debian's headless Chromium, with
// the driver the dashboard tests use (test/dashboard/synthetic-figures.ts); and the node model's
// state filter + counts timed in Node.
import { loadProtocol } from '../lib/protocol.mjs';
import { startMuster, tempDir } from '../lib/targets.mjs';

export async function dashboardFigures({ nodes, log }) {
  const { launchChromium, measureSyntheticPage, describeSyntheticFigures, timeModelSelect } = await loadProtocol();
  const data = tempDir('muster-bench-dashboard-');
  let ctl;
  let browser;
  try {
    [ctl, browser] = await Promise.all([startMuster({ dataDir: data.dir }), launchChromium()]);
    if (!ctl.adminUrl) throw new Error(`muster controller printed no admin= address: ${ctl.output().slice(-500)}`);
    const page = await measureSyntheticPage(browser.context, ctl.adminUrl, nodes);
    log(describeSyntheticFigures(page));
    if (page.shown !== nodes) throw new Error(`dashboard showed ${page.shown} of ${nodes} synthetic nodes`);
    const model = timeModelSelect(nodes);
    return {
      command: `${ctl.command}; Chromium (playwright-core, /usr/bin/chromium) on /dashboard/?synthetic=${nodes}`,
      modelCommand: `NodeModel with ${nodes} synthetic states: select(state=liveness:dead) + counts (test/dashboard/synthetic-figures.ts)`,
      page,
      modelMs: model.ms,
    };
  } finally {
    await browser?.close();
    await ctl?.stop();
    data.remove();
  }
}
