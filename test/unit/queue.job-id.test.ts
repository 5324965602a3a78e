// Generated job ids: 22 base64url characters that never start with "-" (a CLI would read such an id as
// an option: CI once failed on `bench show -JlYx...`), and distinct from one another.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatedJobId } from '../../src/redis/job-record.ts';

describe('generatedJobId', () => {
  it('gives 22 url-safe characters starting with a letter, never "-" or "_", over 20,000 draws', () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 20_000; i += 1) {
      const id = generatedJobId();
      assert.match(id, /^[A-Za-z][A-Za-z0-9_-]{21}$/, id);
      firsts.add(id[0] as string);
    }
    // The first character still carries 5 random bits: all 32 letters A-Z, a-f turn up.
    assert.equal(firsts.size, 32);
  });

  it('does not repeat over 20,000 draws', () => {
    const ids = new Set(Array.from({ length: 20_000 }, () => generatedJobId()));
    assert.equal(ids.size, 20_000);
  });
});
