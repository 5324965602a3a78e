// `bench --site S execute dotted.path [--kwargs JSON]`, as Frappe's: run a function of an app in the
// site's context and print its result as JSON. It runs as a job would, inline (enqueue with now: true):
// site config, installed-app check, the site database transaction (committed when it returns, rolled
// back when it throws), before/after_job hooks; no Redis job is written. `--site all` runs it for every
// site, each result under a "Site S" line. Unlike Frappe's, the method is a job function (kwargs, ctx):
// no positional --args, and no Python expression in place of a path.
import { Command } from 'commander';
import { isBenchError, BenchError } from '../../errors.js';
import { parseKwargsOption } from '../kwargs.js';
import { withSitesClient } from '../context.js';
import { printResult } from '../output.js';

export function makeExecuteCommand(): Command {
  return new Command('execute')
    .description("run a function in the site's context, as a job runs (its transaction and hooks), and print its result as JSON")
    .argument('<method>', 'dotted path of the function: app.module.function')
    .option('--kwargs <json>', 'keyword arguments as a JSON object')
    .option('--json', 'print {"site", "result"} (every site: a list of them)')
    .action(async (method: string, flags: { kwargs?: string; json?: boolean }, command: Command) => {
      const kwargs = flags.kwargs === undefined ? {} : parseKwargsOption(flags.kwargs);
      await withSitesClient(command, undefined, async (client, sites) => {
        const results: { site: string; result: unknown }[] = [];
        const lines: string[] = [];
        for (const site of sites) {
          let result: unknown;
          try {
            result = await client.enqueue(method, { site, kwargs, now: true });
          } catch (err) {
            throw failure(err, method, site);
          }
          results.push({ site, result: result ?? null });
          if (sites.length > 1) lines.push(`Site ${site}`);
          // As Frappe's: nothing printed for a function that returns nothing.
          if (result !== undefined && result !== null) lines.push(JSON.stringify(result));
        }
        if (flags.json) printResult(true, sites.length === 1 ? results[0] : results, '');
        else if (lines.length > 0) printResult(false, undefined, lines.join('\n'));
      });
    });
}

/** What the function threw: a BenchError as it is, anything else as ERR_JOB_FAILED with its stack. */
function failure(err: unknown, method: string, site: string): BenchError {
  if (isBenchError(err) && err.code !== 'ERR_JOB_FAILED') return err;
  const error = err instanceof Error ? err : new Error(String(err));
  return new BenchError('ERR_JOB_FAILED', `${method} failed on site ${site}: ${error.stack ?? `${error.name}: ${error.message}`}`, {
    cause: err,
    details: { site, method, name: error.name, error: error.message },
  });
}
