/**
 * Boot scripts per MAC (pure): which template a booting machine gets, and the kernel command line
 * of a build. Templates live in boot/<language>/ (iPXE's, and grub's for the Secure Boot chain)
 * and use `{{var}}` placeholders, distinct from the languages' own `${...}` expansions, which pass
 * through untouched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../paths.js';
import { formatKernelInterface, type InterfaceConfig } from '../../../shared/node-network.js';
import { diskRuleToCmdline } from '../../../shared/disk-rule.js';

export const TEMPLATE_NAMES = ['node', 'discovery', 'local'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
/**
 * The languages a machine fetches its script in, named by the URL's extension: iPXE
 * (`/boot/<mac>.ipxe`) and grub (`/boot/<mac>.grub`, the Secure Boot chain shim → grub).
 */
export const SCRIPT_LANGUAGES = ['ipxe', 'grub'] as const;
export type ScriptLanguage = (typeof SCRIPT_LANGUAGES)[number];
export type Templates = Record<ScriptLanguage, Record<TemplateName, string>>;

/** Holds ipxe/node.ipxe, grub/node.grub and the other templates of each language. */
export const DEFAULT_TEMPLATES_DIR = join(projectRoot(), 'boot');

export function loadTemplates(dir = DEFAULT_TEMPLATES_DIR): Templates {
  const read = (language: ScriptLanguage, name: TemplateName) => {
    const path = join(dir, language, `${name}.${language}`);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`${language} template ${path} cannot be read: ${(err as Error).message}`);
    }
  };
  const all = (language: ScriptLanguage) => Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, read(language, n)])) as Record<TemplateName, string>;
  return { ipxe: all('ipxe'), grub: all('grub') };
}

/** Fill `{{var}}`; a placeholder without a value is a template bug, a value with a line break an injection. */
export function renderTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new Error(`template uses {{${key}}} but no value is given (have: ${Object.keys(vars).join(', ')})`);
    if (/[\r\n]/.test(value)) throw new Error(`template value {{${key}}} contains a line break`);
    return value;
  });
}

/**
 * What a boot script would read as its own syntax in text muster puts on a kernel line: `$`
 * expands settings (`${net0/mac}`), `|`, `&` and (in grub) `;`, `<`, `>` chain or redirect commands,
 * quotes, `\\` and (in grub) braces regroup arguments. A command line is passed to the kernel word
 * for word, by iPXE and by grub alike, only without them. Null when there is none.
 */
export function scriptSyntaxIn(text: string): string | null {
  const m = /\|\||&&|[$|&"'\\;<>{}]/.exec(text);
  return m ? `"${m[0]}" is boot script syntax (muster puts no $ | & ; < > { } quotes or \\ on a kernel line)` : null;
}

/** BOOTIF= as each language writes it: iPXE fills in the NIC it booted from, grub's script is rendered for the MAC that asked. */
function bootIf(language: ScriptLanguage, mac: string): string {
  return language === 'ipxe' ? '01-${net0/mac:hexhyp}' : `01-${mac.replace(/:/g, '-')}`;
}

/**
 * The build kernel's command line: the image's own, then what the agent needs: the controller,
 * the boot NIC and one `muster.if=` per configured interface.
 */
export function buildCmdline(imageCmdline: string, controllerUrl: string, interfaces: readonly InterfaceConfig[], bootIfValue: string): string {
  for (const [what, text] of [['image command line', imageCmdline], ['controller URL', controllerUrl]] as const) {
    const problem = scriptSyntaxIn(text);
    if (problem) throw new Error(`${what}: ${problem}`);
  }
  return [imageCmdline, `muster.controller=${controllerUrl}`, `BOOTIF=${bootIfValue}`, ...interfaces.map(formatKernelInterface)].filter((p) => p !== '').join(' ');
}

export type BootDecision =
  | { script: 'node'; node: string; image: string; cmdline: string; install?: InstallParams }
  | { script: 'discovery'; image: string; cmdline: string }
  | { script: 'local'; node: string | null; reason: string };

/** What the installer is told: the disk image's checksum and size, its report URL's token, its target disk rule. */
export interface InstallParams {
  sha256: string;
  size: number;
  token: string;
  disk?: string;
}

export interface BootFacts {
  /** The MAC that asked, and the language of the script it asked for. */
  mac: string;
  language: ScriptLanguage;
  /** The node this MAC belongs to (from the controller's store), or null for an unknown machine. */
  node: string | null;
  /** The node's build state here, or null when netboot has never configured it. */
  nodeBuild: { state: string; image: string; interfaces: readonly InterfaceConfig[]; installToken?: string; disk?: string } | null;
  images: ReadonlyMap<string, { cmdline: string; diskless?: boolean; disk?: { sha256: string; size: number } }>;
  discoveryImage: string | null;
  controllerUrl: string;
}

/** What a machine booting over the network gets (pure). */
export function decideBoot(f: BootFacts): BootDecision {
  if (f.node === null) {
    const image = f.discoveryImage === null ? undefined : f.images.get(f.discoveryImage);
    if (!image) return { script: 'local', node: null, reason: f.discoveryImage === null ? 'unknown machine and no discovery image configured' : `unknown machine and discovery image ${f.discoveryImage} is not in the catalog` };
    return { script: 'discovery', image: f.discoveryImage!, cmdline: buildCmdline(image.cmdline, f.controllerUrl, [], bootIf(f.language, f.mac)) };
  }
  const b = f.nodeBuild;
  const image = b ? f.images.get(b.image) : undefined;
  // A diskless image is the node's system: it keeps booting it after the build is done.
  const boots = b && (b.state === 'prepared' || b.state === 'building' || (b.state === 'done' && image?.diskless));
  if (!b || !boots) return { script: 'local', node: f.node, reason: `${f.node} is not prepared to build` };
  if (!image) return { script: 'local', node: f.node, reason: `${f.node} is prepared but image ${b.image} is no longer in the catalog` };
  const cmdline = buildCmdline(image.cmdline, f.controllerUrl, b.interfaces, bootIf(f.language, f.mac));
  // An image with a disk is installed: the installer needs the image's checksum and its report URL's token.
  if (image.disk && b.installToken) return { script: 'node', node: f.node, image: b.image, cmdline, install: { sha256: image.disk.sha256, size: image.disk.size, token: b.installToken, ...(b.disk && { disk: b.disk }) } };
  return { script: 'node', node: f.node, image: b.image, cmdline };
}

/** The installer's parameters (boot/initramfs/init): where the disk image is, its sha256 and size, where to report, which disk. */
export function installCmdline(d: { node: string; image: string; install: InstallParams }, baseUrl: string): string {
  const { sha256, size, token, disk } = d.install;
  const rule = disk === undefined ? '' : ` muster.install.disk=${diskRuleToCmdline(disk)}`;
  return `muster.install=${baseUrl}/images/${d.image}/disk muster.install.sha256=${sha256} muster.install.size=${size} muster.install.report=${baseUrl}/install/${d.node}/${token}${rule}`;
}

export function renderBoot(d: BootDecision, templates: Templates, language: ScriptLanguage, mac: string, baseUrl: string): string {
  const t = templates[language];
  switch (d.script) {
    case 'node': {
      const cmdline = d.install ? `${d.cmdline} ${installCmdline({ ...d, install: d.install }, baseUrl)}` : d.cmdline;
      return renderTemplate(t.node, { node: d.node, mac, image: d.image, cmdline, baseUrl });
    }
    case 'discovery':
      return renderTemplate(t.discovery, { mac, image: d.image, cmdline: d.cmdline, baseUrl });
    case 'local':
      return renderTemplate(t.local, { mac, reason: d.reason, baseUrl });
  }
}
