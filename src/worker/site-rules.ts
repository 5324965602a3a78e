// The per-site fairness rules a worker process sends with each claim (fetch.lua, lua/includes/lanes.lua):
// each site's queue_weight and max_concurrent_jobs. Sites and their site_config.json files are looked at
// again at most every RULES_CHECK_MS, so a changed weight or cap takes effect within a few seconds,
// without a restart. A site file that does not load keeps the rules it had (the worker goes on).
import { statSync } from 'node:fs';
import path from 'node:path';
import { listSites, loadSiteConfig, type BenchConfig } from '../config/load.js';
import type { BenchSettings } from '../config/schema.js';

const RULES_CHECK_MS = 2000;
/** What fetch.lua reads as "no cap". */
const NO_CAP = -1;

/** A site's (or the bench's) max_concurrent_jobs on `queue`, or NO_CAP. */
export function jobCapFor(settings: Pick<BenchSettings, 'max_concurrent_jobs'>, queue: string): number {
  const cap = settings.max_concurrent_jobs;
  if (cap === undefined) return NO_CAP;
  if (typeof cap === 'number') return cap;
  return cap[queue] ?? NO_CAP;
}

interface SiteEntry {
  mtimeMs: number;
  settings: Pick<BenchSettings, 'queue_weight' | 'max_concurrent_jobs'>;
}

export class SiteRules {
  private readonly sites = new Map<string, SiteEntry>();
  private readonly byQueue = new Map<string, readonly (string | number)[]>();
  private checkedAt = -Infinity;

  constructor(
    private readonly bench: BenchConfig,
    private readonly onError: (site: string, err: unknown) => void = () => {},
  ) {}

  /**
   * fetch.lua's rules of `queue`: the bench's weight and cap, the number of sites with other values,
   * then site, weight, cap for each of them.
   */
  forQueue(queue: string, now = Date.now()): readonly (string | number)[] {
    if (now - this.checkedAt >= RULES_CHECK_MS) {
      this.checkedAt = now;
      if (this.refresh()) this.byQueue.clear();
    }
    let rules = this.byQueue.get(queue);
    if (!rules) {
      rules = this.build(queue);
      this.byQueue.set(queue, rules);
    }
    return rules;
  }

  /** Re-read the sites whose file changed; true when anything did. */
  private refresh(): boolean {
    let changed = false;
    const present = new Set(listSites(this.bench));
    for (const site of this.sites.keys()) {
      if (!present.has(site)) {
        this.sites.delete(site);
        changed = true;
      }
    }
    for (const site of present) {
      let mtimeMs: number;
      try {
        mtimeMs = statSync(path.join(this.bench.sitesDir, site, 'site_config.json')).mtimeMs;
      } catch {
        continue;
      }
      const known = this.sites.get(site);
      if (known?.mtimeMs === mtimeMs) continue;
      try {
        const { settings } = loadSiteConfig(this.bench, site);
        this.sites.set(site, { mtimeMs, settings });
        changed = true;
      } catch (err) {
        // Keep what it had; look again when the file changes.
        if (known) known.mtimeMs = mtimeMs;
        else this.sites.set(site, { mtimeMs, settings: this.bench.settings });
        this.onError(site, err);
      }
    }
    return changed;
  }

  private build(queue: string): (string | number)[] {
    const weight = this.bench.settings.queue_weight;
    const cap = jobCapFor(this.bench.settings, queue);
    const rules: (string | number)[] = [weight, cap, 0];
    let n = 0;
    for (const [site, { settings }] of this.sites) {
      const siteWeight = settings.queue_weight;
      const siteCap = jobCapFor(settings, queue);
      if (siteWeight === weight && siteCap === cap) continue;
      rules.push(site, siteWeight, siteCap);
      n++;
    }
    rules[2] = n;
    return rules;
  }
}
