/**
 * Who else uses a tty, from /proc: the processes whose controlling terminal it is (a login shell,
 * an editor: a console there would fight a person for every byte), the holders of its flock (what
 * `serialport` takes, as another muster would), and the processes with it open. Parsers are pure;
 * the readers below them do the I/O. Linux only, as the rest of muster.
 */
import { readFile, readdir, readlink, realpath } from 'node:fs/promises';

/** One process, for messages: `pid 812 (bash)`. */
export interface TtyUser {
  pid: number;
  comm: string;
}

export function describeUsers(users: readonly TtyUser[]): string {
  const named = users.slice(0, 3).map((u) => `pid ${u.pid} (${u.comm})${u.pid === process.pid ? ' (this controller)' : ''}`);
  return users.length > 3 ? `${named.join(', ')} and ${users.length - 3} more` : named.join(', ');
}

/**
 * `/proc/PID/stat`: the pid, command name, session and controlling terminal (`tty_nr`, 0 when
 * none). The name is in parentheses and may hold spaces and parentheses itself: it ends at the last `)`.
 */
export function parseProcStat(text: string): (TtyUser & { session: number; ttyNr: number }) | null {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // After the name: state ppid pgrp session tty_nr …
  const rest = text.slice(close + 2).split(' ');
  const pid = Number(text.slice(0, open));
  const session = Number(rest[3]);
  const ttyNr = Number(rest[4]);
  if (!Number.isInteger(pid) || !Number.isInteger(session) || !Number.isInteger(ttyNr)) return null;
  return { pid, comm: text.slice(open + 2, close), session, ttyNr };
}

/**
 * The pids holding a FLOCK on the file `major:minor:inode` (its filesystem's device and its inode),
 * from `/proc/locks` lines like `1: FLOCK  ADVISORY  WRITE 1234 00:19:4 0 EOF` (the device in hex).
 * Waiters (`->`) hold nothing.
 */
export function flockHolders(locks: string, file: { major: number; minor: number; inode: number }): number[] {
  const pids: number[] = [];
  for (const line of locks.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK') continue;
    const [major, minor, inode] = (f[5] ?? '').split(':');
    if (parseInt(major!, 16) === file.major && parseInt(minor!, 16) === file.minor && Number(inode) === file.inode) pids.push(Number(f[4]));
  }
  return pids;
}

/** A `dev_t` as Linux and glibc encode it (major in bits 8-19, minor in 0-7 and 20-31). */
export function splitDev(dev: number): { major: number; minor: number } {
  return { major: Math.floor(dev / 0x100) % 0x1000, minor: (dev % 0x100) + (Math.floor(dev / 0x100000) % 0x1000) * 0x100 };
}

/** The processes whose controlling terminal is the device `rdev` (`tty_nr` uses the same encoding as `st_rdev`); session leaders first. */
export async function controllingProcesses(rdev: number): Promise<TtyUser[]> {
  const found: Array<TtyUser & { leader: boolean }> = [];
  for (const pid of await processIds()) {
    const stat = parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''));
    if (stat && stat.ttyNr !== 0 && stat.ttyNr === rdev) found.push({ pid: stat.pid, comm: stat.comm, leader: stat.session === stat.pid });
  }
  return found.sort((a, b) => Number(b.leader) - Number(a.leader) || a.pid - b.pid).map(({ pid, comm }) => ({ pid, comm }));
}

/**
 * Who holds the tty at `path` (device `dev`, inode `ino` of its node in /dev): the holders of
 * its flock when there are any, else every process with it open. Processes that vanish while
 * they are looked at are left out.
 */
export async function ttyHolders(path: string, file: { dev: number; ino: number }): Promise<TtyUser[]> {
  const locks = await readFile('/proc/locks', 'utf8').catch(() => '');
  const lockers = flockHolders(locks, { ...splitDev(file.dev), inode: file.ino });
  const pids = lockers.length > 0 ? lockers : await openers(await realpath(path));
  const users: TtyUser[] = [];
  for (const pid of pids) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => null);
    if (comm !== null) users.push({ pid, comm: comm.trim() });
  }
  return users;
}

async function openers(device: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await processIds()) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => null)) === device) {
        pids.push(pid);
        break;
      }
    }
  }
  return pids;
}

async function processIds(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}
