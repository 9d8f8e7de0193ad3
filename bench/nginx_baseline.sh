# Sourced by bench/run.sh and bench/tickets.sh: the nginx fixed-body baseline
# (bench/nginx_baseline.py) for a whole bench run.
#
#   start_nginx_baseline WORK_DIR PYTHON [PREFIX...]
#
# starts it in WORK_DIR/nginx (PREFIX, e.g. a taskset command, runs before
# PYTHON), waits until it answers (the first run may install nginx-light), and
# sets nginx_pid and nginx_url. With NGINX_BASELINE=0 it starts nothing and
# leaves both empty. Exits the script, printing nginx's errors, if it dies.
start_nginx_baseline() {
  local work=$1 py=$2
  shift 2
  nginx_pid="" nginx_url=""
  [ "${NGINX_BASELINE:-1}" != 0 ] || return 0
  mkdir -p "$work/nginx"
  "$@" "$py" "$here/nginx_baseline.py" "$work/nginx" > "$work/nginx.out" 2> "$work/nginx.err" &
  nginx_pid=$!
  local port=""
  for _ in $(seq 1 1200); do
    port=$(awk '/^port/ {print $2}' "$work/nginx.out" 2>/dev/null)
    if [ -n "$port" ] && curl -s -o /dev/null "http://127.0.0.1:$port/livez"; then break; fi
    kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/nginx.err"; exit 1; }
    sleep 0.1
  done
  nginx_url=http://127.0.0.1:$port
}
