/**
 * `muster user …`, `muster token …`, `muster whoami`: users with roles and agent bootstrap tokens.
 * A new password is hashed here (scrypt) and only the hash is sent: it never crosses the network.
 */
import type { Command } from 'commander';
import { hashPassword } from '../../controller/auth/passwords.js';
import { ROLES, Role } from '../../shared/auth.js';
import { tokenHash } from '../../controller/auth/tokens.js';
import { isoTime, table } from '../format.js';
import { readSecret, withController } from '../session.js';
import { printJson, tokenJson, userJson } from '../json-output.js';

const role = (v: string): Role => {
  const r = Role.safeParse(v);
  if (!r.success) throw new Error(`--role "${v}" must be one of ${ROLES.join(', ')}`);
  return r.data;
};

/** The new user's password: typed twice on a terminal, else the first line of stdin. */
async function newPasswordHash(name: string): Promise<string> {
  const password = await readSecret(`new password for ${name}: `);
  if (process.stdin.isTTY && (await readSecret('again: ')) !== password) throw new Error('the passwords differ');
  return hashPassword(password);
}

export function registerUserCommands(program: Command): void {
  program
    .command('whoami')
    .description('the user and role the controller sees for this connection')
    .addHelpText('after', '\nExample:\n  MUSTER_USER=alice muster whoami\n')
    .action(async (_o: unknown, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('whoami'));
      process.stdout.write(`${r.user} (${r.role})\n`);
    });

  const user = program.command('user').description('users and their roles (viewer, operator, admin)');
  user
    .command('add <name>')
    .description('add a user; the password is read from the terminal (twice) or the first line of stdin')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .addHelpText('after', '\nExamples:\n  muster user add alice --role operator\n  pwgen -s 24 1 | tee alice.pw | muster user add alice --role viewer\n')
    .action(async (name: string, o: { role: Role }, cmd: Command) => {
      const passwordHash = await newPasswordHash(name);
      await withController(cmd, (c) => c.request('user-add', { name, role: o.role, passwordHash }));
      process.stdout.write(`user ${name} added (${o.role})\n`);
    });
  user
    .command('passwd <name>')
    .description("set a user's password (and optionally its role)")
    .option('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .addHelpText('after', '\nExamples:\n  muster user passwd alice\n  muster user passwd bob --role operator\n')
    .action(async (name: string, o: { role?: Role }, cmd: Command) => {
      const passwordHash = await newPasswordHash(name);
      const r = await withController(cmd, (c) => c.request('user-password', { name, passwordHash, role: o.role }));
      process.stdout.write(`user ${name}: password changed (${r.role})\n`);
    });
  user
    .command('remove <name>')
    .description('remove a user')
    .addHelpText('after', '\nExample:\n  muster user remove bob\n')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withController(cmd, (c) => c.request('user-remove', { name }));
      process.stdout.write(`user ${name} removed\n`);
    });
  user
    .command('list')
    .description('users and roles')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster user list\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const users = await withController(cmd, (c) => c.request('user-list'));
      if (o.json) return printJson('user list', users.map(userJson));
      process.stdout.write(table(['USER', 'ROLE', 'CREATED', 'BY'], users.map((u) => [u.name, u.role, isoTime(u.createdAt), u.createdBy])) + '\n');
    });

  const token = program.command('token').description('agent bootstrap tokens (agents send one as their MQTT password)');
  token
    .command('create')
    .description('mint a token; it is printed once, the controller keeps only its hash')
    .option('--note <text>', 'what the token is for (rack, image)')
    .addHelpText('after', '\nExample:\n  muster token create --note "rack 12 image" > token && chmod 600 token\n')
    .action(async (o: { note?: string }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('token-create', { note: o.note }));
      process.stderr.write(`token ${r.id} created; it is shown only now:\n`);
      process.stdout.write(`${r.token}\n`);
    });
  token
    .command('list')
    .description('tokens by id (never the tokens themselves)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster token list\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const list = await withController(cmd, (c) => c.request('token-list'));
      if (o.json) return printJson('token list', list.map(tokenJson));
      process.stdout.write(table(['ID', 'SOURCE', 'CREATED', 'BY', 'NOTE'], list.map((t) => [t.id, t.source, t.createdAt ? isoTime(t.createdAt) : '-', t.createdBy ?? '-', t.note ?? ''])) + '\n');
    });
  token
    .command('revoke <id>')
    .description('revoke a token: agents using it can no longer connect')
    .addHelpText('after', '\nExample:\n  muster token list\n  muster token revoke 3f2a9c1d8e7b\n')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withController(cmd, (c) => c.request('token-revoke', { id }));
      process.stdout.write(`token ${id} revoked\n`);
    });
  token
    .command('hash')
    .description('print the hash of a token read from stdin, for auth.agentTokens in the config file (offline)')
    .addHelpText('after', '\nExample:\n  muster token hash < token\n')
    .action(async () => {
      const t = (await readSecret('token: ')).trim();
      // Any long random string works as a token (`muster token create` makes 256-bit ones).
      if (t.length < 24) throw new Error('a token needs at least 24 characters (use muster token create, or 32 random bytes)');
      process.stdout.write(`${tokenHash(t)}\n`);
    });
}
