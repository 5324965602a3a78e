// Sets keys of sites/common_site_config.json (as Frappe's update_config) or of a site_config.json: the file's other keys and
// their order are kept, the result is checked like any config, and it replaces the file atomically.
import { writeFileAtomic } from '../util/atomic-write.js';
import type { BenchConfig, SiteConfig } from './load.js';
import { readJsonObject, validateKnownKeys, type RawConfig } from './validate.js';

export function updateCommonConfig(bench: BenchConfig, patch: RawConfig): void {
  const file = bench.commonConfigFile;
  const merged = { ...readJsonObject(file, { optional: true }), ...patch };
  validateKnownKeys(merged, file, false);
  writeFileAtomic(file, `${JSON.stringify(merged, null, 2)}\n`);
}

/** The same for sites/<site>/site_config.json (Frappe's update_site_config). */
export function updateSiteConfig(site: SiteConfig, patch: RawConfig): void {
  const merged = { ...readJsonObject(site.file, { optional: false }), ...patch };
  validateKnownKeys(merged, site.file, true);
  writeFileAtomic(site.file, `${JSON.stringify(merged, null, 2)}\n`);
}
