/**
 * A small DMTF-shaped Redfish service over HTTPS with a self-signed certificate, for the redfish
 * driver's and the BIOS settings' tests: ServiceRoot and ComputerSystems 1 (every ResetType) and 2
 * (only On and ForceOff); `/Systems/hang` never answers. It records every request.
 *
 * Each System has a `Bios` resource (Bios.v1_2: `Attributes`, `@Redfish.Settings` naming its
 * `Bios/Settings` resource). A PATCH of the Settings stages attributes; a reset that boots the
 * system (On from Off, ForceRestart, PowerCycle) applies them and empties the Settings, as a BMC
 * does. System 1's Bios names an attribute registry (AttributeRegistry.v1_3, under
 * `/redfish/v1/Registries`) and the Settings refuse what it does not allow, with the Base
 * registry's messages; System 2 has none.
 *
 * Each System's `Boot` keeps its boot source override (ComputerSystem.v1_20: Enabled Disabled /
 * Once / Continuous, a Target from its AllowableValues, and on System 1 a Mode UEFI / Legacy); a
 * PATCH of the System sets it, refusing properties the System lacks, and a boot uses a `Once`
 * override up and sets it back to Disabled, as the schema says.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

export const REDFISH_USER = 'root';
export const REDFISH_PASSWORD = 'calvin-Secret9';
const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'];

const REGISTRY = 'BiosAttributeRegistryT1.v1_0_0';
const REGISTRY_FILE = `/redfish/v1/registrystore/registries/en/${REGISTRY}.json`;
const enumeration = (name: string, values: string[]) => ({ AttributeName: name, Type: 'Enumeration', ReadOnly: false, Value: values.map((v) => ({ ValueName: v, ValueDisplayName: v })) });
/** The attributes of System 1's BIOS as its registry describes them (RegistryEntries.Attributes). */
const REGISTRY_ATTRIBUTES = [
  enumeration('BootMode', ['Uefi', 'LegacyBios']),
  enumeration('ProcHyperthreading', ['Enabled', 'Disabled']),
  enumeration('ProcTurboMode', ['Enabled', 'Disabled']),
  enumeration('SecureBoot', ['Enabled', 'Disabled']),
  { AttributeName: 'PowerOnDelay', Type: 'Integer', ReadOnly: false, LowerBound: 0, UpperBound: 120, ScalarIncrement: 1 },
  { AttributeName: 'SriovEnable', Type: 'Boolean', ReadOnly: false },
  { AttributeName: 'AssetTag', Type: 'String', ReadOnly: false, MaxLength: 16 },
  { AttributeName: 'SerialNumber', Type: 'String', ReadOnly: true },
];
const initialBios = (registry: boolean): SystemBios => ({
  version: 'U30 v2.54',
  attributes: { BootMode: 'Uefi', ProcHyperthreading: 'Enabled', ProcTurboMode: 'Enabled', SecureBoot: 'Disabled', PowerOnDelay: 0, SriovEnable: true, AssetTag: '', SerialNumber: 'CZ2040XYZ' },
  pending: {},
  registry,
});

/** Why the registry refuses `value` for `name`, as a Base message; null when it is allowed. */
function refusal(name: string, value: unknown): { id: string; message: string } | null {
  const a = REGISTRY_ATTRIBUTES.find((r) => r.AttributeName === name);
  if (!a) return { id: 'Base.1.8.PropertyUnknown', message: `The property ${name} is not in the list of valid properties for the resource.` };
  if (a.ReadOnly) return { id: 'Base.1.8.PropertyNotWritable', message: `The property ${name} is a read only property and cannot be assigned a value.` };
  const bad = { id: 'Base.1.8.PropertyValueNotInList', message: `The value ${JSON.stringify(value)} for the property ${name} is not in the list of acceptable values.` };
  if ('Value' in a) return typeof value === 'string' && a.Value!.some((v) => v.ValueName === value) ? null : bad;
  if (a.Type === 'Integer') return Number.isInteger(value) && (value as number) >= a.LowerBound! && (value as number) <= a.UpperBound! ? null : bad;
  if (a.Type === 'Boolean') return typeof value === 'boolean' ? null : bad;
  return typeof value === 'string' && value.length <= (a.MaxLength ?? Infinity) ? null : bad;
}

export interface RedfishRequest {
  method: string;
  url: string;
  contentType?: string;
  odataVersion?: string;
  body?: unknown;
}

export type AttributeValue = string | number | boolean | null;

export interface SystemBios {
  version: string;
  attributes: Record<string, AttributeValue>;
  /** What the Settings resource holds: applied at the next boot. */
  pending: Record<string, AttributeValue>;
  /** Whether the Bios names the attribute registry (and PATCHes are checked against it). */
  registry: boolean;
}

/** A System's boot source override. */
export interface SystemBoot {
  enabled: string;
  target: string;
  /** Absent: the System has no BootSourceOverrideMode property (and refuses it). */
  mode?: string;
  targets: string[];
  /** The source each boot since the last reset used: the override's target, or `BootOrder`. */
  booted: string[];
}

const OVERRIDE_ENABLED = ['Disabled', 'Once', 'Continuous'];
const OVERRIDE_MODES = ['UEFI', 'Legacy'];
const BOOT_TARGETS = ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup', 'UefiHttp'];

export interface RedfishService {
  /** `127.0.0.1:PORT` */
  base: string;
  /** The service's certificate (PEM), for the driver's `ca` option. */
  cert: string;
  systems: Record<string, { PowerState: string; allowed: string[]; bios: SystemBios; boot: SystemBoot }>;
  requests: RedfishRequest[];
  /** Requests to `/Systems/hang` whose connection is still open. */
  hanging(): number;
  /** Back to the initial systems and no recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export async function startRedfishService(): Promise<RedfishService> {
  const tmp = tempDir('muster-redfish-');
  const keyFile = join(tmp.dir, 'key.pem');
  const certFile = join(tmp.dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const key = readFileSync(keyFile, 'utf8');
  const cert = readFileSync(certFile, 'utf8');
  tmp.remove();

  const systems: RedfishService['systems'] = {};
  const requests: RedfishRequest[] = [];
  let hanging = 0;
  const reset = () => {
    systems['1'] = { PowerState: 'Off', allowed: RESET_TYPES, bios: initialBios(true), boot: { enabled: 'Disabled', target: 'None', mode: 'UEFI', targets: BOOT_TARGETS, booted: [] } };
    systems['2'] = { PowerState: 'On', allowed: ['On', 'ForceOff'], bios: initialBios(false), boot: { enabled: 'Disabled', target: 'None', targets: ['None', 'Pxe', 'Hdd'], booted: [] } };
    requests.length = 0;
  };
  reset();
  const error = (res: ServerResponse, status: number, message: string, id = 'Base.1.8.GeneralError') => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: id, message: 'error', '@Message.ExtendedInfo': [{ MessageId: id, Message: message }] } }));
  };
  const server = https.createServer({ key, cert }, (req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const rec: RedfishRequest = { method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], odataVersion: req.headers['odata-version'] as string | undefined };
      if (raw) rec.body = JSON.parse(raw);
      requests.push(rec);
      const json = (body: unknown) => (res.writeHead(200, { 'Content-Type': 'application/json' }), res.end(JSON.stringify(body)));
      // The service root answers without credentials (Redfish spec), so a client can find its way in.
      if (req.method === 'GET' && (req.url === '/redfish/v1' || req.url === '/redfish/v1/')) {
        return json({ '@odata.id': '/redfish/v1', '@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot', Id: 'RootService', Name: 'Root Service', RedfishVersion: '1.15.0', Systems: { '@odata.id': '/redfish/v1/Systems' }, Registries: { '@odata.id': '/redfish/v1/Registries' } });
      }
      if (req.headers.authorization !== 'Basic ' + Buffer.from(`${REDFISH_USER}:${REDFISH_PASSWORD}`).toString('base64')) {
        res.setHeader('WWW-Authenticate', 'Basic realm="redfish"');
        return error(res, 401, 'The authentication credentials included with this message are missing or invalid.');
      }
      if (req.url === '/redfish/v1/Systems/hang') {
        // A BMC that never answers: the request stays open until the client gives up.
        hanging++;
        res.on('close', () => hanging--);
        return;
      }
      if (req.method === 'GET' && req.url === '/redfish/v1/Registries') return json({ '@odata.id': '/redfish/v1/Registries', Members: [{ '@odata.id': '/redfish/v1/Registries/Base.1.8.0' }, { '@odata.id': `/redfish/v1/Registries/${REGISTRY}` }] });
      if (req.method === 'GET' && req.url === `/redfish/v1/Registries/${REGISTRY}`) {
        return json({ '@odata.type': '#MessageRegistryFile.v1_1_0.MessageRegistryFile', Id: REGISTRY, Registry: REGISTRY.replace(/\.\d+$/, ''), Languages: ['en'], Location: [{ Language: 'en', Uri: REGISTRY_FILE }] });
      }
      if (req.method === 'GET' && req.url === REGISTRY_FILE) {
        return json({ '@odata.type': '#AttributeRegistry.v1_3_0.AttributeRegistry', Id: REGISTRY, Language: 'en', RegistryVersion: '1.0.0', OwningEntity: 'muster tests', RegistryEntries: { Attributes: REGISTRY_ATTRIBUTES } });
      }
      const m = /^\/redfish\/v1\/Systems\/(\w+)(\/Actions\/ComputerSystem\.Reset|\/Bios|\/Bios\/Settings)?$/.exec(req.url ?? '');
      const sys = m?.[1] ? systems[m[1]] : undefined;
      if (!m || !sys) return error(res, 404, `no resource ${req.url}`);
      const id = `/redfish/v1/Systems/${m[1]}`;
      if (req.method === 'GET' && !m[2]) {
        return json({
          '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
          '@odata.id': id,
          Id: m[1],
          Name: 'Test system',
          PowerState: sys.PowerState,
          Boot: {
            BootSourceOverrideEnabled: sys.boot.enabled,
            BootSourceOverrideTarget: sys.boot.target,
            'BootSourceOverrideTarget@Redfish.AllowableValues': sys.boot.targets,
            ...(sys.boot.mode !== undefined && { BootSourceOverrideMode: sys.boot.mode }),
          },
          BiosVersion: sys.bios.version,
          Bios: { '@odata.id': `${id}/Bios` },
          Actions: { '#ComputerSystem.Reset': { target: `${id}/Actions/ComputerSystem.Reset`, 'ResetType@Redfish.AllowableValues': sys.allowed } },
        });
      }
      if (req.method === 'GET' && m[2] === '/Bios') {
        return json({
          '@odata.type': '#Bios.v1_2_0.Bios',
          '@odata.id': `${id}/Bios`,
          Id: 'Bios',
          Name: 'BIOS Configuration Current Settings',
          ...(sys.bios.registry && { AttributeRegistry: REGISTRY }),
          Attributes: sys.bios.attributes,
          '@Redfish.Settings': { '@odata.type': '#Settings.v1_3_5.Settings', SettingsObject: { '@odata.id': `${id}/Bios/Settings` }, SupportedApplyTimes: ['OnReset'] },
        });
      }
      if (req.method === 'GET' && m[2] === '/Bios/Settings') {
        return json({ '@odata.type': '#Bios.v1_2_0.Bios', '@odata.id': `${id}/Bios/Settings`, Id: 'Settings', Name: 'BIOS Configuration Pending Settings', Attributes: sys.bios.pending });
      }
      if (req.method === 'PATCH' && m[2] === '/Bios/Settings') {
        const attrs = (rec.body as { Attributes?: Record<string, AttributeValue> } | undefined)?.Attributes;
        if (rec.contentType !== 'application/json' || !attrs || typeof attrs !== 'object') return error(res, 400, 'the request body must hold an Attributes object', 'Base.1.8.MalformedJSON');
        const refused = sys.bios.registry ? Object.entries(attrs).map(([k, v]) => refusal(k, v)).find((r) => r) : null;
        if (refused) return error(res, 400, refused.message, refused.id);
        Object.assign(sys.bios.pending, attrs);
        res.writeHead(204);
        return res.end();
      }
      if (req.method === 'PATCH' && !m[2]) {
        const body = rec.body as { Boot?: Record<string, unknown> } | undefined;
        if (rec.contentType !== 'application/json' || !body?.Boot || typeof body.Boot !== 'object') return error(res, 400, 'the request body must hold a Boot object', 'Base.1.8.MalformedJSON');
        const other = Object.keys(body).find((k) => k !== 'Boot');
        if (other) return error(res, 400, `The property ${other} is a read only property and cannot be assigned a value.`, 'Base.1.8.PropertyNotWritable');
        const allowed: Record<string, readonly string[] | undefined> = { BootSourceOverrideEnabled: OVERRIDE_ENABLED, BootSourceOverrideTarget: sys.boot.targets, BootSourceOverrideMode: sys.boot.mode === undefined ? undefined : OVERRIDE_MODES };
        for (const [k, v] of Object.entries(body.Boot)) {
          const values = allowed[k];
          if (!values) return error(res, 400, `The property ${k} is not in the list of valid properties for the resource.`, 'Base.1.8.PropertyUnknown');
          if (typeof v !== 'string' || !values.includes(v)) return error(res, 400, `The value ${JSON.stringify(v)} for the property ${k} is not in the list of acceptable values.`, 'Base.1.8.PropertyValueNotInList');
        }
        const boot = body.Boot as Record<string, string | undefined>;
        sys.boot.enabled = boot.BootSourceOverrideEnabled ?? sys.boot.enabled;
        sys.boot.target = boot.BootSourceOverrideTarget ?? sys.boot.target;
        sys.boot.mode = boot.BootSourceOverrideMode ?? sys.boot.mode;
        res.writeHead(204);
        return res.end();
      }
      if (req.method === 'POST' && m[2] === '/Actions/ComputerSystem.Reset') {
        const type = (rec.body as { ResetType?: string } | undefined)?.ResetType;
        if (rec.contentType !== 'application/json' || !type || !sys.allowed.includes(type)) return error(res, 400, `bad ResetType ${type}`);
        const boots = type === 'ForceRestart' || type === 'PowerCycle' || (type === 'On' && sys.PowerState === 'Off');
        sys.PowerState = type === 'ForceOff' || type === 'GracefulShutdown' ? 'Off' : 'On';
        if (boots) {
          Object.assign(sys.bios.attributes, sys.bios.pending);
          sys.bios.pending = {};
          sys.boot.booted.push(sys.boot.enabled === 'Disabled' ? 'BootOrder' : sys.boot.target);
          if (sys.boot.enabled === 'Once') sys.boot.enabled = 'Disabled';
        }
        res.writeHead(204);
        return res.end();
      }
      error(res, 405, 'method not allowed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cert,
    systems,
    requests,
    hanging: () => hanging,
    reset,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
