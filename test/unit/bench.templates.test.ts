// The renderer of config/'s templates (src/bench/templates.ts): values through each format's quoting
// filter, sections over records and booleans, standalone tags and comments leave no blank line, and a
// mistake in a template (missing value, unknown filter, unclosed section, a control character in a
// raw value) is ERR_TEMPLATE rather than a wrong file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderString } from '../../src/bench/templates.ts';

describe('config templates', () => {
  it('renders values through the quoting filter of their format', () => {
    const argv = ['/usr/bin/node', '/my bench/bin.js', '100%'];
    assert.equal(renderString('ExecStart={{ c | systemd_exec }}', { c: argv }), 'ExecStart=/usr/bin/node "/my bench/bin.js" "100%%"');
    assert.equal(renderString('command={{ c | supervisor_command }}', { c: argv }), 'command=/usr/bin/node "/my bench/bin.js" "100%%"');
    assert.equal(renderString('x: {{ c | sh }}', { c: argv }), "x: /usr/bin/node '/my bench/bin.js' '100%'");
    assert.equal(renderString('log={{ p | supervisor_log }}', { p: '/a%b' }), 'log=/a%%%%b');
    assert.equal(renderString('dir {{ p | redis_string }}', { p: 'a"b' }), 'dir "a\\"b"');
    assert.equal(renderString('port {{ n }}', { n: 11000 }), 'port 11000');
  });

  it('repeats a section per record, shows a true one once, drops standalone tags and comments with their line', () => {
    const source = '{{! a comment\n spanning lines }}\nhead\n{{#items}}\n- {{ name }} of {{ owner }}\n{{/items}}\n{{#flag}}\nflagged\n{{/flag}}\n{{#off}}\nnever\n{{/off}}\ntail\n';
    assert.equal(renderString(source, { owner: 'me', items: [{ name: 'a' }, { name: 'b' }], flag: true, off: false }), 'head\n- a of me\n- b of me\nflagged\ntail\n');
  });

  it('refuses a template mistake with ERR_TEMPLATE', () => {
    const refused = (source: string, context: Record<string, string | boolean>) => assert.throws(() => renderString(source, context), { code: 'ERR_TEMPLATE' });
    refused('{{ missing }}', {});
    refused('{{ a | nosuch }}', { a: 'x' });
    refused('{{#a}}open', { a: true });
    refused('{{ a }}', { a: 'line\nInjected=1' });
    refused('{{ a }}', { a: true });
  });
});
