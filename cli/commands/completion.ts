import type { Command } from 'commander';
import { withController } from '../session.js';

/**
 * Shell completion: `muster completion bash|zsh` prints a script that completes verbs and, for
 * arguments, node and group names asked from the controller (`muster _names`).
 */
export function registerCompletionCommands(program: Command): void {
  program
    .command('completion <shell>')
    .description('print a completion script for bash or zsh')
    .addHelpText('after', '\nExamples (install):\n  muster completion bash > /etc/bash_completion.d/muster\n  muster completion zsh > "${fpath[1]}/_muster"\n')
    .action((shell: string) => {
      const verbs = program.commands.map((c) => c.name()).filter((n) => !n.startsWith('_'));
      if (shell === 'bash') return void process.stdout.write(bashScript(verbs));
      if (shell === 'zsh') return void process.stdout.write(zshScript(verbs));
      throw new Error(`completion: "${shell}" is not bash or zsh`);
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

function bashScript(verbs: string[]): string {
  return `# muster bash completion
_muster() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${verbs.join(' ')}" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$(muster _names 2>/dev/null)" -- "$cur") )
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
