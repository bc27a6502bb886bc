/**
 * `ipmi://user:pass@host[:port][?cipher=N]` — IPMI 2.0 over LAN through `ipmitool -I lanplus`.
 * The password goes to ipmitool in the environment (`-E` reads IPMI_PASSWORD), never on the
 * command line where `ps` would show it. Cipher suite 3 by default: without `-C` ipmitool first
 * tries suites the BMC refuses and every call takes ~10 s. The one-time network boot is
 * `chassis bootdev pxe` (IPMI boot flags valid for the next boot only), with `options=efiboot`
 * for a UEFI node: without it the flags say legacy BIOS boot.
 */
import type { BootMode, PowerBackend, PowerDriverFactory } from '../driver.js';
import { lastLine, runProgram } from '../../process/run.js';

type IpmiPowerCommand = 'status' | 'on' | 'off' | 'cycle' | 'reset';

export const ipmiDriver: PowerDriverFactory = {
  scheme: 'ipmi',
  nativeCycleByDefault: false, // `power cycle` is refused by many BMCs when the chassis is off
  params: ['cipher'],
  create({ url, opts }) {
    if (!url.hostname) throw new Error('missing host (expected ipmi://user:pass@host[:port])');
    const username = url.username ? decodeURIComponent(url.username) : opts.credentials?.username;
    const password = url.password ? decodeURIComponent(url.password) : opts.credentials?.password;
    if (!username || password === undefined) throw new Error('missing user and password (put them in the URL or in the node credentials)');
    const cipher = url.searchParams.get('cipher') ?? '3';
    if (!/^\d{1,2}$/.test(cipher)) throw new Error(`cipher= must be a cipher suite number, got "${cipher}"`);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const base = ['-I', 'lanplus', '-C', cipher, '-H', host, '-p', url.port || '623', '-U', username, '-E'];
    const env = { ...process.env, IPMI_PASSWORD: password };

    const ipmitool = async (args: readonly string[], signal: AbortSignal): Promise<string> => {
      const r = await runProgram('ipmitool', [...base, ...args], { env, signal });
      if (r.code !== 0) throw new Error(`ipmitool exited ${r.code}: ${lastLine(r.stderr) || lastLine(r.stdout) || 'no output'}`);
      return r.stdout;
    };
    const power = (cmd: IpmiPowerCommand, signal: AbortSignal) => ipmitool(['power', cmd], signal);
    const backend: PowerBackend = {
      async status(signal) {
        const out = await power('status', signal);
        const m = /Chassis Power is (on|off)/i.exec(out);
        if (!m?.[1]) throw new Error(`unexpected ipmitool output: ${lastLine(out) || 'none'}`);
        return m[1].toLowerCase() === 'on' ? 'on' : 'off';
      },
      on: async (signal) => void (await power('on', signal)),
      off: async (signal) => void (await power('off', signal)),
      reset: async (signal) => void (await power('reset', signal)),
      cycle: async (signal) => void (await power('cycle', signal)),
      netbootOnce: async (mode, signal) => void (await ipmitool(bootdevPxeArgs(mode), signal)),
    };
    return backend;
  },
};

/** ipmitool's arguments for a one-time PXE boot: the EFI flag only when the node is known to boot UEFI. */
export function bootdevPxeArgs(mode: BootMode | null): string[] {
  return ['chassis', 'bootdev', 'pxe', ...(mode === 'uefi' ? ['options=efiboot'] : [])];
}
