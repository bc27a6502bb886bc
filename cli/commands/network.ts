/** The provisioning network: what muster's dnsmasq runs with and the leases it gave (docs/network.md). */
import type { Command } from 'commander';
import { isoTime, table } from '../format.js';
import { withController } from '../session.js';
import { leaseJson, printJson } from '../json-output.js';

export function registerNetworkCommands(program: Command): void {
  const dhcp = program.command('dhcp').description("muster's DHCP/TFTP server (dnsmasq) on the provisioning network");

  dhcp
    .command('show')
    .description('the dnsmasq configuration and hosts file muster rendered from the controller config and the node table (and grub.cfg under Secure Boot)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster dhcp show\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('dhcp-show'));
      if (o.json) return printJson('dhcp show', r);
      process.stdout.write(`# ${r.files.config}\n${r.config}\n# ${r.files.hosts}\n${r.hosts}`);
      if (r.grub !== null) process.stdout.write(`\n# ${r.files.grub}\n${r.grub}`);
    });

  dhcp
    .command('leases')
    .description('the leases dnsmasq handed out, with the node each MAC belongs to')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster dhcp leases\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('dhcp-leases'));
      if (o.json) return printJson('dhcp leases', rows.map(leaseJson));
      const body = rows.map((l) => [l.ip, l.mac, l.node ?? '-', l.hostname ?? '-', l.expiresAt === null ? 'never' : isoTime(l.expiresAt)]);
      process.stdout.write(table(['ADDRESS', 'MAC', 'NODE', 'HOSTNAME', 'EXPIRES'], body) + '\n');
    });
}
