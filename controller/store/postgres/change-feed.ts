/**
 * The store's change feed between controllers on one database: every store write transaction
 * also sends NOTIFY on `muster_store` naming its writer and the (table, key) pairs it upserted or
 * deleted; each controller LISTENs on a connection of its own, skips its own writes and has the
 * named rows read again (store-backend.ts). A notification names keys, never records: a record can
 * be larger than NOTIFY's 8000-byte payload, and reading the row after the commit gets the latest
 * one. A write that names more keys than one payload holds sends several, all delivered at its
 * commit. After a lost connection the notifications sent meanwhile are gone: everything is read
 * again once it is back.
 */
import type pg from 'pg';
import { z } from 'zod';
import { Backoff } from '../../../shared/backoff.js';

export const STORE_CHANNEL = 'muster_store';
/** NOTIFY refuses a payload of 8000 bytes or more. */
const PAYLOAD_MAX_BYTES = 7999;
/**
 * A LISTEN connection only receives: one cut off silently (a network partition) would never
 * notice. It is asked a query this often, which fails within the connection's query timeout.
 */
const PING_MS = 10_000;

/** Table → keys named by one write, or by the notifications read so far. */
export type ChangedKeys = Map<string, Set<string>>;

const Notification = z.object({ w: z.string(), t: z.record(z.string(), z.array(z.string())) });

/** The payloads that name `changed`, each under NOTIFY's limit. */
export function changeNotifications(writer: string, changed: ReadonlyMap<string, readonly string[]>): string[] {
  const payloads: string[] = [];
  let tables: Record<string, string[]> = {};
  // Counted as it is built, not re-encoded per key.
  const base = Buffer.byteLength(JSON.stringify({ w: writer, t: {} }));
  let size = base;
  const flush = () => {
    if (size === base) return;
    payloads.push(JSON.stringify({ w: writer, t: tables }));
    tables = {};
    size = base;
  };
  for (const [table, keys] of changed) {
    // `"table":[` and `],` around the keys, and each key's encoding with its comma.
    const tableBytes = Buffer.byteLength(JSON.stringify(table)) + 4;
    for (const key of keys) {
      const keyBytes = Buffer.byteLength(JSON.stringify(key)) + 1;
      if (base + tableBytes + keyBytes > PAYLOAD_MAX_BYTES) throw new Error(`store change feed: a key of table ${table} is too long to be named in a notification (${keyBytes} bytes)`);
      if (size + (tables[table] ? 0 : tableBytes) + keyBytes > PAYLOAD_MAX_BYTES) flush();
      size += (tables[table] ? 0 : tableBytes) + keyBytes;
      (tables[table] ??= []).push(key);
    }
  }
  flush();
  return payloads;
}

/** A payload's writer and keys; null for one that is not a store notification. */
export function parseChangeNotification(payload: string): { writer: string; keys: ChangedKeys } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  const n = Notification.safeParse(raw);
  if (!n.success) return null;
  return { writer: n.data.w, keys: new Map(Object.entries(n.data.t).map(([t, keys]) => [t, new Set(keys)])) };
}

export interface ChangeFeedOptions {
  /** A new connection of its own (not from a pool: LISTEN holds it). */
  connect: () => pg.Client;
  /** This process's writer id: its own notifications are skipped. */
  writer: string;
  /** Rows other writers changed. */
  onChanged: (keys: ChangedKeys) => void;
  /** Notifications may have been missed (the connection was lost): read everything again. */
  onResync: () => void;
  /** The connection failed or was lost; it is made again with backoff. */
  onError: (err: Error) => void;
}

/** LISTENs on `muster_store` on a dedicated connection, made again with backoff when lost. */
export class ChangeFeed {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ping: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Set once a connection was lost or never made: the next one starts with a resync. */
  private missed = false;
  private readonly retry = new Backoff({ initialMs: 250, maxMs: 10_000, factor: 2, jitter: 0.1 });

  constructor(private readonly opts: ChangeFeedOptions) {}

  /** Listening (resolves once LISTEN is in place, or after a failed first try, retried in the background). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ping) clearInterval(this.ping);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const client = this.opts.connect();
    let lost = false;
    const onLost = (err: Error) => {
      if (lost || this.stopped) return;
      lost = true;
      this.client = null;
      if (this.ping) clearInterval(this.ping);
      this.missed = true;
      this.opts.onError(err);
      void client.end().catch(() => {});
      this.timer = setTimeout(() => void this.connect(), this.retry.next());
      this.timer.unref();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('store change feed: the LISTEN connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel !== STORE_CHANNEL || msg.payload === undefined) return;
      const n = parseChangeNotification(msg.payload);
      if (n && n.writer !== this.opts.writer) this.opts.onChanged(n.keys);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${STORE_CHANNEL}`);
    } catch (err) {
      onLost(new Error(`store change feed: cannot listen: ${(err as Error).message}`));
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retry.reset();
    this.ping = setInterval(() => void client.query('SELECT 1').catch((err: Error) => onLost(new Error(`store change feed: the LISTEN connection does not answer: ${err.message}`))), PING_MS);
    this.ping.unref();
    if (this.missed) {
      this.missed = false;
      this.opts.onResync();
    }
  }
}
