// `bench completion bash|zsh`: print a shell completion script generated from this CLI's commands.
import { Argument, Command } from 'commander';
import { bashCompletion, zshCompletion } from '../completion.js';

export function makeCompletionCommand(): Command {
  return new Command('completion')
    .description('print a shell completion script (bash or zsh), generated from the commands and their options')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh', _flags: unknown, command: Command) => {
      let root = command;
      while (root.parent) root = root.parent;
      process.stdout.write(shell === 'bash' ? bashCompletion(root) : zshCompletion(root));
    });
}
