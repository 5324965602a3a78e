// Shell completion scripts for `bench completion bash|zsh`, generated from the commander program itself
// (its commands, subcommands, options, and the choices of options and arguments), so they never drift
// from the CLI. The script walks the words typed so far: command words narrow the path (`jobs list`),
// an option that takes a value skips that value, and the candidates are the path's subcommands, options
// and argument choices, or the choices of the option just typed. zsh runs the same function through
// bashcompinit.
import type { Command } from 'commander';

interface CompletionNode {
  path: string;
  subcommands: string[];
  options: string[];
  /** Flags (long and short) that take a value. */
  valued: string[];
  /** Choices per valued flag. */
  choices: [string, string[]][];
  /** Choices of its positional arguments. */
  argumentChoices: string[];
}

function nodes(command: Command, path: string, out: CompletionNode[]): CompletionNode[] {
  const options = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
  const valuedOptions = command.options.filter((o) => o.required || o.optional);
  out.push({
    path,
    subcommands: command.commands.map((c) => c.name()),
    options: [...options, '--help'],
    valued: valuedOptions.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
    choices: valuedOptions.filter((o) => o.argChoices).flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined).map((f): [string, string[]] => [f, o.argChoices ?? []])),
    argumentChoices: command.registeredArguments.flatMap((a) => a.argChoices ?? []),
  });
  for (const sub of command.commands) nodes(sub, path === '' ? sub.name() : `${path} ${sub.name()}`, out);
  return out;
}

/** A bash word list, quoted for a case branch's echo. */
function words(list: readonly string[]): string {
  return `'${list.join(' ').replace(/'/g, `'\\''`)}'`;
}

/** The bash completion function of `program` (also what the zsh script runs). */
export function bashCompletion(program: Command): string {
  const all = nodes(program, '', []);
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  const root = all[0] as CompletionNode;
  const branch = (pick: (n: CompletionNode) => string[]) =>
    all
      .map((n) => ({ path: n.path, list: pick(n) }))
      .filter((b) => b.list.length > 0)
      .map((b) => `    ${words([b.path])}) echo ${words(b.list)} ;;`)
      .join('\n');
  const choiceBranches = all
    .flatMap((n) => [...n.choices, ...root.choices].map(([flag, list]) => `    ${words([`${n.path}|${flag}`])}) echo ${words(list)} ;;`))
    .filter((line, i, lines) => lines.indexOf(line) === i)
    .join('\n');
  return `# ${name} completion for bash, generated from the ${name} CLI by \`${name} completion bash\`.
# Install: ${name} completion bash > ~/.local/share/bash-completion/completions/${name}
#      or: echo 'source <(${name} completion bash)' >> ~/.bashrc
${fn}_subcommands() {
  case "$1" in
${branch((n) => n.subcommands)}
  esac
}
${fn}_words() {
  case "$1" in
${branch((n) => [...n.subcommands, ...n.argumentChoices, ...n.options])}
  esac
}
${fn}_valued() {
  case "$1" in
${branch((n) => n.valued)}
  esac
}
${fn}_choices() {
  case "$1" in
${choiceBranches}
  esac
}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word i
  local global_valued
  global_valued=" $(${fn}_valued "") "
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="\${COMP_WORDS[i]}"
    if [[ "$word" == -* ]]; then
      if [[ "$word" != *=* ]] && [[ "$global_valued $(${fn}_valued "$path") " == *" $word "* ]]; then
        if (( i + 1 == COMP_CWORD )); then
          COMPREPLY=($(compgen -W "$(${fn}_choices "$path|$word")" -- "$cur"))
          return 0
        fi
        (( i++ ))
      fi
    elif [[ " $(${fn}_subcommands "$path") " == *" $word "* ]]; then
      path="\${path:+$path }$word"
    fi
  done
  COMPREPLY=($(compgen -W "$(${fn}_words "$path")" -- "$cur"))
  return 0
}
complete -o default -F ${fn} ${name}
`;
}

/** The zsh completion: the bash function through zsh's bashcompinit. */
export function zshCompletion(program: Command): string {
  const name = program.name();
  return `# ${name} completion for zsh, generated from the ${name} CLI by \`${name} completion zsh\`.
# Install: echo 'source <(${name} completion zsh)' >> ~/.zshrc   (after compinit)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split('\n').filter((line) => !line.startsWith('# ')).join('\n')}`;
}
