/**
 * Programs muster runs because a setting names them — `command:` power scripts, build tools — run
 * only from the directories the config file allows (`commands.allowedDirs`), checked after
 * resolving symlinks and `..`: a power target is set over MQTT (define, set, import), and must not
 * make the controller run whatever file it can reach.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { isInsideDirs } from '../paths.js';

export class AllowedPrograms {
  constructor(private readonly dirs: readonly string[]) {}

  /** The program's real path; throws naming the program and the allowed directories when it is not in one. */
  async resolve(program: string): Promise<string> {
    if (!isAbsolute(program)) throw new Error(`${program} is not an absolute path (commands.allowedDirs: ${this.described()})`);
    let real: string;
    try {
      real = await realpath(program);
    } catch (err) {
      throw new Error(`${program}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    if (!(await isInsideDirs(real, this.dirs))) throw new Error(`${program}${real === program ? '' : ` (${real})`} is not inside a directory of commands.allowedDirs (${this.described()})`);
    return real;
  }

  private described(): string {
    return this.dirs.length ? this.dirs.join(', ') : 'none set: the config file must name the directories of command: programs';
  }
}
