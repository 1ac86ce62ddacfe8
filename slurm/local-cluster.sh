#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, private to one folder: its own munge daemon (key
# and socket in DIR), slurmctld and slurmd on free loopback ports, state and logs in DIR.
# Nothing under /etc is touched, so it runs beside a site's own Slurm.
#
#   slurm/local-cluster.sh up DIR [--cpus N] [--memory-mb M]   # prints "export SLURM_CONF=..."
#   slurm/local-cluster.sh down DIR                            # stops all three, idempotent
#
# Every Slurm command reaches this cluster with SLURM_CONF=DIR/slurm.conf (DIR/env sets it).
# Needs root (slurmd runs jobs as their users) and the Debian packages slurm-wlm and munge.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1" dir="$2"
shift 2
cpus="$(nproc)" memory_mb=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cpus) cpus="$2"; shift 2 ;;
    --memory-mb) memory_mb="$2"; shift 2 ;;
    *) echo "local-cluster.sh: unknown option $1" >&2; usage ;;
  esac
done

# Stops the daemon whose pid file is $1 (SIGTERM, then SIGKILL after 5 s).
stop_pidfile() {
  local f="$1" pid i
  [ -s "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# SIGKILL to a process and all its descendants, children first.
kill_tree() {
  local c
  for c in $(pgrep -P "$1"); do kill_tree "$c"; done
  kill -KILL "$1" 2>/dev/null || true
}

down() {
  [ -d "$dir" ] || { echo "local-cluster.sh: nothing to stop in $dir"; return 0; }
  # Jobs still running would keep their processes: cancel them while slurmctld is up, and give
  # them KillWait (5 s) plus a margin to end.
  if [ -s "$dir/slurmctld.pid" ] && [ -f "$dir/slurm.conf" ]; then
    export SLURM_CONF="$dir/slurm.conf"
    timeout 10 scancel --full --quiet --user "$(id -un)" 2>/dev/null || true
    local i
    for i in $(seq 100); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  # Steps whose slurmd is gone are not cleaned up by anyone: end them and everything below.
  # A step of this cluster inherited SLURM_CONF=DIR/slurm.conf from slurmd.
  local pid
  for pid in $(pgrep -x slurmstepd); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$dir/slurm.conf"; then
      kill_tree "$pid"
    fi
  done
  stop_pidfile "$dir/munged.pid"
  echo "local-cluster.sh: stopped the cluster in $dir"
}

# A TCP port no socket uses, below the kernel's ephemeral range: an outgoing connection takes its
# local port from that range and could take a port above it between this check and the daemon's
# bind (CI saw slurmctld and slurmd fail with "Address already in use" that way).
free_port() {
  local lo hi p
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
  [ "$lo" -gt 11000 ] || { lo=60000; hi=65000; }
  while true; do
    p=$((10000 + RANDOM % (lo - 10000)))
    ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}

up() {
  for b in munged slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
    command -v "$b" >/dev/null 2>&1 || {
      echo "local-cluster.sh: $b not found: install slurm-wlm and munge (scripts/install-deps.sh)" >&2
      exit 1
    }
  done
  [ "$(id -u)" -eq 0 ] || { echo "local-cluster.sh: needs root (slurmd)" >&2; exit 1; }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  down >/dev/null 2>&1 || true
  # munged runs as the munge user: it must reach its folder (mkdtemp makes DIR 0700).
  chmod 0755 "$dir"
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  # munged runs as the munge user and jobs as their users: both must get through DIR (a private
  # temporary folder is 0700) to the munge folder.
  chmod go+x "$dir"
  chown munge: "$dir/munge"
  chmod 0755 "$dir/munge"  # the socket lives here: every job's user must reach it

  # munge: a fresh key only this cluster uses; the daemon runs as the munge user.
  if [ ! -s "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  fi
  chown munge: "$dir/munge/munge.key"
  chmod 0400 "$dir/munge/munge.key"
  su -s /bin/sh munge -c "munged --key-file='$dir/munge/munge.key' --socket='$dir/munge/munge.socket' \
      --pid-file='$dir/munge/munged.pid' --log-file='$dir/munge/munged.log' \
      --seed-file='$dir/munge/munged.seed'"
  cp "$dir/munge/munged.pid" "$dir/munged.pid"

  local host ctld_port slurmd_port mem
  host="$(hostname -s)"
  ctld_port="$(free_port)"
  slurmd_port="$(free_port)"
  mem="${memory_mb:-$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)}"
  cat > "$dir/slurm.conf" <<CONF
# Written by slurm/local-cluster.sh: a one-node cluster private to $dir.
ClusterName=hpcless-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
# Refuse at submission what the partition can never run (sbatch fails with the reason) instead
# of leaving it pending forever, as most sites do.
EnforcePartLimits=ALL
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Short intervals: tests wait on these.
SchedulerParameters=sched_interval=1
MessageTimeout=10
KillWait=5
InactiveLimit=0
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  cat > "$dir/env" <<ENV
export SLURM_CONF=$dir/slurm.conf
ENV
  export SLURM_CONF="$dir/slurm.conf"
  # slurmctld daemonizes before it listens: start slurmd once the controller answers, so that its
  # first registration is heard. A port taken between free_port and the bind: new ports, again.
  local i attempt state=""
  for attempt in 1 2 3; do
    slurmctld -f "$SLURM_CONF" || { tail -n 20 "$dir/slurmctld.log" >&2; exit 1; }
    for i in $(seq 300); do
      timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && break 2
      grep -q 'Address already in use' "$dir/slurmctld.log" 2>/dev/null && break
      sleep 0.1
    done
    if [ "$i" -eq 300 ] || [ "$attempt" -eq 3 ]; then
      echo "local-cluster.sh: slurmctld not answering after $attempt attempt(s); its last lines:" >&2
      tail -n 20 "$dir/slurmctld.log" >&2
      exit 1
    fi
    echo "local-cluster.sh: slurmctld's port was taken: new ports" >&2
    stop_pidfile "$dir/slurmctld.pid"
    mv "$dir/slurmctld.log" "$dir/slurmctld.log.$attempt"
    sed -i -e "s/^SlurmctldPort=.*/SlurmctldPort=$(free_port)/" \
      -e "s/^SlurmdPort=.*/SlurmdPort=$(free_port)/" "$SLURM_CONF"
  done
  slurmd -f "$SLURM_CONF" || { tail -n 20 "$dir/slurmd.log" >&2; exit 1; }
  # The node is up once slurmd has registered. A slurmd that died, or whose registration was lost
  # (seen once on a loaded CI machine: the node stayed 'unk*'), is restarted once after 15 s.
  for i in $(seq 450); do
    state="$(timeout 5 sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)"
    case "$state" in idle|mix|alloc) break ;; esac
    if [ "$i" -eq 150 ]; then
      echo "local-cluster.sh: node not up after 15 s (state '$state'): restarting slurmd" >&2
      stop_pidfile "$dir/slurmd.pid"
      slurmd -f "$SLURM_CONF" || { tail -n 20 "$dir/slurmd.log" >&2; exit 1; }
    fi
    sleep 0.1
  done
  case "$state" in
    idle|mix|alloc) ;;
    *)
      echo "local-cluster.sh: node not up after 45 s (state '$state'); the daemons' last lines:" >&2
      timeout 5 scontrol show node "$host" >&2 || true
      tail -n 15 "$dir/slurmctld.log" "$dir/slurmd.log" >&2
      exit 1 ;;
  esac
  echo "local-cluster.sh: Slurm cluster up in $dir (node $host, $cpus CPUs, ${mem} MB)"
  echo "export SLURM_CONF=$dir/slurm.conf"
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
