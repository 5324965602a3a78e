// Examples shown at the end of `bench <command> --help` for the commands people type most (commander's
// addHelpText), kept in one place: each is a command line that works as written on a bench.
import type { Command } from 'commander';

const EXAMPLES: Record<string, readonly string[]> = {
  '': [
    'bench init my-bench && cd my-bench',
    'bench new-site site1.localhost && bench new-app myapp',
    'bench start',
    "bench --site site1.localhost enqueue myapp.tasks.hello --kwargs '{\"name\": \"world\"}'",
    'bench doctor',
  ],
  init: ['bench init my-bench', 'bench init my-bench --redis-queue redis://10.0.0.5:11000'],
  'new-site': ['bench new-site site1.localhost', 'bench new-site shop.localhost --db-type postgres --db-url postgres://frappe@127.0.0.1:5432/shop'],
  'new-app': ['bench new-app myapp', 'bench --site site1.localhost enqueue myapp.tasks.hello'],
  worker: [
    'bench worker                                  # every queue, one worker process',
    'bench worker --queue short,default --num-workers 4',
    'bench worker --queue long --concurrency 10 --burst',
  ],
  enqueue: [
    "bench --site site1.localhost enqueue myapp.tasks.process_data --kwargs '{\"n\": 42}' --queue long --timeout 3600",
    'bench --site site1.localhost enqueue myapp.tasks.sync --job-id nightly-sync --deduplicate',
    'bench --site site1.localhost enqueue myapp.tasks.remind --in 3600',
    'bench --site site1.localhost enqueue myapp.tasks.resize --kwargs-file jobs.jsonl',
  ],
  start: ['bench start', 'bench --log-format json start > bench.log'],
  doctor: ['bench doctor', 'bench doctor --json'],
  jobs: [
    'bench --site site1.localhost jobs list --status failed',
    'bench jobs list --status scheduled --queue long',
    'bench --site site1.localhost jobs show F3Wm          # a unique prefix of the id is enough',
    'bench --site site1.localhost jobs retry F3WmdnShq0iCSIzp8PDuCA',
    'bench jobs workers',
  ],
  completion: ['bench completion bash > ~/.local/share/bash-completion/completions/bench', "echo 'source <(bench completion zsh)' >> ~/.zshrc"],
};

/** Add the examples to the program and to those of its commands that have some. */
export function addHelpExamples(program: Command): void {
  for (const [name, lines] of Object.entries(EXAMPLES)) {
    const command = name === '' ? program : program.commands.find((c) => c.name() === name);
    command?.addHelpText('after', `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`);
  }
}
