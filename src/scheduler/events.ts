// Reads Frappe's `scheduler_events` from the hooks module of each app installed on a site
// (apps/<app>/<app>/hooks.{ts,mjs,js}, beside before_job) and checks them: event names, method paths
// (their module file must exist), per-method queue overrides and cron expressions. What is wrong is
// a problem naming the app, the event or expression and what is wrong; it drops that entry only, and
// the other events keep running. An app's result is cached until its hooks file changes.
//
//   export const scheduler_events = {
//     all: ['myapp.tasks.flush'],
//     daily_long: ['myapp.tasks.rebuild'],
//     hourly: [{ method: 'myapp.tasks.sync', queue: 'short' }],
//     cron: { '*/15 9-17 * * 1-5': ['myapp.tasks.poll'] },
//   };
import type { BenchConfig, SiteConfig } from '../config/load.js';
import { importAppModule } from '../jobs/app-module.js';
import { hooksFile } from '../jobs/hooks.js';
import { resolveMethodFile } from '../jobs/loader.js';
import { CRON_EVENTS, FIXED_EVENTS, parseCron, type SchedulerEvent, type Schedule } from './plan.js';
import { fileStamp } from '../util/file-stamp.js';
import { isRecord } from '../util/records.js';

/** One scheduled method of a site: Frappe's Scheduled Job Type. */
export interface ScheduledJobType {
  /** `<event>|<method>`, or `cron(<expr>)|<method>`: its key in scheduled_job_type and its job ids. */
  name: string;
  app: string;
  event: SchedulerEvent;
  method: string;
  /** The cron expression (fixed events: their equivalent; `all`: "every tick"). */
  cron: string;
  queue: string;
}

export interface SchedulerProblem {
  app: string;
  /** The event key, and the expression for cron entries. */
  event: string;
  expression?: string;
  message: string;
}

export interface SiteEvents {
  jobTypes: ScheduledJobType[];
  problems: SchedulerProblem[];
  /** Apps whose hooks module loaded (their job types that are gone may be dropped from the table). */
  loadedApps: string[];
}

type AppEvents = { stamp: string; types: Omit<ScheduledJobType, 'queue'>[]; entries: { queue?: string }[]; problems: SchedulerProblem[] };
const cache = new Map<string, AppEvents>();

/** The job types of `site` (its installed apps' scheduler_events) and what is wrong with them. */
export async function siteEvents(bench: BenchConfig, site: SiteConfig): Promise<SiteEvents> {
  const jobTypes = new Map<string, ScheduledJobType>();
  const problems: SchedulerProblem[] = [];
  const loadedApps: string[] = [];
  const queues = new Set(bench.queues.map((q) => q.name));
  for (const app of site.installedApps) {
    const events = await appEvents(bench, site, app);
    if (events === undefined) continue;
    problems.push(...events.problems);
    if (!events.problems.some((p) => p.event === '(hooks)')) loadedApps.push(app);
    events.types.forEach((type, i) => {
      const override = events.entries[i]?.queue;
      const queue = override ?? defaultQueueOf(type.event);
      if (!queues.has(queue)) {
        problems.push({ app, event: type.event, message: `method "${type.method}": unknown queue "${queue}" (queues: ${[...queues].join(', ')})` });
        return;
      }
      try {
        resolveMethodFile(bench.appsDir, type.method, site.installedApps);
      } catch (err) {
        problems.push({ app, event: type.event, message: (err as Error).message });
        return;
      }
      if (!jobTypes.has(type.name)) jobTypes.set(type.name, { ...type, queue });
    });
  }
  return { jobTypes: [...jobTypes.values()], problems, loadedApps };
}

/** The schedule of a job type in time zone `timeZone` (undefined: the machine's). */
/**
 * The queue of an event's methods unless an entry names one: `long` for the `*_long` and the
 * `*_maintenance` events (as Frappe's Scheduled Job Type: "Long" or "Maintenance" in the frequency), else
 * `default`.
 */
export function defaultQueueOf(event: string): 'long' | 'default' {
  return event.endsWith('_long') || event.endsWith('_maintenance') ? 'long' : 'default';
}

export function scheduleOf(type: Pick<ScheduledJobType, 'event' | 'cron'>, timeZone: string | undefined): Schedule {
  return type.event === 'all' ? { kind: 'tick' } : { kind: 'cron', expression: type.cron, timeZone };
}

async function appEvents(bench: BenchConfig, site: SiteConfig, app: string): Promise<AppEvents | undefined> {
  let file: string | undefined;
  try {
    file = hooksFile(bench.appsDir, app);
  } catch {
    return undefined;
  }
  if (file === undefined) return undefined;
  const tz = site.settings.time_zone ?? '';
  const stamp = fileStamp(file);
  const key = `${file}\0${tz}`;
  const known = cache.get(key);
  if (known && known.stamp === stamp) return known;
  let mod: Record<string, unknown>;
  try {
    mod = await importAppModule(file, known ? stamp : undefined);
  } catch (err) {
    return { stamp, types: [], entries: [], problems: [{ app, event: '(hooks)', message: `importing ${file} failed: ${(err as Error).message}` }] };
  }
  const result: AppEvents = { stamp, ...parseEvents(app, mod['scheduler_events'], site.settings.time_zone) };
  cache.set(key, result);
  return result;
}


/** Check a `scheduler_events` value; exported for the unit tests. */
export function parseEvents(app: string, value: unknown, timeZone: string | undefined): Omit<AppEvents, 'stamp'> {
  const types: Omit<ScheduledJobType, 'queue'>[] = [];
  const entries: { queue?: string }[] = [];
  const problems: SchedulerProblem[] = [];
  if (value === undefined) return { types, entries, problems };
  if (!isRecord(value)) {
    problems.push({ app, event: '(scheduler_events)', message: 'scheduler_events must be an object of event name -> list of methods' });
    return { types, entries, problems };
  }
  const add = (event: SchedulerEvent, cron: string, list: unknown, expression?: string) => {
    const where = { app, event, ...(expression === undefined ? {} : { expression }) };
    if (!Array.isArray(list)) return problems.push({ ...where, message: 'expected a list of dotted method paths' });
    for (const entry of list) {
      const method = typeof entry === 'string' ? entry : isRecord(entry) ? entry['method'] : undefined;
      const queue = isRecord(entry) ? entry['queue'] : undefined;
      if (typeof method !== 'string' || (queue !== undefined && typeof queue !== 'string')) {
        problems.push({ ...where, message: `expected a dotted method path or {method, queue}, found ${JSON.stringify(entry)}` });
        continue;
      }
      const eventKey = expression === undefined ? event : `${event}(${expression})`;
      types.push({ name: `${eventKey}|${method}`, app, event, method, cron });
      entries.push(queue === undefined ? {} : { queue });
    }
    return undefined;
  };
  for (const [event, list] of Object.entries(value)) {
    if (event in FIXED_EVENTS) {
      add(event as SchedulerEvent, event === 'all' ? 'every tick' : FIXED_EVENTS[event as keyof typeof FIXED_EVENTS], list);
    } else if ((CRON_EVENTS as readonly string[]).includes(event)) {
      if (!isRecord(list)) {
        problems.push({ app, event, message: 'expected an object of cron expression -> list of methods' });
        continue;
      }
      for (const [expression, methods] of Object.entries(list)) {
        try {
          parseCron(expression, timeZone);
        } catch (err) {
          problems.push({ app, event, expression, message: `bad cron expression "${expression}": ${cronMessage(err)}` });
          continue;
        }
        add(event as SchedulerEvent, expression, methods, expression);
      }
    } else {
      problems.push({ app, event, message: `unknown scheduler event "${event}" (known: ${[...Object.keys(FIXED_EVENTS), ...CRON_EVENTS].join(', ')})` });
    }
  }
  return { types, entries, problems };
}

function cronMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, '');
}

