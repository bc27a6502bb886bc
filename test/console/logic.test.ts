import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONSOLE_BACKOFF } from '../../controller/console/session.js';
import { Backoff } from '../../shared/backoff.js';
import { ESCAPE_START, scanEscape, type EscapeState } from '../../controller/console/escape.js';
import { LineSplitter } from '../../controller/console/lines.js';
import { incompleteUtf8Tail, logText } from '../../controller/console/log-text.js';
import { DEFAULT_PATTERNS, LineMatcher, mergePatterns } from '../../controller/console/patterns.js';
import { CONSOLE_KINDS, parseConsoleTarget } from '../../controller/console/registry.js';
import { redactUrl } from '../../controller/console/target.js';
import { flockHolders, parseProcStat, splitDev } from '../../controller/console/tty-users.js';
import { WriterLock } from '../../controller/console/writer-lock.js';
import { CONSOLE_KIND_CAPABILITIES } from './conformance.js';
import { escapeSolInput, SolConsole } from '../../controller/console/drivers/sol.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('logText', () => {
  it('keeps valid UTF-8 and escape sequences, escapes invalid bytes and NUL', () => {
    expect(logText(b('héllo → \x1b[1mok\x1b[0m'))).toBe('héllo → \x1b[1mok\x1b[0m');
    expect(logText(Buffer.from([0x61, 0xff, 0x62, 0x00, 0xc3]))).toBe('a\\xffb\\x00\\xc3');
    // overlong encoding of "/" and a UTF-16 surrogate are not valid UTF-8
    expect(logText(Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80]))).toBe('\\xc0\\xaf\\xed\\xa0\\x80');
    expect(logText(b('😀'))).toBe('😀');
  });
  it('finds a half-received character at the end', () => {
    const euro = b('€'); // 3 bytes
    expect(incompleteUtf8Tail(Buffer.concat([b('a'), euro.subarray(0, 2)]))).toBe(2);
    expect(incompleteUtf8Tail(Buffer.concat([b('a'), euro]))).toBe(0);
    expect(incompleteUtf8Tail(b('abc'))).toBe(0);
  });
});

describe('LineSplitter', () => {
  it('cuts lines across chunk boundaries, strips CRLF, stamps the first byte time', () => {
    const s = new LineSplitter();
    expect(s.push(b('Linux ver'), 1000)).toEqual([]);
    const lines = s.push(b('sion 6.1\r\nsecond\r'), 2000);
    expect(lines).toEqual([{ at: 1000, text: 'Linux version 6.1', full: 'Linux version 6.1', complete: true }]);
    expect(s.push(b('\n'), 3000)).toEqual([{ at: 2000, text: 'second', full: 'second', complete: true }]);
    expect(s.hasPartial).toBe(false);
  });
  it('flushes a prompt as a partial line and keeps the logical line for matching', () => {
    const s = new LineSplitter();
    s.push(b('n1 login: '), 10);
    expect(s.flushPartial(20)).toEqual({ at: 10, text: 'n1 login: ', full: 'n1 login: ', complete: false });
    expect(s.flushPartial(30)).toBeNull();
    expect(s.push(b('root\n'), 40)).toEqual([{ at: 40, text: 'root', full: 'n1 login: root', complete: true }]);
  });
  it('never splits a UTF-8 character when flushing or cutting long lines', () => {
    const s = new LineSplitter(16);
    const euro = b('€');
    s.push(Buffer.concat([b('x'), euro.subarray(0, 1)]), 1);
    expect(s.flushPartial(2)?.text).toBe('x');
    expect(s.push(Buffer.concat([euro.subarray(1), b('\n')]), 3)[0]?.text).toBe('€');
    const long = s.push(b('€'.repeat(10) + '\n'), 4); // 30 bytes, cut at 16 → 15 bytes (5 €)
    expect(long.map((l) => l.text)).toEqual(['€€€€€', '€€€€€']);
  });
});

describe('patterns', () => {
  const lines = (s: LineSplitter, text: string, at = 0) => s.push(b(text), at);
  it('match across chunk boundaries, once per line', () => {
    const s = new LineSplitter();
    const m = new LineMatcher(DEFAULT_PATTERNS);
    const hits: string[] = [];
    for (const chunk of ['[ 42.1] Kernel pa', 'nic - not syncing\r', '\n[ 42.2] Call', ' Trace:\n']) for (const l of lines(s, chunk)) hits.push(...m.match(l));
    expect(hits).toEqual(['kernel-panic', 'call-trace']);
  });
  it('see a login prompt on a flushed partial line without reporting it twice', () => {
    const s = new LineSplitter();
    const m = new LineMatcher(DEFAULT_PATTERNS);
    lines(s, 'n1 login: ');
    expect(m.match(s.flushPartial(1)!)).toEqual(['login-prompt']);
    expect(lines(s, '\n').flatMap((l) => m.match(l))).toEqual([]);
    expect(m.match(lines(s, 'Last login: Mon\n')[0]!)).toEqual([]);
  });
  it('merge per group and node: replace by name, remove with an empty regex', () => {
    const merged = mergePatterns(DEFAULT_PATTERNS, [{ name: 'oom', regex: 'Out of memory' }], [{ name: 'login-prompt', regex: '' }, { name: 'kernel-bug', regex: 'bug', flags: 'i' }]);
    expect(merged.map((p) => p.name).sort()).toEqual(['call-trace', 'kernel-bug', 'kernel-panic', 'oom']);
    expect(new LineMatcher(merged).match({ at: 0, text: '', full: 'a Bug here', complete: true })).toEqual(['kernel-bug']);
  });
  it('refuse bad regexes, names and stateful flags with a clear error', () => {
    expect(() => new LineMatcher([{ name: 'x', regex: '(' }])).toThrow(/console pattern "x": invalid regular expression/);
    expect(() => new LineMatcher([{ name: 'a b', regex: 'x' }])).toThrow(/pattern name "a b"/);
    expect(() => new LineMatcher([{ name: 'g', regex: 'x', flags: 'g' }])).toThrow(/flags "g" and "y"/);
  });
});

describe('scanEscape (ConMan escapes at the start of a line)', () => {
  const feed = (chunks: string[]) => {
    let state: EscapeState = ESCAPE_START;
    let sent = '';
    for (const c of chunks) {
      const r = scanEscape(state, b(c));
      state = r.state;
      sent += r.forward.toString();
      if (r.command) return { sent, command: r.command, rest: r.rest.toString() };
    }
    return { sent, command: null, state };
  };
  it('detaches on &. at session start and after CR or LF, also split across keystrokes', () => {
    expect(feed(['&.'])).toEqual({ sent: '', command: 'detach', rest: '' });
    expect(feed(['ls\r', '&', '.'])).toEqual({ sent: 'ls\r', command: 'detach', rest: '' });
    expect(feed(['x\n&.rest'])).toEqual({ sent: 'x\n', command: 'detach', rest: 'rest' });
  });
  it('&F takes the writer and &? lists the escapes; what follows the command is left to scan', () => {
    expect(feed(['&Fls\r'])).toEqual({ sent: '', command: 'force', rest: 'ls\r' });
    expect(feed(['date\r&?'])).toEqual({ sent: 'date\r', command: 'help', rest: '' });
    // After a command the line start is kept: `&.` right after `&F` detaches.
    const afterForce = scanEscape(ESCAPE_START, b('&F&.'));
    expect(scanEscape(afterForce.state, afterForce.rest)).toMatchObject({ command: 'detach' });
  });
  it('passes & through elsewhere, && sends one &, & plus another key sends both', () => {
    expect(feed(['a&.b'])).toMatchObject({ sent: 'a&.b', command: null });
    expect(feed(['a&Fb'])).toMatchObject({ sent: 'a&Fb', command: null });
    expect(feed(['&&.'])).toMatchObject({ sent: '&.', command: null });
    expect(feed(['&x'])).toMatchObject({ sent: '&x', command: null });
    expect(feed(['\r&'])).toMatchObject({ sent: '\r', command: null, state: { atLineStart: true, pending: true } });
  });
});

describe('WriterLock (one writer, ConMan rules)', () => {
  it('lets one client write, refuses another naming the writer as user@host, releases only by the holder', () => {
    const lock = new WriterLock('node n1');
    expect(lock.claim('cli-a', { who: 'alice@ws1' })).toEqual({ displaced: null });
    expect(lock.claim('cli-a', { who: 'alice@ws1' })).toEqual({ displaced: null });
    expect(() => lock.claim('cli-b', { who: 'bob@ws2' })).toThrow('node n1: console is attached read-write by alice@ws1, use --force or --read-only');
    expect(() => lock.check('cli-b')).toThrow(/node n1: not the console writer \(alice@ws1 is\)/);
    expect(lock.release('cli-b')).toBe(false);
    expect(lock.claim('cli-b', { who: 'bob@ws2', force: true })).toEqual({ displaced: { clientId: 'cli-a', who: 'alice@ws1' } });
    expect(lock.writer).toEqual({ clientId: 'cli-b', who: 'bob@ws2' });
    expect(lock.release('cli-b')).toBe(true);
    expect(() => lock.check('cli-b')).toThrow(/nobody is attached read-write/);
  });
});

describe('Backoff', () => {
  it('grows by the factor up to the cap, jitters within bounds, resets', () => {
    const bo = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 }, () => 0.5);
    expect([bo.next(), bo.next(), bo.next(), bo.next(), bo.next()]).toEqual([100, 200, 400, 800, 1000]);
    bo.reset();
    expect(bo.next()).toBe(100);
    expect(new Backoff({ ...CONSOLE_BACKOFF, initialMs: 100 }, () => 0).next()).toBe(80);
    expect(() => new Backoff({ ...CONSOLE_BACKOFF, initialMs: 0 })).toThrow(/backoff .* is invalid/);
  });
});

describe('parseConsoleTarget', () => {
  it('parses each kind', () => {
    expect(CONSOLE_KINDS).toEqual(['serial', 'tcp', 'sol', 'sim']);
    expect(parseConsoleTarget('serial:/dev/ttyS0@115200')).toEqual({ kind: 'serial', path: '/dev/ttyS0', baudRate: 115200 });
    expect(parseConsoleTarget('serial:/dev/ttyUSB3')).toEqual({ kind: 'serial', path: '/dev/ttyUSB3', baudRate: 115200 });
    expect(parseConsoleTarget('tcp://ts1.lab:7001')).toEqual({ kind: 'tcp', host: 'ts1.lab', port: 7001 });
    expect(parseConsoleTarget('tcp://[::1]:7001')).toEqual({ kind: 'tcp', host: '::1', port: 7001 });
    expect(parseConsoleTarget('sol:', { ipmiUrl: 'ipmi://admin:p%40ss@10.1.0.12:6230' })).toEqual({ kind: 'sol', host: '10.1.0.12', port: 6230, user: 'admin', password: 'p@ss' });
    expect(parseConsoleTarget('sol:ipmi://root:x@bmc1')).toMatchObject({ kind: 'sol', host: 'bmc1', port: 623 });
    expect(parseConsoleTarget('sim://')).toEqual({ kind: 'sim' });
  });
  it('names what is wrong and never shows a password', () => {
    expect(() => parseConsoleTarget('serial:ttyS0')).toThrow('console target "serial:ttyS0": expected serial:/dev/NAME[@BAUD]');
    expect(() => parseConsoleTarget('serial:/dev/ttyS0@12')).toThrow(/baud rate 12 is out of range/);
    expect(() => parseConsoleTarget('tcp://host')).toThrow(/expected tcp:\/\/HOST:PORT/);
    expect(() => parseConsoleTarget('sol:')).toThrow(/needs the node's IPMI power target/);
    expect(() => parseConsoleTarget('sol:', { ipmiUrl: 'redfish://u:secret@h/Systems/1' })).toThrow(/"redfish:\/\/u:\*\*\*@h\/Systems\/1" is not ipmi/);
    expect(() => parseConsoleTarget('telnet://h:23')).toThrow('console target "telnet://h:23": unknown kind (expected serial:/dev/NAME[@BAUD], tcp://HOST:PORT, sol:[ipmi://USER:PASS@HOST[:PORT]], sim://)');
    expect(() => parseConsoleTarget('sim://x')).toThrow('console target "sim://x": expected sim://');
    expect(() => parseConsoleTarget('sol:ipmi://admin:topsecret@')).toThrow('console target "sol:ipmi://admin:***@": "ipmi://admin:***@" is not ipmi://USER:PASS@HOST[:PORT]');
    expect(redactUrl('sol:ipmi://admin:topsecret@bmc:623')).toBe('sol:ipmi://admin:***@bmc:623');
  });
});

describe('the console kind list', () => {
  it('every registered kind runs the conformance suite and has a capability entry', () => {
    for (const kind of CONSOLE_KINDS) expect(existsSync(new URL(`./${kind}.conformance.test.ts`, import.meta.url)), `test/console/${kind}.conformance.test.ts`).toBe(true);
    expect(Object.keys(CONSOLE_KIND_CAPABILITIES).sort()).toEqual([...CONSOLE_KINDS].sort());
  });
});

describe('SOL driver pieces', () => {
  it('builds ipmitool arguments without the password (it goes in the environment)', () => {
    const sol = new SolConsole({ host: '10.1.0.12', port: 6230, user: 'admin', password: 'topsecret' });
    expect(sol.args('activate')).toEqual(['-I', 'lanplus', '-C', '3', '-H', '10.1.0.12', '-p', '6230', '-U', 'admin', '-E', 'sol', 'activate']);
    expect(sol.target).toBe('sol:ipmi://admin:***@10.1.0.12:6230');
  });
  it('doubles ~ at line starts so typed text cannot end the session', () => {
    expect(escapeSolInput(b('~.'), true)).toEqual({ data: b('~~.'), atLineStart: false });
    expect(escapeSolInput(b('a~.\r~?'), false)).toEqual({ data: b('a~.\r~~?'), atLineStart: false });
    expect(escapeSolInput(b('ls\n'), false).atLineStart).toBe(true);
  });
});

describe('tty users from /proc (pure parsers)', () => {
  it('reads pid, name, session and controlling terminal from /proc/PID/stat, a name with spaces and parentheses included', () => {
    expect(parseProcStat('812 (bash) S 800 812 812 34816 900 4194560 0 0')).toEqual({ pid: 812, comm: 'bash', session: 812, ttyNr: 34816 });
    expect(parseProcStat('77 (my (odd) name) S 1 77 70 0 -1 4194560')).toEqual({ pid: 77, comm: 'my (odd) name', session: 70, ttyNr: 0 });
    expect(parseProcStat('garbage')).toBeNull();
  });
  it('finds the holders of a flock by device and inode in /proc/locks, not its waiters', () => {
    const locks = ['1: FLOCK  ADVISORY  WRITE 4242 00:19:4 0 EOF', '1: -> FLOCK  ADVISORY  WRITE 5151 00:19:4 0 EOF', '2: POSIX  ADVISORY  WRITE 99 00:19:4 0 EOF', '3: FLOCK  ADVISORY  WRITE 7 fe:00:4 0 EOF'].join('\n');
    expect(flockHolders(locks, { major: 0, minor: 0x19, inode: 4 })).toEqual([4242]);
    expect(flockHolders(locks, { major: 0xfe, minor: 0, inode: 4 })).toEqual([7]);
  });
  it('splits a dev_t into major and minor as Linux encodes it', () => {
    expect(splitDev(34816)).toEqual({ major: 136, minor: 0 }); // /dev/pts/0
    expect(splitDev((136 << 8) | 0x05 | (0x123 << 20))).toEqual({ major: 136, minor: 0x12305 });
  });
});
