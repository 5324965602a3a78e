// systemd without a running systemd: `systemd-analyze verify` on unit files, and a reader of an
// ExecStart= line by the rules of systemd.syntax(7) and systemd.service(5) ("Command lines"):
// words split on whitespace, "…" and '…' quoting with C escapes, then %% -> % (the only specifier
// a generated line may hold) and, in the arguments, $$ -> $ (a lone $ would expand a variable).
import { spawnSync } from 'node:child_process';

/** Lines of `systemd-analyze verify` output that report a real problem (not a note about the host). */
export const VERIFY_ERRORS = /Failed|Invalid|Unbalanced|not executable|special characters|bad unit file|fatal|Refusing|Unknown|ignoring/i;

export function verifyUnits(files: readonly string[]): { code: number | null; output: string } {
  const run = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
  if (run.error) throw new Error(`cannot run systemd-analyze (apt-get install systemd): ${run.error.message}`);
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', s: ' ', '\\': '\\', '"': '"', "'": "'" };

/** The argv an ExecStart= value runs. */
export function execStartArgv(value: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === ' ' || value[i] === '\t') i++;
    if (i >= value.length) break;
    let word = '';
    let quote: string | undefined;
    for (; i < value.length; i++) {
      const c = value[i] as string;
      if (quote === undefined && (c === ' ' || c === '\t')) break;
      if (c === quote) quote = undefined;
      else if (quote === undefined && (c === '"' || c === "'")) quote = c;
      else if (c === '\\') {
        const next = value[++i] ?? '';
        const escaped = ESCAPES[next];
        if (escaped === undefined) throw new Error(`unsupported escape \\${next} in ${value}`);
        word += escaped;
      } else word += c;
    }
    if (quote !== undefined) throw new Error(`unbalanced quoting in ${value}`);
    words.push(word);
  }
  return words.map((word, n) => {
    const specified = word.replace(/%(.)/g, (_, c: string) => {
      if (c !== '%') throw new Error(`specifier %${c} in ${value}`);
      return '%';
    });
    if (n === 0) return specified;
    return specified.replace(/\$(\$?)/g, (_, escaped: string) => {
      if (!escaped) throw new Error(`a variable systemd would expand in ${value}`);
      return '$';
    });
  });
}
