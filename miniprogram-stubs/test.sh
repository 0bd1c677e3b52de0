#!/bin/sh
# The mini-program's tests, as CI runs them: static checks (wcc/wcsc, JSON), pages rendered by
# miniprogram-simulate, and end to end against the real server. Needs Node 20+ and npm; builds
# the server unless MINXIN_BIN names a binary already built.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
if [ -z "${MINXIN_BIN:-}" ]; then
  (cd "$here/.." && cargo build --bin minxin)
fi
exec node --test --test-concurrency=2 test/static.test.js test/e2e.test.js test/pages.test.js
