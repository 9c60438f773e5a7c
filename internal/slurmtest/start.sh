#!/usr/bin/env bash
# Single-node Slurm for tests, as /work/shared/infra/slurm/start.sh (checked on Debian 12,
# slurm 22.05, root, 2 cores) minus the package install (.ci/install-slurm.sh does that):
# munged + slurmctld + slurmd on this host, MariaDB + slurmdbd so that `sacct` works.
#   usage: start.sh BASE      stop: start.sh stop BASE
#   then:  export SLURM_CONF=$BASE/slurm.conf
# Ports 6817/6818/6819/13306 must be free; munged is stopped only if this script started it.
set -euo pipefail
if [ "${1:-}" = stop ]; then
  BASE=${2:-/tmp/slurmtest}
  for f in slurmd slurmctld slurmdbd mysqlrun/mariadbd munged; do
    p="$BASE/$f.pid"; [ -f "$p" ] || continue
    pid=$(cat "$p"); kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    # Still there after 10 s (MariaDB's shutdown under load): SIGKILL, so
    # that no daemon outlives its removed directory and holds its port.
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  exit 0
fi
BASE=$1
WITH_SLURMDBD=${WITH_SLURMDBD:-1}
HOST=$(hostname -s)            # SlurmctldHost/DbdHost must equal this, else "not a valid controller"
CPUS=$(nproc)
MEM=$(awk '/MemTotal/{print int($2/1024*0.9)}' /proc/meminfo)
mkdir -p "$BASE"/{state,spool,log,jobs}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---- munge: the package makes /etc/munge/munge.key; munged must run as user munge
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 2>/dev/null
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=/run/munge/munged.pid"
  for i in $(seq 1 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  cp /run/munge/munged.pid "$BASE/munged.pid"
fi

# ---- optional accounting: private MariaDB on 127.0.0.1:$DB_PORT + slurmdbd on 6819.
# The port lies below Linux's ephemeral range (32768-60999): in that range
# another test's outgoing connection can hold it (53306 did, in CI).
DB_PORT=13306
ACCT="AccountingStorageType=accounting_storage/none"
if [ "$WITH_SLURMDBD" = 1 ]; then
  DB=$BASE/mysql; RUN=$BASE/mysqlrun
  mkdir -p "$DB" "$RUN"; chown mysql:mysql "$DB" "$RUN"
  [ -d "$DB/mysql" ] || mariadb-install-db --user=mysql --datadir="$DB" --auth-root-authentication-method=normal \
      --skip-test-db >"$BASE/log/mariadb-install.log" 2>&1
  if ! alive "$RUN/mariadbd.pid"; then
    # A MariaDB of a cluster stopped a moment ago may still hold the port.
    for i in $(seq 1 150); do ss -ltn 2>/dev/null | grep -q "127.0.0.1:$DB_PORT " || break; sleep 0.2; done
    # Started as root, it runs as mysql (--user); what it prints before
    # its error log is open goes to mariadbd.out.
    /usr/sbin/mariadbd --user=mysql --datadir="$DB" --socket="$RUN/mysqld.sock" --pid-file="$RUN/mariadbd.pid" \
      --bind-address=127.0.0.1 --port=$DB_PORT --skip-log-bin --innodb-buffer-pool-size=64M \
      --innodb-lock-wait-timeout=900 --log-error="$RUN/mariadb.err" >"$BASE/log/mariadbd.out" 2>&1 </dev/null &
    # Up to 2 minutes: on a loaded 2-core machine (the whole suite at
    # once) MariaDB's first start has taken over 30 s.
    for i in $(seq 1 600); do mariadb -S "$RUN/mysqld.sock" -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
    if ! mariadb -S "$RUN/mysqld.sock" -uroot -e 'select 1' >/dev/null 2>&1; then
      echo "MariaDB did not start; the end of its logs:" >&2
      tail -n 20 "$BASE/log/mariadbd.out" "$RUN/mariadb.err" >&2 2>/dev/null
      ss -tanp 2>/dev/null | grep -w "$DB_PORT" >&2
      exit 1
    fi
  fi
  mariadb -S "$RUN/mysqld.sock" -uroot -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
     GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
  # slurmdbd has no -f: it reads slurmdbd.conf from the directory of $SLURM_CONF; must be mode 600
  cat > "$BASE/slurmdbd.conf" <<CONF
AuthType=auth/munge
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$BASE/slurmdbd.pid
LogFile=$BASE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
CONF
  chmod 600 "$BASE/slurmdbd.conf"
  ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819"
fi

cat > "$BASE/slurm.conf" <<CONF
ClusterName=mlrun
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/slurmctld.pid
SlurmdPidFile=$BASE/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
$ACCT
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$BASE/slurm.conf

if [ "$WITH_SLURMDBD" = 1 ]; then
  alive "$BASE/slurmdbd.pid" || /usr/sbin/slurmdbd
  for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null && break; sleep 0.2; done
  sacctmgr -n list cluster format=cluster 2>/dev/null | grep -qw mlrun || sacctmgr -i add cluster mlrun >/dev/null
fi
alive "$BASE/slurmctld.pid" || /usr/sbin/slurmctld -f "$SLURM_CONF"     # daemonizes
for i in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
alive "$BASE/slurmd.pid" || /usr/sbin/slurmd -f "$SLURM_CONF"
for i in $(seq 1 100); do sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break; sleep 0.2; done
sinfo
echo "export SLURM_CONF=$SLURM_CONF"
