# shellcheck shell=bash
# Sourced by scripts/demo and scripts/bench: starts and stops examples/dashboard_server
# and drives load_client at it. The caller sets DASHBOARD_BIN (the build's
# examples/dashboard_server directory) and DASHBOARD_WORK (a scratch directory), and
# removes DASHBOARD_WORK itself.

DASHBOARD_SERVER_PID=""
DASHBOARD_PORT=""

dashboard_die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# dashboard_start NAME [ARGS...]: starts the server on a free port with ARGS; sets
# DASHBOARD_SERVER_PID and DASHBOARD_PORT, and prints its banner.
dashboard_start() {
  local name=$1
  shift
  "$DASHBOARD_BIN/dashboard_server" --port 0 "$@" >"$DASHBOARD_WORK/$name.out" \
    2>"$DASHBOARD_WORK/$name.err" &
  DASHBOARD_SERVER_PID=$!
  for _ in $(seq 200); do
    DASHBOARD_PORT=$(sed -n 's|.*listening on http://[^ ]*:\([0-9][0-9]*\) .*|\1|p' \
      "$DASHBOARD_WORK/$name.out")
    if [[ -n $DASHBOARD_PORT ]]; then
      sed 's/^/  /' "$DASHBOARD_WORK/$name.out"
      return 0
    fi
    kill -0 "$DASHBOARD_SERVER_PID" 2>/dev/null ||
      dashboard_die "the server exited: $(cat "$DASHBOARD_WORK/$name.err")"
    sleep 0.05
  done
  dashboard_die "the server did not print its port within 10 s"
}

# dashboard_stop NAME: SIGTERM, and the server must exit cleanly (status 0).
dashboard_stop() {
  local name=$1 status=0
  kill -TERM "$DASHBOARD_SERVER_PID"
  wait "$DASHBOARD_SERVER_PID" || status=$?
  DASHBOARD_SERVER_PID=""
  tail -n 1 "$DASHBOARD_WORK/$name.out" | sed 's/^/  /'
  ((status == 0)) ||
    dashboard_die "the server exited with status $status after SIGTERM: $(cat "$DASHBOARD_WORK/$name.err")"
}

# dashboard_kill: stops a server still running (for an EXIT trap).
dashboard_kill() {
  if [[ -n $DASHBOARD_SERVER_PID ]]; then
    kill -TERM "$DASHBOARD_SERVER_PID" 2>/dev/null || true
    wait "$DASHBOARD_SERVER_PID" 2>/dev/null || true
    DASHBOARD_SERVER_PID=""
  fi
}

# dashboard_load LABEL LOAD_ARGS...: drives the load at the running server; prints its
# report and keeps its RESULT line in $DASHBOARD_WORK/LABEL.result.
dashboard_load() {
  local label=$1
  shift
  "$DASHBOARD_BIN/load_client" --port "$DASHBOARD_PORT" --label "$label" "$@" \
    >"$DASHBOARD_WORK/$label.load" || dashboard_die "load '$label' failed: $(cat "$DASHBOARD_WORK/$label.load")"
  grep -v '^RESULT' "$DASHBOARD_WORK/$label.load" | sed 's/^/  /'
  grep '^RESULT' "$DASHBOARD_WORK/$label.load" >"$DASHBOARD_WORK/$label.result"
}

# dashboard_field LABEL NAME: one value of a load's RESULT line.
dashboard_field() {
  sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$DASHBOARD_WORK/$1.result"
}
