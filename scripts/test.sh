#!/usr/bin/env bash
# `npm test`: format and lint check, type-check, build (the CLI and e2e tests run the built dist/ as a user would), the
# unit/integration suite with coverage, then the real-VM end-to-end boots (test/e2e, no coverage:
# they exercise the built dist/, not the sources). Extra arguments go to both tap runs.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent lint # Biome: format and lint (biome.jsonc); `npm run format` fixes what it can
npm run --silent typecheck
npm run --silent build
status=0
npx tap "$@" || status=$?
npx tap --disable-coverage "$@" test/e2e/*.test.ts || status=$?
exit $status
