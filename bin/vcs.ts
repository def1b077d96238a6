#!/usr/bin/env node
// The `vcs` command. `npm run build` compiles it with the sources into dist/bin/vcs.js, which is
// what the package's bin, `npm start`, every child transcoder and the container image run; the
// tests run this file through tsx (`node --import tsx bin/vcs.ts`).
import { main } from '../src/cli.ts';

await main(process.argv.slice(2));
