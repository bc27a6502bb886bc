/** A broker the agent reaches the controller through, checked once, with a form that is safe to print. */
export interface ControllerAddress {
  host: string;
  port: number;
  /** `mqtts://`: TLS, checked against the system CAs or the one given with --ca. */
  tls: boolean;
  /** `mqtt://host:port`: never carries credentials. */
  display: string;
}

const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883 };

export function parseControllerUrl(raw: string): ControllerAddress {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`controller URL "${redact(raw)}" is not a URL (expected mqtt[s]://HOST:PORT)`);
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined) {
    throw new Error(`controller URL "${redact(raw)}" must use mqtt:// or mqtts:// (got ${url.protocol}//)`);
  }
  if (url.username || url.password) {
    throw new Error('controller URL must not carry credentials: pass the token with --token-file or MUSTER_TOKEN');
  }
  if (!url.hostname) throw new Error(`controller URL "${raw}" has no host`);
  const port = url.port ? Number(url.port) : defaultPort;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port, tls: url.protocol === 'mqtts:', display: `${url.protocol}//${url.hostname}:${port}` };
}

/**
 * The agent's brokers, in the order it tries them: one URL, or several separated by commas
 * (`mqtt://a:1883,mqtt://b:1883`), as --controller, `muster.controller=` and MUSTER_CONTROLLER
 * give them.
 */
export function parseControllerUrls(raw: string): ControllerAddress[] {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new Error(`controller URL list "${redact(raw)}" has an empty entry (expected URLs separated by single commas)`);
  const addresses = parts.map(parseControllerUrl);
  const seen = new Set<string>();
  for (const a of addresses) {
    if (seen.has(a.display)) throw new Error(`controller URL list names ${a.display} twice`);
    seen.add(a.display);
  }
  return addresses;
}

/** `mqtt://user:secret@h` → `mqtt://***@h`, for error messages about malformed URLs. */
function redact(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, '//***@');
}
