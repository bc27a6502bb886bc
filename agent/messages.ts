/** Builds the agent's MQTT payloads (pure: the clock is injected, so tests can pin time). */
import type { AgentPhase, AgentState, AgentStatus, CredentialStored, Fingerprint, Heartbeat, Hello } from '../shared/protocol.js';
import { PROTOCOL_VERSION } from '../shared/wire.js';

export interface AgentClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Seconds since the machine booted. */
  uptime(): number;
}

export interface AgentFacts {
  agentId: string;
  bootId: string;
  agentVersion: string;
  fingerprint: Fingerprint;
  /** The heartbeat interval, ms, told in the hello (left out when not given). */
  intervalMs?: number;
}

export class AgentMessages {
  /** Heartbeat sequence: increases for the life of the process, across reconnects. */
  private seq = 0;
  /** This MQTT connection's number within the boot, carried by the hello and the will. */
  private connection = 1;

  constructor(
    readonly facts: AgentFacts,
    private readonly clock: AgentClock,
  ) {}

  hello(phase: AgentPhase): Hello {
    const { agentId, bootId, agentVersion, fingerprint, intervalMs } = this.facts;
    return { v: PROTOCOL_VERSION, agentId, bootId, connection: this.connection, agentVersion, phase, at: this.clock.now(), ...(intervalMs ? { interval: intervalMs } : {}), uptime: this.clock.uptime(), fingerprint };
  }

  state(phase: AgentPhase): AgentState {
    return { v: PROTOCOL_VERSION, bootId: this.facts.bootId, phase, at: this.clock.now() };
  }

  heartbeat(phase: AgentPhase): Heartbeat {
    return { v: PROTOCOL_VERSION, bootId: this.facts.bootId, seq: this.seq++, phase, uptime: this.clock.uptime(), at: this.clock.now() };
  }

  status(online: boolean): AgentStatus {
    return { v: PROTOCOL_VERSION, bootId: this.facts.bootId, connection: this.connection, online };
  }

  /** Before a reconnect: the next hello and will belong to a new connection. */
  nextConnection(): void {
    this.connection++;
  }

  /** `hash`: `sha256:<hex>` of the secret stored. */
  credentialStored(hash: string): CredentialStored {
    return { v: PROTOCOL_VERSION, bootId: this.facts.bootId, hash };
  }
}

/** Uptime that keeps counting from one reading of /proc/uptime, on a monotonic clock. */
export function uptimeClock(bootUptimeSeconds: number, monotonicMs: () => number = () => performance.now()): AgentClock {
  const startMs = monotonicMs();
  return {
    now: () => Date.now(),
    uptime: () => Math.round((bootUptimeSeconds + (monotonicMs() - startMs) / 1000) * 100) / 100,
  };
}
