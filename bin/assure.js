#!/usr/bin/env node
// The `assure` command: runs src/cli.ts on Node.js 24, which runs TypeScript directly.
import '../src/cli.ts';
