/** The controller's MQTT address, checked once, with a form that is safe to print. */
export interface ControllerAddress {
  host: string;
  port: number;
  /** `mqtt://host:port`: never carries credentials. */
  display: string;
}

const DEFAULT_PORT = 1883;

export function parseControllerUrl(raw: string): ControllerAddress {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`controller URL "${redact(raw)}" is not a URL (expected mqtt://HOST:PORT)`);
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') {
    throw new Error(`controller URL "${redact(raw)}" must use mqtt:// (got ${url.protocol}//)`);
  }
  if (url.username || url.password) {
    throw new Error('controller URL must not carry credentials: pass the token with --token-file or MUSTER_TOKEN');
  }
  if (!url.hostname) throw new Error(`controller URL "${raw}" has no host`);
  const port = url.port ? Number(url.port) : DEFAULT_PORT;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port, display: `mqtt://${url.hostname}:${port}` };
}

/** `mqtt://user:secret@h` → `mqtt://***@h`, for error messages about malformed URLs. */
function redact(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, '//***@');
}
