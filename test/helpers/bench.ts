// Builds a throwaway bench folder for a test: the fixture apps (test/fixtures/apps), sites with their
// configs, and a common_site_config.json pointing at the test's private Redis.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE_APPS = path.join(REPO_ROOT, 'test/fixtures/apps');

export interface TestBench {
  path: string;
  benchId: string;
  /** The redis_queue URL it was made with. */
  redisUrl: string;
  writeCommon(config: Record<string, unknown>): void;
  writeSite(site: string, config: Record<string, unknown>): void;
  remove(): void;
}

export function makeBench(options: {
  redisUrl: string;
  common?: Record<string, unknown>;
  sites?: Record<string, Record<string, unknown>>;
  /** Put the bench in a folder of this name (e.g. with spaces) inside the throwaway folder. */
  folder?: string;
}): TestBench {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bw-bench-'));
  const dir = options.folder === undefined ? root : path.join(root, options.folder);
  const benchId = `test-${path.basename(root)}`;
  mkdirSync(path.join(dir, 'sites'), { recursive: true });
  cpSync(FIXTURE_APPS, path.join(dir, 'apps'), { recursive: true });
  const bench: TestBench = {
    path: dir,
    benchId,
    redisUrl: options.redisUrl,
    writeCommon(config) {
      writeFileSync(path.join(dir, 'sites', 'common_site_config.json'), JSON.stringify({ redis_queue: options.redisUrl, bench_id: benchId, ...config }, null, 2));
    },
    writeSite(site, config) {
      mkdirSync(path.join(dir, 'sites', site), { recursive: true });
      writeFileSync(path.join(dir, 'sites', site, 'site_config.json'), JSON.stringify(config, null, 2));
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  bench.writeCommon(options.common ?? {});
  for (const [site, config] of Object.entries(options.sites ?? { 'site1.test': {} })) bench.writeSite(site, config);
  return bench;
}
