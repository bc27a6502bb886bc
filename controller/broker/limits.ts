/**
 * What one connection, and one source address, may cost the broker before and after it has
 * authenticated: MQTT packets are refused from their length header, before they are buffered,
 * and connections are counted in total and per source address.
 */
import type { Client } from 'aedes';
import { MAX_PAYLOAD_BYTES } from '../../shared/protocol.js';

/** A PUBLISH carries at most MAX_PAYLOAD_BYTES plus its topic (at most 64 KiB) and header fields. */
export const MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024 + 256;
/**
 * A CONNECT carries a client id (128 at most), a user name, a password or token and no will that
 * muster uses: 8 KiB is plenty, and it is all an unauthenticated client can make the broker hold.
 */
export const MAX_CONNECT_BYTES = 8 * 1024;

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** Addresses the per-source cap does not apply to (the controller host's own demo and benchmarks). */
  unlimitedSources: readonly string[];
}

/** Counts open connections; pure, so the rules are tested with plain data. */
export class ConnectionCounter {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(private readonly limits: ConnectionLimits) {}

  /** Null when admitted (call `release` when it closes), else the reason for the refusal. */
  admit(source: string): string | null {
    if (this.total >= this.limits.maxConnections) return `connection from ${source}: ${this.total} connections open, the limit (limits.maxConnections)`;
    const fromSource = this.bySource.get(source) ?? 0;
    if (fromSource >= this.limits.maxConnectionsPerSource && !this.limits.unlimitedSources.includes(source)) {
      return `connection from ${source}: ${fromSource} connections open from that address, the limit (limits.maxConnectionsPerSource)`;
    }
    this.total++;
    this.bySource.set(source, fromSource + 1);
    return null;
  }

  release(source: string): void {
    this.total--;
    const left = (this.bySource.get(source) ?? 1) - 1;
    if (left > 0) this.bySource.set(source, left);
    else this.bySource.delete(source);
  }
}

/** `::ffff:10.0.0.1` (a dual-stack listener's IPv4 peer) counts as `10.0.0.1`. */
export function sourceAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice('::ffff:'.length) : remoteAddress;
}

interface ParserInternals {
  packet: { cmd: string; length: number };
  _parseLength(this: ParserInternals): boolean;
  _emitError(err: Error): void;
}

/**
 * Makes `client`'s parser refuse a packet as soon as its remaining-length field says it is too big:
 * aedes' parser (mqtt-packet) would otherwise buffer whatever length a packet announces, 256 MiB
 * before a CONNECT is even authenticated. The refusal is a parser error: aedes closes the connection.
 */
export function limitPacketSizes(client: Client, onOversize: (what: string) => void): void {
  const parser = (client as unknown as { _parser?: ParserInternals })._parser;
  if (typeof parser?._parseLength !== 'function' || typeof parser._emitError !== 'function') {
    throw new Error('aedes client has no parser with _parseLength/_emitError: cannot limit MQTT packet sizes (aedes or mqtt-packet changed)');
  }
  const parseLength = parser._parseLength;
  parser._parseLength = function limitedParseLength(this: ParserInternals) {
    if (!parseLength.call(this)) return false;
    const { cmd, length } = this.packet;
    const limit = cmd === 'connect' ? MAX_CONNECT_BYTES : MAX_PACKET_BYTES;
    if (length <= limit) return true;
    const what = `${cmd} packet of ${length} bytes exceeds ${limit}`;
    onOversize(what);
    this._emitError(new Error(what));
    return false;
  };
}
