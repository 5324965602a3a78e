// What a producer needs to accept a job, kept in memory so that enqueue does no file-system work on
// its hot path: the bench's config, each site's config and each method's module file. An entry is
// checked against its files (one stat each: inode, size, mtime) at most once per RECHECK_MS, so an edit
// to common_site_config.json, a site_config.json or an app's module files is seen within a second.
// Failures are never cached: a missing site or module is looked up again on the next call.
import { loadBenchConfig, loadSiteConfig, type BenchConfig, type SiteConfig } from '../config/load.js';
import { importAppModule } from '../jobs/app-module.js';
import { functionAt, resolveMethodFile, type MethodLocation } from '../jobs/loader.js';
import { fileStamp } from '../util/file-stamp.js';

/** How long a checked entry is trusted before its files are stat'ed again. */
export const RECHECK_MS = 1000;
/** Methods kept per site; past it the map starts afresh (only paths that resolved are kept). */
const MAX_METHODS_PER_SITE = 10_000;

/** A value and the files it was read from, with their stamps when it was read. */
interface Entry<T> {
  value: T;
  files: readonly string[];
  stamps: readonly string[];
  checkedAt: number;
}


function entry<T>(value: T, files: readonly string[], now: number): Entry<T> {
  return { value, files, stamps: files.map(fileStamp), checkedAt: now };
}

/** True when the entry may be used: checked within RECHECK_MS, or its files are unchanged. */
function isFresh<T>(e: Entry<T>, now: number): boolean {
  if (now - e.checkedAt < RECHECK_MS) return true;
  if (!e.files.every((file, i) => fileStamp(file) === e.stamps[i])) return false;
  e.checkedAt = now;
  return true;
}

export class ProducerCache {
  private benchEntry: Entry<BenchConfig>;
  private readonly sites = new Map<string, Entry<SiteConfig>>();
  /** Resolved methods per site config object: a reloaded site starts afresh. */
  private readonly methods = new WeakMap<SiteConfig, Map<string, Entry<MethodLocation>>>();
  /** Method entries whose export was checked (an entry is replaced when its file changes). */
  private readonly verified = new WeakSet<Entry<MethodLocation>>();
  /** Imported modules by file, with the stamp of the file they were imported at. */
  private readonly modules = new Map<string, { stamp: string; mod: Promise<Record<string, unknown>> }>();

  constructor(bench: BenchConfig) {
    this.benchEntry = entry(bench, [bench.commonConfigFile], Date.now());
  }

  /** The bench's config, reloaded when common_site_config.json changed. */
  bench(now = Date.now()): BenchConfig {
    if (!isFresh(this.benchEntry, now)) {
      const path = this.benchEntry.value.path;
      this.benchEntry = entry(loadBenchConfig(path), [this.benchEntry.value.commonConfigFile], now);
      this.sites.clear();
    }
    return this.benchEntry.value;
  }

  /** Read common_site_config.json again now (after this process changed it: a save of bench_id). */
  reloadBench(): BenchConfig {
    this.benchEntry = { ...this.benchEntry, stamps: [], checkedAt: -Infinity };
    return this.bench();
  }

  /** The config of `site` (ERR_SITE_NOT_FOUND when it has none), reloaded when its files changed. */
  site(site: string, now = Date.now()): SiteConfig {
    const bench = this.bench(now);
    const cached = this.sites.get(site);
    if (cached && isFresh(cached, now)) return cached.value;
    const config = loadSiteConfig(bench, site);
    // apps/ too: without installed_apps a site gets every app of the bench, and a new app folder changes its mtime.
    this.sites.set(site, entry(config, [config.file, bench.appsDir], now));
    return config;
  }

  /** The module file of `method` for `site` (checked as resolveMethodFile does), re-resolved when it changed. */
  method(site: SiteConfig, method: string, now = Date.now()): MethodLocation {
    return this.methodEntry(site, method, now).value;
  }

  /**
   * Check that `method` names a function its module exports (ERR_JOB_LOAD otherwise). The module is
   * imported once, and again (a fresh instance) after its file changed, so an export added while the
   * process runs is seen within a second. Synchronous (no promise) once checked: the hot path.
   */
  verify(site: SiteConfig, method: string, now = Date.now()): Promise<void> | undefined {
    const entry = this.methodEntry(site, method, now);
    if (this.verified.has(entry)) return undefined;
    return this.checkExport(entry).then(() => {
      this.verified.add(entry);
    });
  }

  private async checkExport(entry: Entry<MethodLocation>): Promise<void> {
    const stamp = entry.stamps[0] as string;
    await functionAt(entry.value, (file) => {
      let known = this.modules.get(file);
      if (!known || known.stamp !== stamp) {
        const mod = importAppModule(file, known ? stamp : undefined);
        known = { stamp, mod };
        this.modules.set(file, known);
        mod.catch(() => this.modules.delete(file));
      }
      return known.mod;
    });
  }

  private methodEntry(site: SiteConfig, method: string, now: number): Entry<MethodLocation> {
    let bySite = this.methods.get(site);
    if (!bySite || bySite.size >= MAX_METHODS_PER_SITE) {
      bySite = new Map();
      this.methods.set(site, bySite);
    }
    const cached = bySite.get(method);
    if (cached && isFresh(cached, now)) return cached;
    const location = resolveMethodFile(this.bench(now).appsDir, method, site.installedApps);
    const fresh = entry(location, [location.file], now);
    bySite.set(method, fresh);
    return fresh;
  }
}
