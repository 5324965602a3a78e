// `bench dashboard set-password [--user NAME] [--sites a,b] [--role admin|viewer]` and `bench dashboard
// token [--user NAME]`: the dashboard's users, kept in dashboard_users of sites/common_site_config.json
// as hashes only (scrypt for the password, sha256 for API tokens; src/dashboard/auth/). The password is
// read from stdin: one line from a pipe, or typed twice without echo on a terminal. A new API token is
// printed once, alone on stdout (for `TOKEN=$(bench dashboard token)`; a note goes to stderr when it is a
// terminal), and stored nowhere in clear.
import { Command, Option } from 'commander';
import { listSites, type BenchConfig } from '../../config/load.js';
import { isSiteName, SITE_NAME_RULE } from '../../config/names.js';
import type { DashboardUserConfig } from '../../config/schema.js';
import { updateCommonConfig } from '../../config/update.js';
import { BenchError } from '../../errors.js';
import { dashboardUsers, findUser, hashPassword, MAX_PASSWORD_LENGTH, newApiToken, USER_NAME } from '../../dashboard/auth/index.js';
import { benchFrom } from '../context.js';
import { printResult } from '../output.js';

interface SetPasswordFlags {
  user: string;
  sites?: string;
  role?: 'admin' | 'viewer';
}

export function registerDashboardUserCommands(dashboard: Command): void {
  dashboard.addCommand(setPasswordCommand().exitOverride());
  dashboard.addCommand(tokenCommand().exitOverride());
}

function setPasswordCommand(): Command {
  return new Command('set-password')
    .description('set (or change) a dashboard user\'s password, read from stdin; a new user sees every site as an admin unless told otherwise')
    .option('--user <name>', 'the user (letters, digits, "_", ".", "@", "-")', 'admin')
    .option('--sites <sites>', 'the sites the user sees and acts on, comma-separated, or "*" for every site (default: every site for a new user, unchanged for an existing one)')
    .addOption(new Option('--role <role>', 'admin (looks and acts) or viewer (only looks) (default: admin for a new user, unchanged for an existing one)').choices(['admin', 'viewer']))
    .action(async (flags: SetPasswordFlags, command: Command) => {
      const name = checkUserName(flags.user);
      const bench = benchFrom(command);
      const sites = flags.sites === undefined ? undefined : parseSites(bench, flags.sites);
      const password = await readPassword(name);
      const hash = await hashPassword(password);
      // Read again after the (possibly long) typing, so that an edit made meanwhile is kept.
      const users = dashboardUsers(benchFrom(command));
      const existing = findUser(users, name);
      const entry: DashboardUserConfig = {
        password: hash,
        role: flags.role ?? existing?.role ?? 'admin',
        sites: sites ?? existing?.sites ?? ['*'],
        ...(existing?.tokens === undefined ? {} : { tokens: existing.tokens }),
      };
      updateCommonConfig(bench, { dashboard_users: { ...users, [name]: entry } });
      const scope = entry.sites.length === 1 && entry.sites[0] === '*' ? 'every site' : `sites ${entry.sites.join(', ')}`;
      const lines = [`${existing === undefined ? 'added' : 'updated'} dashboard user ${name} (${entry.role}, ${scope}) in ${bench.commonConfigFile}: only the password's hash is stored`];
      if (existing?.password !== undefined) lines.push(`its sessions logged in with the old password end at their next request`);
      if (Object.keys(users).length === 0) lines.push('the dashboard now asks for a login (or an API token: bench dashboard token)');
      printResult(false, undefined, lines.join('\n'));
    });
}

function tokenCommand(): Command {
  return new Command('token')
    .description('make a new API token for a dashboard user (send it as Authorization: Bearer <token>); printed once, only its hash is stored')
    .option('--user <name>', 'the user (made by set-password)', 'admin')
    .action((flags: { user: string }, command: Command) => {
      const name = checkUserName(flags.user);
      const bench = benchFrom(command);
      const users = dashboardUsers(bench);
      const user = findUser(users, name);
      if (user === undefined) throw unknownUser(bench, name, Object.keys(users));
      const { token, hash } = newApiToken();
      updateCommonConfig(bench, { dashboard_users: { ...users, [name]: { ...user, tokens: [...(user.tokens ?? []), hash] } } });
      process.stdout.write(`${token}\n`);
      // For the person at a terminal; a script reading $(bench dashboard token) gets the token alone.
      if (process.stderr.isTTY === true) process.stderr.write(`new API token of dashboard user ${name} (${user.role}), shown only now; send it as "Authorization: Bearer <token>"; its hash is in ${bench.commonConfigFile}\n`);
    });
}

function usage(message: string): BenchError {
  return new BenchError('ERR_USAGE', message, { exitCode: 2 });
}

function checkUserName(name: string): string {
  if (USER_NAME.test(name)) return name;
  throw usage(`--user must be 1-64 letters, digits, "_", ".", "@" or "-", found ${JSON.stringify(name)}`);
}

function unknownUser(bench: BenchConfig, name: string, known: readonly string[]): BenchError {
  const users = known.length === 0 ? 'it has none' : `it has ${known.join(', ')}`;
  return new BenchError('ERR_USAGE', `no dashboard user ${name} in ${bench.commonConfigFile} (${users}): add it first with bench dashboard set-password --user ${name}`, {
    exitCode: 2,
    details: { user: name },
  });
}

/** --sites: "*" alone, or site names of this bench (exact names; a typo is refused, not stored). */
function parseSites(bench: BenchConfig, value: string): string[] {
  const sites = [...new Set(value.split(',').map((site) => site.trim()))];
  if (sites.includes('')) throw usage(`--sites must be "*" or site names separated by commas, found ${JSON.stringify(value)} (an empty name)`);
  if (sites.includes('*')) {
    if (sites.length > 1) throw usage(`--sites "*" means every site: give it alone, not with site names (found ${JSON.stringify(value)})`);
    return ['*'];
  }
  const bad = sites.find((site) => !isSiteName(site));
  if (bad !== undefined) throw usage(`--sites: ${JSON.stringify(bad)} is not a site name (${SITE_NAME_RULE})`);
  const known = listSites(bench);
  const missing = sites.filter((site) => !known.includes(site));
  if (missing.length > 0) {
    throw new BenchError('ERR_SITE_NOT_FOUND', `--sites: no site ${missing.join(', ')} in ${bench.sitesDir} (its sites: ${known.join(', ') || 'none'})`, { details: { sites: missing } });
  }
  return sites;
}

/** The password: typed twice without echo on a terminal, else the one line of stdin. */
async function readPassword(user: string): Promise<string> {
  let password: string;
  if (process.stdin.isTTY === true) {
    const [first, second] = await askHidden([`Password for dashboard user ${user}: `, 'Again: ']);
    if (first !== second) throw usage('the two passwords differ; nothing was changed');
    password = first ?? '';
  } else {
    password = oneLine(await readStdin());
  }
  if (password.trim() === '') throw usage('the password is empty: give it on stdin (echo "$PASSWORD" | bench dashboard set-password), or type it on a terminal');
  if (password.length > MAX_PASSWORD_LENGTH) throw usage(`the password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

/** All of stdin (up to 64 KiB: a password file, not a disk image). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw usage('stdin holds more than 64 KiB: expected one line, the password');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The text without its line end; more than one line is refused (which of them would be the password?). */
function oneLine(text: string): string {
  const line = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(line)) throw usage('stdin holds more than one line: expected one line, the password');
  return line;
}

/** Answers to `prompts` typed on the terminal, not echoed (raw mode; Backspace edits, Ctrl-C stops). */
function askHidden(prompts: readonly string[]): Promise<string[]> {
  const input = process.stdin;
  const answers: string[] = [];
  let current = '';
  return new Promise((resolve, reject) => {
    const finish = (err?: BenchError) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      if (err === undefined) resolve(answers);
      else reject(err);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\u0003') {
          process.stderr.write('\n');
          return finish(new BenchError('ERR_USAGE', 'interrupted; nothing was changed', { exitCode: 130 }));
        }
        if (ch === '\u007f' || ch === '\b') current = [...current].slice(0, -1).join('');
        else if (ch === '\r' || ch === '\n' || (ch === '\u0004' && current === '')) {
          answers.push(current);
          current = '';
          process.stderr.write('\n');
          if (answers.length === prompts.length) return finish();
          process.stderr.write(prompts[answers.length] ?? '');
        } else if (ch >= ' ') current += ch;
      }
    };
    // Echo off before the question shows: an answer typed (or pasted) at once must not be echoed.
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
    process.stderr.write(prompts[0] ?? '');
  });
}
