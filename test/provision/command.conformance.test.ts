import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCommandBuildSystem } from '../../controller/provision/command/command.js';
import { BuildError } from '../../controller/provision/types.js';
import { tempDir } from '../helpers/tmp.js';
import { runBuildSystemConformance } from './conformance.js';

const EXAMPLE = fileURLToPath(new URL('../../boot/build-command-example.sh', import.meta.url));

runBuildSystemConformance('command (boot/build-command-example.sh)', async () => {
  const tmp = tempDir('muster-nodeset-');
  mkdirSync(join(tmp.dir, 'images'));
  const system = createCommandBuildSystem({ executable: EXAMPLE, env: { MUSTER_NODESET_DIR: tmp.dir }, timeoutMs: 20_000 });
  return {
    system,
    addImage: async (name) => writeFileSync(join(tmp.dir, 'images', name), ''),
    close: async () => {
      await system.close();
      tmp.remove();
    },
  };
});

/** A throwaway tool script in a temp dir. */
function tool(dir: string, body: string): string {
  const path = join(dir, 'tool.sh');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function failure(p: Promise<unknown>): Promise<BuildError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(BuildError);
  return err as BuildError;
}

describe('command protocol edges', () => {
  const cfg = { image: 'img', tags: [], interfaces: [] };

  it('non-zero exit → tool-failed with the last stderr line and the node', async () => {
    const tmp = tempDir('muster-tool-');
    try {
      const bs = createCommandBuildSystem({ executable: tool(tmp.dir, 'echo "starting" >&2\necho "nodeset: no such osimage img" >&2\nexit 3') });
      const err = await failure(bs.configure('n007', cfg));
      expect(err.code).toBe('tool-failed');
      expect(err.message).toBe('node n007: tool.sh configure failed (exit 3): nodeset: no such osimage img');
    } finally {
      tmp.remove();
    }
  });

  it('a tool that hangs is killed (with what it started) and reported as timeout', async () => {
    const tmp = tempDir('muster-tool-');
    try {
      const bs = createCommandBuildSystem({ executable: tool(tmp.dir, `sleep 30 &\necho $! > ${tmp.dir}/child.pid\nwait`), timeoutMs: 1000 });
      const started = Date.now();
      const err = await failure(bs.prepare('n001'));
      expect(err.code).toBe('timeout');
      expect(err.message).toBe('node n001: tool.sh prepare did not finish within 1 s (killed)');
      expect(Date.now() - started).toBeLessThan(5_000);
      const pid = Number(readFileSync(join(tmp.dir, 'child.pid'), 'utf8'));
      // The tool's own child went with it (its process group was killed).
      await expect.poll(() => { try { process.kill(pid, 0); return 'alive'; } catch { return 'gone'; } }, { timeout: 3_000 }).toBe('gone');
    } finally {
      tmp.remove();
    }
  });

  it('passes the node config as JSON on stdin and rejects output that is not the protocol', async () => {
    const tmp = tempDir('muster-tool-');
    try {
      const bs = createCommandBuildSystem({ executable: tool(tmp.dir, `cat > ${tmp.dir}/stdin.$1.json\ncase $1 in status) echo '{"state":"sleeping"}' ;; images) echo 'not json' ;; *) echo '{}' ;; esac`) });
      const ifaces = [{ name: 'eth0', dhcp: true, addresses: [] }];
      await bs.configure('n001', { image: 'img', tags: ['gpu'], interfaces: ifaces });
      await bs.prepare('n001');
      const sent = JSON.parse(readFileSync(join(tmp.dir, 'stdin.prepare.json'), 'utf8'));
      expect(sent).toEqual({ node: 'n001', config: { image: 'img', tags: ['gpu'], interfaces: ifaces } });
      const bad = await failure(bs.status('n001'));
      expect(bad.code).toBe('tool-failed');
      expect(bad.message).toContain('tool.sh status: unexpected output: state:');
      const notJson = await failure(bs.images());
      expect(notJson.message).toBe('tool.sh images: stdout is not JSON: "not json\\n"');
    } finally {
      tmp.remove();
    }
  });

  it('an executable that does not exist is a tool-failed error naming it', async () => {
    const bs = createCommandBuildSystem({ executable: '/nonexistent/nodeset' });
    const err = await failure(bs.images());
    expect(err.code).toBe('tool-failed');
    expect(err.message).toContain('nodeset images could not be started');
  });
});
