/**
 * `key=value` node settings from `muster define` / `muster set` (xCAT chdef style), parsed into a
 * patch of the node record. Pure: every error names the key and what is wrong with it.
 */
import { parseNodeSetting, type InterfaceConfig } from '../../shared/node-network.js';
import { MusterError } from '../../shared/errors.js';
import { normalizeIbGuid, normalizeMac } from '../../shared/protocol.js';
import type { NodeDefinition } from '../store/schema.js';
import { redactSecrets } from '../auth/redact.js';
import { POWER_SCHEMES } from '../power/registry.js';

/** A `key=value` setting that cannot be applied; the message names the key. */
export class SettingError extends MusterError {
  override readonly name = 'SettingError';
  constructor(message: string) {
    super(message, 'bad-setting');
  }
}

export type NodePatch = Partial<Pick<NodeDefinition, 'groups' | 'power' | 'console' | 'image' | 'tags' | 'disk' | 'interfaces'>> & {
  ids?: Partial<NodeDefinition['ids']>;
  attrs?: Record<string, string | null>;
  /** Interfaces set by name (`if.eth0=…`); merged into the node's list by name, null removes. */
  interfacesByName?: Record<string, InterfaceConfig | null>;
};

const GROUP = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
/** One prefix per power driver: the registry's list, so a new driver is settable at once. */
const POWER_PREFIXES = POWER_SCHEMES.map((s) => `${s}:`);
const CONSOLE_SCHEMES = ['serial:', 'tcp://', 'sol:', 'sim://'];

export const SETTING_KEYS = ['groups', 'mac', 'macs', 'serial', 'uuid', 'ib', 'switch', 'power', 'console', 'image', 'tags', 'disk', 'if.<name>', 'attr.<name>'];

/** Split `key=value` arguments; the value may itself contain `=`. */
export function splitSettings(args: readonly string[]): Array<[string, string]> {
  return args.map((a) => {
    const i = a.indexOf('=');
    if (i <= 0) throw new SettingError(`"${a}" is not key=value (keys: ${SETTING_KEYS.join(', ')})`);
    return [a.slice(0, i).trim(), a.slice(i + 1).trim()];
  });
}

export function parseSettings(args: readonly string[]): NodePatch {
  const patch: NodePatch = {};
  for (const [key, value] of splitSettings(args)) {
    const empty = value === '';
    // image=, tags=, disk= and if.<name>= belong to the build layer's model (shared/node-network.ts).
    const build = parseNodeSetting(key, value);
    if (build) {
      if (!build.ok) throw new SettingError(build.error);
      const b = build.value;
      if (b.kind === 'image') patch.image = b.image;
      else if (b.kind === 'tags') patch.tags = b.tags;
      else if (b.kind === 'disk') patch.disk = b.disk;
      else patch.interfacesByName = { ...patch.interfacesByName, [b.name]: b.config };
      continue;
    }
    switch (key) {
      case 'groups':
        patch.groups = list(value).map((g) => check(key, g, GROUP, 'a group name starting with a letter'));
        break;
      case 'mac':
      case 'macs':
        patch.ids = { ...patch.ids, macs: list(value).map((m) => normalizeMac(m) ?? fail(key, m, 'a MAC address like aa:bb:cc:dd:ee:ff')) };
        break;
      case 'ib':
        patch.ids = { ...patch.ids, ibGuids: list(value).map((g) => normalizeIbGuid(g) ?? fail(key, g, 'an IB GUID like 0002:c903:0001:2345')) };
        break;
      case 'serial':
        patch.ids = { ...patch.ids, serial: empty ? null : bounded(key, value, 256) };
        break;
      case 'uuid':
        patch.ids = { ...patch.ids, uuid: empty ? null : check(key, value.toLowerCase(), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a UUID') };
        break;
      case 'switch': {
        if (empty) {
          patch.ids = { ...patch.ids, switchPort: null };
          break;
        }
        const m = /^([^:\s]{1,128}):(\S{1,64})$/.exec(value);
        if (!m) fail(key, value, 'SWITCH:PORT, e.g. sw1:12 or sw1:Ethernet1/12');
        patch.ids = { ...patch.ids, switchPort: { switch: m![1]!, port: m![2]! } };
        break;
      }
      case 'power':
        patch.power = empty ? null : scheme(key, value, POWER_PREFIXES);
        break;
      case 'console':
        patch.console = empty ? null : scheme(key, value, CONSOLE_SCHEMES);
        break;
      default:
        if (key.startsWith('attr.') && key.length > 5) {
          const name = check(key, key.slice(5), /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, 'an attribute name');
          patch.attrs = { ...patch.attrs, [name]: empty ? null : bounded(key, value, 1024) };
        } else {
          throw new SettingError(`unknown setting "${key}" (known: ${SETTING_KEYS.join(', ')})`);
        }
    }
  }
  return patch;
}

function list(value: string): string[] {
  return value === '' ? [] : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function fail(key: string, value: string, expected: string): never {
  throw new SettingError(`${key}: "${value}" is not ${expected}`);
}

function check(key: string, value: string, re: RegExp, expected: string): string {
  return re.test(value) ? value : fail(key, value, expected);
}

function bounded(key: string, value: string, max: number): string {
  if (value.length > max) throw new SettingError(`${key}: value is ${value.length} characters, at most ${max}`);
  return value;
}

function scheme(key: string, value: string, schemes: string[]): string {
  if (!schemes.some((s) => value.startsWith(s))) throw new SettingError(`${key}: "${redactSecrets(value)}" must start with one of ${schemes.join(' ')}`);
  return bounded(key, value, 1024);
}
