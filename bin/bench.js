#!/usr/bin/env node
// The `bench` command: loads tsx (so the TypeScript sources and .ts job modules run without a build
// step, whatever module type their folder has), then hands over to the CLI.
import 'tsx';

const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
