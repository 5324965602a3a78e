// The quoting of each generated format, read back by the real parsers: supervisor's own INI parser,
// % expansion and shlex split (with supervisord's own Python), sh, and systemd-analyze verify for
// the program path of ExecStart= and the path settings. What a format cannot hold is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { refuseUnsafe, shellWord, supervisorCommand, supervisorPath, systemdExec, systemdPath, type ConfigFormat } from '../../src/bench/config-quoting.ts';
import { isBenchError } from '../../src/errors.ts';
import { supervisorPython } from '../helpers/supervisord.ts';
import { execStartArgv, VERIFY_ERRORS, verifyUnits } from '../helpers/systemd.ts';

// Words of a command line ("%(here)s" is refused for supervisor, see the last test).
const WORDS = ['/srv/my bench', '100%x', '$HOME', `it's`, 'say "hi"', 'a;b', 'a ;b', 'a #b', 'back\\slash', 'é ü', '--queue', ''];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bw-quoting-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A [program:x] section read the way supervisord reads an included file, as JSON. */
function readBySupervisor(section: string): { command: string[]; directory: string; stdout_logfile: string } {
  const script = `
import json, shlex, sys
from supervisor.options import UnhosedConfigParser, expand
parser = UnhosedConfigParser()
parser.expansions = {}
parser.read_string(sys.stdin.read())
parser.expand_here('/etc/supervisor/conf.d')
names = {'here': '/etc/supervisor/conf.d', 'program_name': 'x', 'group_name': 'x', 'host_node_name': 'h', 'process_num': 0, 'numprocs': 1}
get = lambda key: parser.saneget('program:x', key, expansions=dict(names))
print(json.dumps({'command': shlex.split(get('command')), 'directory': get('directory'),
  'stdout_logfile': expand(get('stdout_logfile'), names, 'stdout_logfile')}))
`;
  const run = spawnSync(supervisorPython(), ['-c', script], { input: section, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { command: string[]; directory: string; stdout_logfile: string };
}

function refusal(value: string, format: ConfigFormat, executable = false): string | undefined {
  try {
    refuseUnsafe(value, 'bench path', format, 'the file', { executable });
    return undefined;
  } catch (err) {
    assert.ok(isBenchError(err) && err.code === 'ERR_UNSAFE_PATH', String(err));
    return err.message;
  }
}

describe('config quoting', () => {
  it('supervisor: command= splits back into the same words; directory= and the log paths read back as given', () => {
    const dir = '/srv/my bench 100%x $HOME \'q\' "d" a;b';
    const parsed = readBySupervisor(`[program:x]
command=${supervisorCommand(['/usr/bin/node', ...WORDS])}
directory=${supervisorPath(dir)}
stdout_logfile=${supervisorPath(`${dir}/logs/worker.log`, 2)}
`);
    assert.deepEqual(parsed.command, ['/usr/bin/node', ...WORDS]);
    assert.equal(parsed.directory, dir);
    assert.equal(parsed.stdout_logfile, `${dir}/logs/worker.log`);
  });

  it('sh: every word reads back as itself', () => {
    const words = [...WORDS, '%(here)s'];
    const run = spawnSync('sh', ['-c', `printf '%s\\0' ${words.map(shellWord).join(' ')}`], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.split('\0').slice(0, -1), words);
  });

  it('systemd: ExecStart= reads back as the same argv, and systemd-analyze verify accepts programs and folders with odd names', () => {
    const argv = ['/usr/bin/node', ...WORDS, '%(here)s'];
    assert.deepEqual(execStartArgv(systemdExec(argv)), argv);
    const units: string[] = [];
    for (const [i, name] of ['my bench', '100%x', '$HOME', 'a;b', 'a #b', 'é ü'].entries()) {
      const dir = path.join(tmp, name);
      mkdirSync(dir, { recursive: true });
      const program = path.join(dir, 'program');
      writeFileSync(program, '#!/bin/sh\n');
      chmodSync(program, 0o755);
      const unit = path.join(tmp, `probe${i}.service`);
      writeFileSync(unit, `[Service]\nExecStart=${systemdExec([program, dir])}\nWorkingDirectory=${systemdPath(dir)}\nStandardOutput=append:${systemdPath(path.join(dir, 'out.log'))}\n`);
      units.push(unit);
    }
    const verify = verifyUnits(units);
    assert.equal(verify.code, 0, verify.output);
    assert.doesNotMatch(verify.output, VERIFY_ERRORS);
    // The probe can fail: an unescaped "%x" is an unknown specifier.
    const bad = path.join(tmp, 'bad.service');
    writeFileSync(bad, `[Service]\nExecStart=/bin/true\nWorkingDirectory=${path.join(tmp, '100%x')}\n`);
    assert.notEqual(verifyUnits([bad]).code, 0);
  });

  it('refuses control characters in every format', () => {
    for (const format of ['systemd', 'supervisor', 'redis'] as const) {
      for (const c of ['\n', '\r', '\t', '\u0000', '\u0001', '\u007f', '\u0085']) {
        assert.match(refusal(`/srv/a${c}b`, format) ?? '', /control character \(U\+00[0-9A-F]{2}\)/, `${format} ${JSON.stringify(c)}`);
      }
    }
  });

  it('refuses what one format has no spelling for, and only there', () => {
    assert.match(refusal('/srv/a #b', 'supervisor') ?? '', /inline comment/);
    assert.match(refusal('/srv/a ;b', 'supervisor') ?? '', /inline comment/);
    assert.match(refusal('/srv/a ', 'supervisor') ?? '', /ends with whitespace/);
    assert.match(refusal('/srv/a%(here)s', 'supervisor') ?? '', /%\(here\)s/);
    assert.match(refusal('/srv/a ', 'systemd') ?? '', /ends with whitespace/);
    assert.match(refusal('/srv/a\\', 'systemd') ?? '', /backslash/);
    assert.match(refusal(`/opt/it's/node`, 'systemd', true) ?? '', /quote/);
    for (const ok of ['/srv/a #b', '/srv/a ;b', '/srv/a ', '/srv/a%(here)s']) assert.equal(refusal(ok, 'redis'), undefined, ok);
    for (const ok of ['/srv/a #b', `/srv/it's`, '/srv/100%x $HOME']) assert.equal(refusal(ok, 'systemd'), undefined, ok);
    for (const ok of ['/srv/a;b#c', `/srv/it's "x"`, '/srv/100%x $HOME']) assert.equal(refusal(ok, 'supervisor'), undefined, ok);
  });
});
