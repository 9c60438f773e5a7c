#!/usr/bin/env bash
# PostgreSQL server binaries for the postgres store's tests (internal/pgtest
# starts a throwaway server from them; no cluster is started here).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The package's postinst cannot start its default cluster without an init
# system ("policy-rc.d denied execution of start"); that is expected.
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
