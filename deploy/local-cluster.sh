#!/usr/bin/env bash
# A campaign on a loopback cluster: one coordinator+learner+feedback JVM, N policy and N reward JVMs,
# each a `troupe node`. Waits for the campaign's end, prints its summary and stops every JVM it
# started, also on Ctrl-C or when one of them fails.
#
#   deploy/local-cluster.sh [--policy N] [--reward N] [--run-dir DIR] CAMPAIGN [--set KEY=VALUE ...]
#
# CAMPAIGN is a campaign file or `quickstart`. Members' logs: DIR/nodes/<member>.log. Environment:
# TROUPE_BASE_PORT (first port tried, default 25520), TROUPE_JAVA_OPTS (per JVM, default -Xmx4g),
# TROUPE_CMD (the troupe command to run, default this checkout's ./troupe).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
policy=1
reward=1
run_dir=""
campaign=""
sets=()
usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --policy) policy="${2:?--policy needs a count}"; shift 2 ;;
    --reward) reward="${2:?--reward needs a count}"; shift 2 ;;
    --run-dir) run_dir="${2:?--run-dir needs a folder}"; shift 2 ;;
    --set) sets+=("--set" "${2:?--set needs KEY=VALUE}"); shift 2 ;;
    -h|--help) usage ;;
    -*) echo "local-cluster.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$campaign" ] || { echo "local-cluster.sh: one campaign only (got $campaign and $1)" >&2; exit 2; }
       campaign="$1"; shift ;;
  esac
done
[ -n "$campaign" ] || { echo "local-cluster.sh: name a campaign file or quickstart" >&2; usage; }
[[ "$policy" =~ ^[0-9]+$ && "$reward" =~ ^[0-9]+$ ]] || { echo "local-cluster.sh: --policy and --reward take counts" >&2; exit 2; }
run_dir="${run_dir:-runs/local-cluster}"
mkdir -p "$run_dir/nodes"

read -r -a troupe <<< "${TROUPE_CMD:-$here/troupe}"
# Build once, before the members start (each would otherwise check the sources itself).
"${troupe[@]}" help > /dev/null

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_port=${TROUPE_BASE_PORT:-25520}
# Sets $port to the next free port (no subshell: the counter must advance here).
take_port() {
  while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
  port=$next_port
  next_port=$((next_port + 1))
}
take_port
coordinator_port=$port
seeds="127.0.0.1:$coordinator_port"

pids=()
names=()
stop_all() {
  trap - INT TERM EXIT
  local alive=()
  for pid in "${pids[@]}"; do kill -0 "$pid" 2> /dev/null && alive+=("$pid"); done
  if [ ${#alive[@]} -gt 0 ]; then
    echo "local-cluster.sh: stopping ${#alive[@]} member(s)" >&2
    kill -TERM "${alive[@]}" 2> /dev/null || true
    for _ in $(seq 1 20); do
      local left=0
      for pid in "${alive[@]}"; do kill -0 "$pid" 2> /dev/null && left=1; done
      [ $left -eq 0 ] && break
      sleep 0.5
    done
    kill -KILL "${alive[@]}" 2> /dev/null || true
  fi
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

start_member() { # name log args...
  local name="$1" log="$2"
  shift 2
  "${troupe[@]}" node "$@" > "$log" 2>&1 &
  pids+=("$!")
  names+=("$name")
}

echo "local-cluster.sh: coordinator on 127.0.0.1:$coordinator_port, $policy policy and $reward reward member(s); logs in $run_dir/nodes" >&2
"${troupe[@]}" node --roles coordinator,learner,feedback --port "$coordinator_port" --seeds "$seeds" \
  --campaign "$campaign" --run-dir "$run_dir" --json "${sets[@]+"${sets[@]}"}" \
  > >(tee "$run_dir/nodes/coordinator.out") 2> >(tee "$run_dir/nodes/coordinator.log" >&2) &
coordinator=$!
pids+=("$coordinator")
names+=(coordinator)
for i in $(seq 1 "$policy"); do
  take_port
  start_member "policy-$i" "$run_dir/nodes/policy-$i.log" --roles policy --port "$port" --seeds "$seeds" \
    --run-dir "$run_dir/nodes/policy-$i"
done
for i in $(seq 1 "$reward"); do
  take_port
  start_member "reward-$i" "$run_dir/nodes/reward-$i.log" --roles reward --port "$port" --seeds "$seeds" \
    --run-dir "$run_dir/nodes/reward-$i"
done

status=0
wait "$coordinator" || status=$?
# Every member exits when the coordinator tells it the campaign ended; give them a moment.
for i in "${!pids[@]}"; do
  pid="${pids[$i]}"
  [ "$pid" = "$coordinator" ] && continue
  for _ in $(seq 1 60); do kill -0 "$pid" 2> /dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2> /dev/null; then
    echo "local-cluster.sh: ${names[$i]} did not exit after the campaign's end; see $run_dir/nodes/${names[$i]}.log" >&2
  fi
done
if [ $status -ne 0 ]; then
  echo "local-cluster.sh: the coordinator exited with $status; see $run_dir/nodes/" >&2
fi
exit $status
