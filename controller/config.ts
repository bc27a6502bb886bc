import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { describeZodError } from '../shared/protocol.js';
import { Role } from '../shared/auth.js';
import { ConsolesConfig } from './console/config.js';
import { NetworkConfig } from './network/config.js';
import { PowerGroupConfig } from './power/group-config.js';
import { TOKEN_HASH } from './auth/tokens.js';
import { Duration } from './state/config.js';
import { isPostgresUrl } from './store/postgres/url.js';
import { PARTITION_COUNT } from './federation/partitions.js';

const TlsFiles = z.object({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional() }).strict();

/** The controller config file (YAML or JSON); command-line flags override it. */
export const ControllerConfig = z
  .object({
    dataDir: z.string().default('./data'),
    /**
     * Where the store and the journal are kept: null, the data directory's store.json and
     * journal.jsonl; or a PostgreSQL database, `postgres://user:password@host/db` (docs/federation.md).
     */
    store: z
      .string()
      .refine(isPostgresUrl, 'must be a postgres://… or postgresql://… URL (leave it out to keep the store in the data directory)')
      .nullable()
      .default(null),
    /**
     * Several controllers sharing one site (docs/federation.md): this controller's id and the
     * site's partition count, the same on every controller. Only with `store:` a database, which
     * holds the leases and the partition owners. null: the one controller acts for every node.
     */
    federation: z
      .object({
        id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit'),
        partitions: z.number().int().min(1).max(65_536).default(PARTITION_COUNT),
      })
      .strict()
      .nullable()
      .default(null),
    prefix: z.string().default('muster'),
    /** Address the embedded broker's MQTT port and the provisioning HTTP listener listen on: nodes reach them. */
    host: z.string().default('0.0.0.0'),
    mqttPort: z.number().int().min(0).max(65535).default(1883),
    /** MQTT over WebSocket for the dashboard, on `admin.host`; null: off. */
    wsPort: z.number().int().min(0).max(65535).nullable().default(8083),
    /** The provisioning HTTP listener: iPXE scripts, boot loaders, images; null: off. */
    httpPort: z.number().int().min(0).max(65535).nullable().default(8080),
    /**
     * The operators' HTTP listener: the dashboard with its config.json (which hands out the viewer
     * login) and /metrics. Kept apart from the provisioning listener, which every node reaches.
     */
    admin: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        /** null: off. */
        port: z.number().int().min(0).max(65535).nullable().default(8081),
        /** PEM files for HTTPS here; null: those of `tls`, when given. */
        tls: TlsFiles.nullable().default(null),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8081, tls: null }),
    /**
     * External brokers (mqtt://host:port, e.g. Mosquitto) instead of the embedded one: the
     * controller connects to every one (docs/federation.md). null: the embedded broker.
     */
    brokers: z
      .array(z.string().url())
      .min(1, 'brokers needs at least one URL (leave it out for the embedded broker)')
      .refine((urls) => new Set(urls).size === urls.length, 'brokers names a URL twice')
      .nullable()
      .default(null),
    /** Refused with a pointer: one external broker is a list of one. */
    broker: z.never({ error: 'external brokers are set as a list: brokers: [mqtt://HOST:PORT] (or --broker URL,URL…)' }).optional(),
    /**
     * What agents are told to use (`muster.controller=` on iPXE command lines): one URL or several
     * separated by commas. Default: the brokers, or the embedded broker's host and mqttPort.
     */
    advertiseUrl: z.string().nullable().default(null),
    heartbeatIntervalS: z.number().positive().default(5),
    /** Log and publish what automatic actions would do, without doing them. */
    dryRun: z.boolean().default(false),
    /** Store write debounce: a burst of changes becomes one write. */
    storeDebounceMs: z.number().int().min(0).default(200),
    naming: z.strictObject({ enabled: z.boolean(), pattern: z.string() }).optional(),
    /** Simulated nodes for the demo (`--demo N`). */
    demo: z.number().int().min(0).max(100_000).default(0),
    /** Policy settings, validated by the state manager's own schema. */
    policies: z.unknown().optional(),
    /** Console patterns, rotation, backoff and hwlog patterns (docs/console.md). */
    consoles: ConsolesConfig,
    power: z
      .object({
        concurrency: z.number().int().min(1).default(20),
        staggerMs: z.number().int().min(0).default(0),
        /** Read every node's power this often (0: never); the power axis shows the last reading. */
        pollIntervalS: z.number().min(0).default(300),
        /** BMC credentials and Redfish CA per group (a node takes its first group's); secrets in files. */
        groups: z.record(z.string(), PowerGroupConfig).default({}),
      })
      .strict()
      .default({ concurrency: 20, staggerMs: 0, pollIntervalS: 300, groups: {} }),
    build: z.unknown().optional(),
    /** Programs that settings name (`command:` power targets, build tools), read from this file only. */
    commands: z
      .object({
        /** Directories they must be in, after resolving symlinks; none: no such program runs. */
        allowedDirs: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ allowedDirs: [] }),
    /** The provisioning network muster's dnsmasq serves (docs/network.md); none: muster runs no DHCP. */
    network: NetworkConfig.optional(),
    /** Who may connect (docs/security.md). */
    auth: z
      .object({
        /** Agents may connect without a token (a trusted provisioning network only). */
        anonymousAgents: z.boolean().default(false),
        /** The role of clients that connect without a user name; null: they are refused. */
        anonymousRole: Role.nullable().default(null),
        /** Hashes (`sha256:<hex>`, from `muster token hash`) of agent bootstrap tokens. */
        agentTokens: z.array(z.string().regex(TOKEN_HASH, 'agent token hashes look like sha256:<64 hex digits>')).default([]),
        /** With `brokers`: the external brokers authenticate and authorise, so every request counts as an admin's. */
        trustExternalBroker: z.boolean().default(false),
        /**
         * How long after muster saw a node boot (its power action, its network boot, an admin's
         * decision) the bootstrap token may bring back the node's agent, which lost its secret.
         */
        reintroduceWindow: Duration.refine((ms) => ms >= 10_000 && ms <= 86_400_000, 'auth.reintroduceWindow must be between 10s and 1d: long enough for a machine to boot, short enough that the token cannot bring a node back long after').default(10 * 60_000),
      })
      .strict()
      .prefault({}),
    /** What connections may cost the embedded broker (docs/security.md). */
    limits: z
      .object({
        maxConnections: z.number().int().min(1).default(100_000),
        maxConnectionsPerSource: z.number().int().min(1).default(128),
        /** Addresses without a per-source cap: the controller host's own demo agents and benchmarks. */
        unlimitedSources: z.array(z.string().min(1)).default(['127.0.0.1', '::1']),
        /** A hello whose fingerprint (as JSON) is larger is refused: what one agent record may hold. */
        maxFingerprintBytes: z.number().int().min(1024).default(32 * 1024),
        /** Unbound (discovered) agents kept; past it, the one whose last hello is oldest is forgotten. */
        maxDiscoveredAgents: z.number().int().min(1).default(10_000),
        /** New agent ids one bootstrap token may introduce per minute; more are refused until the minute fills up again. */
        newAgentsPerTokenPerMinute: z.number().int().min(1).default(1000),
      })
      .strict()
      .prefault({}),
    /** The transition journal (DATA/journal.jsonl), rotated by size; not used when `store` is a database. */
    journal: z
      .object({
        maxBytes: z.number().int().min(4096).default(64 * 1024 * 1024),
        /** Rotated segments kept (`journal.jsonl.1` the newest) and read by `muster history`. */
        keepSegments: z.number().int().min(1).max(100).default(4),
      })
      .strict()
      .prefault({}),
    /** The web dashboard (docs/dashboard.md). */
    dashboard: z
      .object({
        /**
         * The read-only login every page visitor gets (in config.json): a user of role viewer and
         * a file whose first line is its password. null: the page connects anonymously.
         */
        viewer: z.object({ user: z.string().min(1), passwordFile: z.string().min(1) }).strict().nullable().default(null),
        /**
         * Web origins (`https://ctl.example:8081`) whose pages may open the WebSocket, besides the
         * controller's own admin listener by its addresses and host name.
         */
        origins: z.array(z.string().url()).default([]),
        /**
         * With `brokers:`: the WebSocket URL of the broker the page connects to
         * (`ws://mq1.example:9001`, `wss://…`), which holds every node's retained state. null: the
         * page has no live feed with external brokers.
         */
        brokerWs: z
          .string()
          .regex(/^wss?:\/\/[^\s]+$/, 'must be a ws://HOST:PORT or wss://HOST:PORT URL')
          .nullable()
          .default(null),
      })
      .strict()
      .default({ viewer: null, origins: [], brokerWs: null }),
    /** PEM files: with them the MQTT port is mqtts://, the WebSocket port wss:// and both HTTP listeners HTTPS. */
    tls: TlsFiles.nullable().default(null),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.federation && !c.store) ctx.addIssue({ code: 'custom', path: ['federation'], message: 'needs `store: postgres://…`: the leases and the partition owners are kept in the database' });
  });
export type ControllerConfig = z.infer<typeof ControllerConfig>;

export async function loadConfig(file: string | null, overrides: Partial<Record<keyof ControllerConfig, unknown>>): Promise<ControllerConfig> {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`config ${file}: ${(err as Error).message}`);
    }
    try {
      fromFile = (YAML.parse(text) ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`config ${file}: not valid YAML/JSON: ${(err as Error).message}`);
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new Error(`config ${file}: must be a mapping of settings`);
  }
  const merged = { ...fromFile, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  const r = ControllerConfig.safeParse(merged);
  if (!r.success) throw new Error(`config${file ? ` ${file}` : ''}: ${describeZodError(r.error)}`);
  return r.data;
}
