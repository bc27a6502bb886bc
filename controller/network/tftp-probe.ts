/**
 * A TFTP read of one file's first block, as a PXE ROM starts it: RRQ, then DATA block 1 (or an
 * ERROR), then an ERROR back so the server stops sending. It runs in a child node, so that where
 * dnsmasq runs in a network namespace (`network.netns`) the probe runs there too (`ip netns exec`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The probe itself (CommonJS for `node -e`); argv: address, file, timeout ms. Prints one JSON line. */
const PROBE = `
const dgram = require('node:dgram');
const [address, file, ms] = process.argv.slice(1);
const done = (r) => { process.stdout.write(JSON.stringify(r) + '\\n'); process.exit(0); };
const s = dgram.createSocket('udp4');
setTimeout(() => done({ ok: false, error: 'no answer within ' + ms + ' ms' }), Number(ms));
s.on('error', (e) => done({ ok: false, error: e.message }));
s.on('message', (m, from) => {
  const op = m.readUInt16BE(0);
  if (op === 5) return done({ ok: false, error: 'TFTP error ' + m.readUInt16BE(2) + ': ' + m.subarray(4, Math.max(4, m.indexOf(0, 4))).toString() });
  if (op !== 3) return done({ ok: false, error: 'unexpected TFTP opcode ' + op });
  s.send(Buffer.concat([Buffer.from([0, 5, 0, 0]), Buffer.from('probe done\\0')]), from.port, from.address, () => done({ ok: true, bytes: m.length - 4 }));
});
s.send(Buffer.concat([Buffer.from([0, 1]), Buffer.from(file + '\\0octet\\0')]), 69, address);
`;

export type TftpOutcome = { ok: true; bytes: number } | { ok: false; error: string };

/** `netns`: run inside this namespace. Never throws: a probe that cannot run is an outcome too. */
export async function tftpRead(address: string, file: string, opts: { netns: string | null; timeoutMs?: number }): Promise<TftpOutcome> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const node = [process.execPath, '-e', PROBE, address, file, String(timeoutMs)];
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...node] : node;
  try {
    const { stdout } = await execFileP(argv[0]!, argv.slice(1), { timeout: timeoutMs + 5000 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as TftpOutcome;
  } catch (err) {
    return { ok: false, error: `the probe did not run: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** The interface's first IPv4 address (inside `netns` when given), or null. */
export async function interfaceAddress(ifname: string, netns: string | null): Promise<string | null> {
  try {
    const { stdout } = await execFileP('ip', [...(netns ? ['-n', netns] : []), '-j', '-4', 'addr', 'show', 'dev', ifname]);
    const links = JSON.parse(stdout) as Array<{ addr_info?: Array<{ family: string; local: string }> }>;
    return links.flatMap((l) => l.addr_info ?? []).find((a) => a.family === 'inet')?.local ?? null;
  } catch {
    return null;
  }
}
