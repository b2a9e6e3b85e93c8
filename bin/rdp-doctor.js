#!/usr/bin/env node
'use strict';
// Built by `npm run build` (run by `npm ci` through the prepare script).
try {
  require('../dist/cli/index.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/cli')) {
    process.stderr.write('rdp-doctor: not built yet: run `npm run build` first\n');
    process.exit(1);
  }
  throw e;
}
