#!/usr/bin/env bash
# Slurm for the executor tests (internal/slurmtest starts it): slurm-wlm and munge for
# slurmctld/slurmd, slurmdbd and mariadb-server for sacct. Idempotent and quiet.
set -euo pipefail
need=""
for p in slurm-wlm munge slurmdbd mariadb-server; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
[ -z "$need" ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
# The postinsts try to start services and are refused without an init: harmless.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $need >/dev/null
