#!/usr/bin/env node
// The `muster` command: the bundled CLI (built by `npm run build`).
import '../dist/muster.mjs';
