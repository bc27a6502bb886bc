import { Argument, type Command } from 'commander';
import { withController } from '../session.js';

/**
 * Shell completion: `muster completion bash|zsh` prints a script. Bash completes subcommands at
 * every level, the fixed values of arguments and options (power actions, history axes), every
 * command's options, and node and group names asked from the controller (`muster _names`) where a
 * command takes a node, range, group or target. The tables come from the commander tree itself.
 */
export function registerCompletionCommands(program: Command): void {
  program
    .command('completion')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .description('print a completion script for bash or zsh')
    .addHelpText('after', '\nExamples (install):\n  muster completion bash > /etc/bash_completion.d/muster\n  muster completion zsh > "${fpath[1]}/_muster"\n')
    .action((shell: string) => {
      const verbs = program.commands.map((c) => c.name()).filter((n) => !n.startsWith('_'));
      process.stdout.write(shell === 'bash' ? bashScript(completionTable(program)) : zshScript(verbs));
    });

  program
    .command('_names', { hidden: true })
    .description('node and group names, one per line (for completion)')
    .action(async (_o: unknown, cmd: Command) => {
      const names = await withController(cmd, async (c) => {
        const [nodes, groups] = await Promise.all([c.request('nodes', {}), c.request('groups')]);
        return [...nodes.map((n) => n.node), ...Object.keys(groups)];
      });
      process.stdout.write(names.join('\n') + '\n');
    });
}

/** What bash may offer at one command (its path from the program, `muster power`). */
interface CompletionEntry {
  path: string;
  /** Subcommands and the fixed values of its arguments. */
  words: string[];
  /** Its options and the program's global ones. */
  options: string[];
  /** Fixed values per option that takes one. */
  optionValues: Record<string, string[]>;
  /** Whether an argument is a node, range, group or target: names from the controller. */
  names: boolean;
}

const NAME_ARGUMENTS = new Set(['node', 'range', 'group', 'target']);

/** Every visible command's entry, the program's first. */
function completionTable(program: Command): CompletionEntry[] {
  const global = longOptions(program);
  const entries: CompletionEntry[] = [];
  const visit = (cmd: Command, path: string) => {
    const subcommands = cmd.commands.filter((c) => !c.name().startsWith('_'));
    const args = cmd.registeredArguments;
    entries.push({
      path,
      words: [...subcommands.map((c) => c.name()), ...args.flatMap((a) => a.argChoices ?? [])],
      options: [...new Set([...longOptions(cmd), ...global, '--help'])],
      optionValues: Object.fromEntries([...cmd.options, ...program.options].filter((o) => o.long && o.argChoices).map((o) => [o.long!, o.argChoices!])),
      names: args.some((a) => NAME_ARGUMENTS.has(a.name())),
    });
    for (const c of subcommands) visit(c, `${path} ${c.name()}`);
  };
  visit(program, 'muster');
  return entries;
}

function longOptions(cmd: Command): string[] {
  return cmd.options.filter((o) => !o.hidden && o.long).map((o) => o.long!);
}

function bashScript(table: CompletionEntry[]): string {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const assoc = (name: string, pairs: Array<[string, string]>) => `declare -gA ${name}=(\n${pairs.map(([k, v]) => `  [${q(k)}]=${q(v)}\n`).join('')})`;
  return `# muster bash completion (muster completion bash)
${assoc('_muster_words', table.map((e) => [e.path, e.words.join(' ')]))}
${assoc('_muster_options', table.map((e) => [e.path, e.options.join(' ')]))}
${assoc('_muster_option_values', table.flatMap((e) => Object.entries(e.optionValues).map(([o, v]): [string, string] => [`${e.path} ${o}`, v.join(' ')])))}
${assoc('_muster_names', table.filter((e) => e.names).map((e) => [e.path, '1']))}
_muster() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path=muster i
  # The deepest command named so far: muster, muster image, muster image build.
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ -n \${_muster_options["$path \${COMP_WORDS[i]}"]+x} ]] && path="$path \${COMP_WORDS[i]}"
  done
  if [[ -n \${_muster_option_values["$path $prev"]+x} ]]; then
    COMPREPLY=( $(compgen -W "\${_muster_option_values["$path $prev"]}" -- "$cur") )
  elif [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "\${_muster_options[$path]}" -- "$cur") )
  else
    local words=\${_muster_words[$path]}
    [[ -n \${_muster_names[$path]+x} ]] && words="$words $(muster _names 2>/dev/null)"
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  fi
}
complete -F _muster muster
`;
}

function zshScript(verbs: string[]): string {
  return `#compdef muster
# muster zsh completion
_muster() {
  if (( CURRENT == 2 )); then
    compadd -- ${verbs.join(' ')}
  else
    compadd -- \${(f)"$(muster _names 2>/dev/null)"}
  fi
}
_muster "$@"
`;
}
