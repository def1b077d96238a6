#!/usr/bin/env node
// The `vcs` command. TypeScript sources run through tsx's loader, so there is no build step
// between editing and running (see README, "Design").
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main(process.argv.slice(2));
