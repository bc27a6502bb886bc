/**
 * The broker list where it is configured and handed out: the controller's `brokers:` setting, and
 * the kernel command line a booting machine gets, which its agent reads back as the same list.
 */
import { describe, expect, it } from 'vitest';
import { bootParams } from '../../agent/cmdline.js';
import { parseControllerUrls } from '../../agent/controller-url.js';
import { ControllerConfig, loadConfig } from '../../controller/config.js';
import { buildCmdline, scriptSyntaxIn } from '../../controller/provision/netboot/scripts.js';

describe('brokers: (controller config)', () => {
  it('is a list of broker URLs, null for the embedded broker', () => {
    expect(ControllerConfig.parse({}).brokers).toBeNull();
    expect(ControllerConfig.parse({ brokers: ['mqtt://a:1883', 'mqtt://b:1883'] }).brokers).toEqual(['mqtt://a:1883', 'mqtt://b:1883']);
  });

  it('refuses an empty list, a URL named twice, something not a URL, and the one-URL key', async () => {
    await expect(loadConfig(null, { brokers: [] })).rejects.toThrow('brokers needs at least one URL (leave it out for the embedded broker)');
    await expect(loadConfig(null, { brokers: ['mqtt://a:1883', 'mqtt://a:1883'] })).rejects.toThrow('brokers names a URL twice');
    await expect(loadConfig(null, { brokers: ['a b'] })).rejects.toThrow(/brokers\.0/);
    await expect(loadConfig(null, { broker: 'mqtt://a:1883' } as never)).rejects.toThrow('broker: external brokers are set as a list: brokers: [mqtt://HOST:PORT] (or --broker URL,URL…)');
  });
});

describe('the list on the kernel command line', () => {
  it('goes out as one muster.controller= word that the agent reads back as the same brokers, in order', () => {
    const list = ['mqtt://10.0.0.1:1883', 'mqtt://10.0.0.2:1883'].join(',');
    expect(scriptSyntaxIn(list)).toBeNull();
    const cmdline = buildCmdline('console=ttyS0', list, [], '01-aa-bb-cc-dd-ee-ff');
    expect(cmdline).toBe('console=ttyS0 muster.controller=mqtt://10.0.0.1:1883,mqtt://10.0.0.2:1883 BOOTIF=01-aa-bb-cc-dd-ee-ff');
    expect(parseControllerUrls(bootParams(cmdline).controller!).map((a) => a.display)).toEqual(['mqtt://10.0.0.1:1883', 'mqtt://10.0.0.2:1883']);
  });
});
