// The documentation of the config keys stays complete: every key of the schema is shown in
// common_site_config.example.json (with a _doc_ entry) and in the README's table (a number key with
// its range), and the example file itself passes validation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { KEY_SPECS, type KeySpec } from '../../src/config/schema.ts';
import { validateKnownKeys } from '../../src/config/validate.ts';
import { REPO_ROOT } from '../helpers/bench.ts';

const example = JSON.parse(readFileSync(`${REPO_ROOT}/common_site_config.example.json`, 'utf8')) as Record<string, unknown>;
const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
const keys = Object.keys(KEY_SPECS).filter((key) => !('siteOnly' in KEY_SPECS[key as keyof typeof KEY_SPECS]));

describe('config key documentation', () => {
  for (const key of keys) {
    it(`${key} is in the example config with a _doc_ entry, and in the README table`, () => {
      assert.ok(key in example, `${key} missing from common_site_config.example.json`);
      assert.equal(typeof example[`_doc_${key}`], 'string', `_doc_${key} missing`);
      assert.match(readme, new RegExp(`^\\| \`${key}\` \\|`, 'm'), `${key} missing from the README table`);
    });
  }

  for (const [key, spec] of Object.entries(KEY_SPECS) as [string, KeySpec][]) {
    if (spec.range === undefined) continue;
    const { min, max } = spec.range;
    it(`the README row of ${key} gives its range ${min}-${max}`, () => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
      assert.ok(row?.includes(`${min}-${max}`), `README row of ${key} lacks ${min}-${max}: ${row}`);
    });
  }

  it('the example config is valid', () => {
    assert.doesNotThrow(() => validateKnownKeys(example, 'common_site_config.example.json', false));
  });
});
