import { CLI_JSON, type CliJson, type CliJsonOutput } from '../../shared/cli-output.js';
import { describeZodError } from '../../shared/protocol.js';

/** `muster … --json`'s stdout checked against its schema (shared/cli-output.ts): the parsed value, or an error naming the first keys that differ. */
export function expectCliJson<K extends CliJsonOutput>(output: K, stdout: string): CliJson<K> {
  const r = CLI_JSON[output].safeParse(JSON.parse(stdout));
  if (!r.success) throw new Error(`muster ${output} --json does not match its schema: ${describeZodError(r.error)}\n${stdout}`);
  return r.data as CliJson<K>;
}
