#!/usr/bin/env bash
# A one-machine Buildbarn cluster on 127.0.0.1 for tests/remote_exec:
# bb_storage (CAS and action cache), a frontend (bb_storage forwarding
# Execute), bb_scheduler, and two bb_worker + bb_runner pairs, each worker
# with its own native build directory and cache. The configurations are
# tests/remote_exec/config/*.jsonnet; the binaries come from
# build_buildbarn.sh.
#
# As a library (source it; the caller's EXIT trap must call cluster_stop):
#   cluster_start STATE BIN   start every process, wait until healthy;
#                             sets cluster_url (grpc://127.0.0.1:PORT)
#   cluster_stop              stop every process by PID: TERM, then KILL
#                             after cluster_stop_timeout seconds (10)
#   cluster_kill_worker N     SIGKILL worker N and its runner
#   cluster_finish STATUS WHO STATE [KEEP]
#                             for EXIT traps: stop, keep the logs on
#                             failure, remove STATE unless KEEP
#   cluster_logs              print the tail of every process's log
# As a command, for trying things by hand (Ctrl-C stops it):
#   tests/remote_exec/cluster.sh up [STATE]
#
# The runners run actions as the unprivileged user modhash-runner (made
# here with useradd if missing; no home directory), which needs bb_runner
# to start as root. STATE must be a fresh directory; it is made readable
# (not writable) by that user, so keep nothing secret in it.

cluster_config="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/config"
cluster_runner_user=modhash-runner
cluster_stop_timeout=10
cluster_url=
declare -A cluster_pids=()
cluster_order=()
cluster_state=

cluster_die() {
  echo "cluster: $*" >&2
  return 1
}

# cluster_toolchain: the toolchain this machine offers to actions, as the
# platform property modhash-toolchain names it (//bazel:remote_exec):
# Debian release, architecture and gcc's major version. Exact package
# versions are recorded in each kernel build's kernel.buildinfo.
cluster_toolchain() {
  printf 'debian-%s-%s-gcc-%s\n' "$(cut -d. -f1 /etc/debian_version)" \
    "$(dpkg --print-architecture)" "$(gcc -dumpversion | cut -d. -f1)"
}

# A free block of 20 ports on 127.0.0.1 (nothing listening on any of them).
cluster_free_ports() {
  local base i used
  used="$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)"
  for _ in $(seq 50); do
    base=$((20000 + (RANDOM % 2000) * 20))
    for ((i = 0; i < 20; i++)); do
      grep -qx "$((base + i))" <<<"$used" && continue 2
    done
    echo "$base"
    return 0
  done
  cluster_die "no free block of 20 ports on 127.0.0.1"
}

cluster_runner_ids() {
  if ! id -u "$cluster_runner_user" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin "$cluster_runner_user" ||
      cluster_die "cannot create the runners' user $cluster_runner_user" || return 1
  fi
  BB_RUNNER_UID="$(id -u "$cluster_runner_user")"
  BB_RUNNER_GID="$(id -g "$cluster_runner_user")"
  export BB_RUNNER_UID BB_RUNNER_GID
}

# cluster_run PROC BINARY CONFIG [VAR=VALUE...]: one process in the
# background, its output in $cluster_state/logs/PROC.log.
cluster_run() {
  local proc="$1" binary="$2" config="$3"
  shift 3
  env "$@" "$binary" "$cluster_config/$config" >"$cluster_state/logs/$proc.log" 2>&1 &
  cluster_pids[$proc]=$!
  cluster_order+=("$proc")
}

# cluster_healthy PROC OFFSET: /-/healthy of the process's diagnostics server.
cluster_healthy() {
  curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$((BB_PORT_BASE + 10 + $2))/-/healthy" 2>/dev/null
}

cluster_start() {
  local state="$1" bin="$2" proc t0=$SECONDS
  [[ $EUID -eq 0 ]] || cluster_die "must run as root: bb_runner runs actions as $cluster_runner_user" || return 1
  for proc in bb_storage bb_scheduler bb_worker bb_runner; do
    [[ -x "$bin/$proc" ]] || cluster_die "no $bin/$proc (tests/remote_exec/build_buildbarn.sh builds it)" || return 1
  done
  cluster_runner_ids || return 1
  mkdir -p "$state"
  cluster_state="$(cd "$state" && pwd)"
  # The runners' user must reach the build directories (not write them).
  chmod 0755 "$cluster_state"
  mkdir -p "$cluster_state/logs" "$cluster_state"/storage/{cas,ac}/persistent_state "$cluster_state"/worker{1,2}/{build,cache}
  chmod 0700 "$cluster_state/logs" "$cluster_state/storage" "$cluster_state"/worker{1,2}/cache
  BB_STATE="$cluster_state"
  BB_PORT_BASE="$(cluster_free_ports)" || return 1
  BB_TOOLCHAIN="$(cluster_toolchain)"
  # Actions each worker runs at once (worker.jsonnet); callers may set it.
  BB_WORKER_CONCURRENCY="${BB_WORKER_CONCURRENCY:-1}"
  export BB_STATE BB_PORT_BASE BB_TOOLCHAIN BB_WORKER_CONCURRENCY
  cluster_url="grpc://127.0.0.1:$((BB_PORT_BASE + 1))"

  cluster_run storage "$bin/bb_storage" storage.jsonnet
  cluster_run frontend "$bin/bb_storage" frontend.jsonnet
  cluster_run scheduler "$bin/bb_scheduler" scheduler.jsonnet
  for n in 1 2; do
    cluster_run "runner$n" "$bin/bb_runner" runner.jsonnet BB_WORKER=$n
    cluster_run "worker$n" "$bin/bb_worker" worker.jsonnet BB_WORKER=$n
  done

  # Healthy: every process answers /-/healthy and both workers have
  # registered with the scheduler (its admin page lists them).
  local -A offset=([storage]=0 [frontend]=1 [scheduler]=2 [worker1]=3 [worker2]=4 [runner1]=5 [runner2]=6)
  local deadline=$((SECONDS + 60)) pending
  while :; do
    pending=()
    for proc in "${cluster_order[@]}"; do
      kill -0 "${cluster_pids[$proc]}" 2>/dev/null ||
        { cluster_logs; cluster_die "$proc exited while starting (log: $cluster_state/logs/$proc.log)"; return 1; }
      cluster_healthy "$proc" "${offset[$proc]}" || pending+=("$proc")
    done
    ((${#pending[@]} == 0)) && [[ "$(cluster_registered_workers)" == 2 ]] && break
    if ((SECONDS > deadline)); then
      cluster_logs
      cluster_die "not healthy after 60s: ${pending[*]:-workers not registered with the scheduler}"
      return 1
    fi
    sleep 0.5
  done
  echo "cluster: up in $((SECONDS - t0))s at $cluster_url (state $cluster_state, toolchain $BB_TOOLCHAIN," \
    "$BB_WORKER_CONCURRENCY action(s) at once per worker)" >&2
}

# cluster_registered_workers: how many workers the scheduler knows (the
# "All workers" column of its admin page: a link filtering on "all").
cluster_registered_workers() {
  curl -fsS --max-time 2 "http://127.0.0.1:$((BB_PORT_BASE + 4))/" 2>/dev/null |
    sed -n 's/.*workers?filter=%7b%22all%22[^"]*">\([0-9]*\)<.*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}

cluster_kill_worker() {
  local n="$1" proc
  for proc in "worker$n" "runner$n"; do
    [[ -n "${cluster_pids[$proc]:-}" ]] || continue
    kill -KILL "${cluster_pids[$proc]}" 2>/dev/null || true
    wait "${cluster_pids[$proc]}" 2>/dev/null || true
    unset "cluster_pids[$proc]"
  done
}

cluster_stop() {
  local proc pid i
  # Runs in EXIT traps, where a failed kill (a process gone) must not end it.
  local -
  set +e
  # Workers first (they retry the scheduler and storage otherwise), storage last.
  for ((i = ${#cluster_order[@]} - 1; i >= 0; i--)); do
    proc="${cluster_order[$i]}"
    pid="${cluster_pids[$proc]:-}"
    if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null; fi
  done
  local deadline=$((SECONDS + cluster_stop_timeout))
  for ((i = ${#cluster_order[@]} - 1; i >= 0; i--)); do
    proc="${cluster_order[$i]}"
    pid="${cluster_pids[$proc]:-}"
    [[ -n "$pid" ]] || continue
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster: $proc (pid $pid) ignored SIGTERM for ${cluster_stop_timeout}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    unset "cluster_pids[$proc]"
  done
  return 0
}

# cluster_finish STATUS WHO STATE [KEEP]: for the caller's EXIT trap:
# stops the cluster; when STATUS is not 0, copies its logs into a new
# directory and says where (as WHO); removes STATE unless KEEP is set.
# (Its locals are not called "name": callers keep theirs readonly.)
cluster_finish() {
  local status="$1" who="$2" state="$3" keep="${4:-}" logs
  local -
  set +e
  cluster_stop
  if [[ $status -ne 0 && -d "$state/logs" ]]; then
    logs="$(mktemp -d "${TMPDIR:-/tmp}/modhash-buildbarn-logs.XXXXXX")"
    cp -R "$state/logs/." "$logs/"
    echo "$who: the cluster's logs are kept in $logs" >&2
  fi
  if [[ -n "$keep" ]]; then
    echo "$who: kept $state" >&2
  else
    chmod -R u+w "$state" 2>/dev/null
    rm -rf "$state"
  fi
  return 0
}

cluster_logs() {
  local f
  for f in "$cluster_state"/logs/*.log; do
    [[ -f "$f" ]] || continue
    echo "--- $f (last 20 lines)" >&2
    tail -n 20 "$f" >&2
  done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  [[ "${1:-}" == up ]] || { echo "usage: $0 up [STATE]" >&2; exit 2; }
  bin="$("$(dirname "$0")/build_buildbarn.sh")"
  state="${2:-$(mktemp -d "${TMPDIR:-/tmp}/modhash-buildbarn-cluster.XXXXXX")}"
  trap 'cluster_stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cluster_start "$state" "$bin"
  echo "cluster: ./bazelw build --config=remote-exec --remote_executor=$cluster_url --disk_cache= ...  (Ctrl-C stops)"
  while :; do sleep 3600 & wait $!; done
fi
