#!/usr/bin/env bash
# Load harness (issues #9 and #15, BENCHMARKS.md): the gateway against nginx as a plain reverse
# proxy and against the nginx+Lua peer (the same translation written by hand as an nginx Lua
# handler, `../shared/bench/translator.lua` from the repository root), all in front of the same
# static upstream, on loopback only. Bounded in time (about five
# minutes with the defaults, plus the release build) and stops everything it started on exit.
#
#   bash bench/load.sh            # needs root for apt-get when nginx, its Lua module, lua-cjson,
#                                 # wrk, jq or curl are missing
#
# Knobs (environment): ROUNDS=3 DURATION=10 CONNECTIONS=64 THREADS=2 RATE=500
# RSS_CONNECTIONS=1000 LOGS=on (per-request logs on both proxies, as in production; off to
# compare without them) KEEP_WORK=1 (keep the temp dir with configs and logs)
# GATEWAY_PRELOAD=/path/lib.so (LD_PRELOAD for the gateway only, e.g. another malloc)
# PEER=off (leave the nginx+Lua peer out, e.g. when ../shared/bench is not checked out)
# FLOOR=off (leave the floor out: bench/floor.rs, the gateway's JSON work alone behind hyper).
#
# 1. An nginx upstream answers every path with a canned Stripe checkout.session (the stripe
#    contract case 03 answer: 4 expanded line items, ~5 KB).
# 2. The gateway (release build) with one stripe provider pointed at it.
# 3. nginx with proxy_pass and upstream keepalive to the same upstream, as the reference.
# 4. wrk drives both with the same ~1 KB update (bench/update-1k.json as a unified PATCH for the
#    gateway; the Stripe form POST the gateway itself builds for it, for nginx), alternating.
# 5. Reports medians of requests/s, p50/p99, the gateway/nginx ratio, CPU time per request,
#    the gateway's peak RSS after RSS_CONNECTIONS connections, and p50/p99 at a fixed RATE
#    through each proxy versus calling the upstream directly (bench/fixed_rate.rs).
# 6. The peer (nginx with the Lua module, one worker per core, upstream keepalive) and the gateway
#    with a body both translate completely (bench/update-peer.json: metadata set/unset and two
#    shipping options; the peer ignores line items), alternating in the same rounds: requests/s,
#    CPU per request and the gateway/peer ratio.
# 7. The floor (bench/floor.rs, same config, same bound of 64 provider calls) with the harness
#    body in the same rounds, and its peak RSS after RSS_CONNECTIONS connections.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RATE=${RATE:-500}
RSS_CONNECTIONS=${RSS_CONNECTIONS:-1000}
LOGS=${LOGS:-on}
PEER=${PEER:-on}
FLOOR=${FLOOR:-on}
for knob in ROUNDS DURATION CONNECTIONS THREADS RATE RSS_CONNECTIONS; do
  [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || { echo "$knob must be a positive integer" >&2; exit 2; }
done
((DURATION <= 60 && ROUNDS <= 10 && RSS_CONNECTIONS <= 5000 && RATE <= 20000)) ||
  { echo "bounded: DURATION<=60 ROUNDS<=10 RSS_CONNECTIONS<=5000 RATE<=20000" >&2; exit 2; }

SESSION=cs_test_bench_load
# The peer's tenant key (translator.lua checks it literally); the gateway's bench tenant uses the same.
TENANT_KEY=bench-key-1
STRIPE_KEY=sk_test_bench_load

# --- tools --------------------------------------------------------------------------------
missing=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
LUA_MODULE=/usr/lib/nginx/modules/ngx_http_lua_module.so
cjson_dir() { find /usr/lib -path '*/lua/5.1/cjson.so' -printf '%h\n' 2>/dev/null | head -1; }
if [[ $PEER == on ]]; then
  PEER_DIR=$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd) && [[ -r $PEER_DIR/translator.lua ]] ||
    { echo "the peer ../shared/bench/translator.lua (from the repository root) is missing; PEER=off runs without it" >&2; exit 2; }
  [[ -r $LUA_MODULE ]] || missing+=(libnginx-mod-http-lua)
  [[ -n $(cjson_dir) ]] || missing+=(lua-cjson)
fi
if ((${#missing[@]})); then
  echo "== installing ${missing[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== building the gateway and the fixed-rate client (release)"
cargo build --release --quiet --bin checkout-gateway --example fixed-rate --example floor
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
GATEWAY=$TARGET_DIR/release/checkout-gateway
FIXED_RATE=$TARGET_DIR/release/examples/fixed-rate
FLOOR_BIN=$TARGET_DIR/release/examples/floor

# --- workspace and cleanup ----------------------------------------------------------------
WORK=$(mktemp -d -t checkout-load.XXXXXX)
chmod 755 "$WORK" # nginx workers run as an unprivileged user when started by root
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP_WORK:-} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if port_free "$port" && [[ " ${USED_PORTS:-} " != *" $port "* ]]; then
      USED_PORTS="${USED_PORTS:-} $port"
      echo "$port"
      return
    fi
  done
  echo "no free loopback port found" >&2
  return 1
}
# Poll (bounded, ~10 s) until something accepts on the port.
wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1 (see $WORK/*.log)" >&2
  return 1
}
UPSTREAM_PORT=$(free_port)
PROXY_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
PEER_PORT=$(free_port)
FLOOR_PORT=$(free_port)

# --- upstream (static nginx) --------------------------------------------------------------
mkdir -p "$WORK/upstream/www" "$WORK/proxy"
jq -c '.provider_response.body' providers/stripe/contracts/03-line-items-all-forms-expanded.json >"$WORK/upstream/www/session.json"
# Static file answers for any method: nginx refuses POST to a static file with 405, and
# `error_page 405 =200 /session.json` serves the same file as a GET instead.
cat >"$WORK/upstream.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/upstream/nginx.pid;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $WORK/upstream;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$UPSTREAM_PORT backlog=4096;
    root $WORK/upstream/www;
    default_type application/json;
    location / {
      add_header request-id req_bench_upstream always;
      rewrite ^ /session.json break;
      error_page 405 =200 /session.json;
    }
  }
}
EOF

# --- reference proxy (nginx, proxy_pass + keepalive) ---------------------------------------
if [[ $LOGS == on ]]; then NGINX_ACCESS="access_log $WORK/proxy-access.log;"; else NGINX_ACCESS="access_log off;"; fi
cat >"$WORK/proxy.conf" <<EOF
# As many workers as the gateway has runtime threads (one per core).
worker_processes $(nproc);
daemon off;
pid $WORK/proxy/nginx.pid;
events { worker_connections 16384; }
http {
  $NGINX_ACCESS
  client_body_temp_path $WORK/proxy/body;
  proxy_temp_path $WORK/proxy/proxy;
  keepalive_requests 1000000;
  upstream provider {
    server 127.0.0.1:$UPSTREAM_PORT;
    keepalive 256;
  }
  server {
    listen 127.0.0.1:$PROXY_PORT backlog=4096;
    location / {
      proxy_pass http://provider;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF

# --- the peer (nginx + Lua: the same translation by hand) ----------------------------------
if [[ $PEER == on ]]; then
  mkdir -p "$WORK/peer"
  if [[ $LOGS == on ]]; then PEER_ACCESS="access_log $WORK/peer-access.log;"; else PEER_ACCESS="access_log off;"; fi
  cat >"$WORK/peer.conf" <<EOF
load_module $(dirname "$LUA_MODULE")/ndk_http_module.so;
load_module $LUA_MODULE;
worker_processes $(nproc);
daemon off;
pid $WORK/peer/nginx.pid;
events { worker_connections 16384; }
http {
  $PEER_ACCESS
  client_body_temp_path $WORK/peer/body;
  proxy_temp_path $WORK/peer/proxy;
  client_body_buffer_size 64k;
  keepalive_requests 1000000;
  lua_package_path "$PEER_DIR/?.lua;;";
  lua_package_cpath "$(cjson_dir)/?.so;;";
  init_by_lua_block { translator = require "translator" }
  upstream backend {
    server 127.0.0.1:$UPSTREAM_PORT;
    keepalive 256;
  }
  server {
    listen 127.0.0.1:$PEER_PORT backlog=4096;
    location /v1/checkout/sessions/ { content_by_lua_block { translator.handle() } }
    location /_up/ {
      internal;
      proxy_pass http://backend/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer $STRIPE_KEY";
      proxy_set_header Content-Type application/x-www-form-urlencoded;
    }
  }
}
EOF
fi

# --- gateway ------------------------------------------------------------------------------
cat >"$WORK/gateway.toml" <<EOF
[server]
listen = "127.0.0.1:$GATEWAY_PORT"
max_concurrency = 8192

[providers.stripe]
kind = "stripe"
base_url = "http://127.0.0.1:$UPSTREAM_PORT"
allow_insecure_http = true
api_key = { value = "$STRIPE_KEY" }
api_version = "2025-03-31.basil"
# The default bound, stated: the floor gets the same one (--connections 64).
max_connections = 64

[tenants.bench]
api_key_sha256 = "$(printf '%s' "$TENANT_KEY" | "$GATEWAY" hash-key)"
provider = "stripe"
allowed_providers = ["stripe"]
EOF

"$NGINX" -p "$WORK/upstream" -c "$WORK/upstream.conf" -e "$WORK/upstream-error.log" &
PIDS+=($!)
"$NGINX" -p "$WORK/proxy" -c "$WORK/proxy.conf" -e "$WORK/proxy-error.log" &
PIDS+=($!)
PROXY_MASTER=$!
PEER_MASTER=
if [[ $PEER == on ]]; then
  "$NGINX" -p "$WORK/peer" -c "$WORK/peer.conf" -e "$WORK/peer-error.log" &
  PIDS+=($!)
  PEER_MASTER=$!
fi
if [[ $LOGS == on ]]; then GATEWAY_LOG=info; else GATEWAY_LOG=warn; fi
RUST_LOG=$GATEWAY_LOG LD_PRELOAD=${GATEWAY_PRELOAD:-} "$GATEWAY" serve --config "$WORK/gateway.toml" >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
GATEWAY_PID=$!
FLOOR_PID=
if [[ $FLOOR == on ]]; then
  "$FLOOR_BIN" --config "$WORK/gateway.toml" --provider stripe --listen "127.0.0.1:$FLOOR_PORT" --connections 64 >"$WORK/floor.log" 2>&1 &
  PIDS+=($!)
  FLOOR_PID=$!
fi
wait_port "$UPSTREAM_PORT"
wait_port "$PROXY_PORT"
wait_port "$GATEWAY_PORT"
[[ $PEER == off ]] || wait_port "$PEER_PORT"
[[ $FLOOR == off ]] || wait_port "$FLOOR_PORT"

# --- the two equivalent requests ------------------------------------------------------------
BODY=$ROOT/bench/update-1k.json
"$GATEWAY" translate --provider stripe --config "$WORK/gateway.toml" --session "$SESSION" "$BODY" >"$WORK/translated.json"
jq -j '.requests[-1].body' "$WORK/translated.json" >"$WORK/provider-body.txt"
PROVIDER_PATH=$(jq -r '.requests[-1].path' "$WORK/translated.json")
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT/v1/checkout/sessions/$SESSION"
PEER_URL="http://127.0.0.1:$PEER_PORT/v1/checkout/sessions/$SESSION"
FLOOR_URL="http://127.0.0.1:$FLOOR_PORT/v1/checkout/sessions/$SESSION"
PEER_BODY=$ROOT/bench/update-peer.json
PROXY_URL="http://127.0.0.1:$PROXY_PORT$PROVIDER_PATH"
DIRECT_URL="http://127.0.0.1:$UPSTREAM_PORT$PROVIDER_PATH"
GATEWAY_HEADERS=("Authorization: Bearer $TENANT_KEY" "Content-Type: application/json")
PROVIDER_HEADERS=("Authorization: Bearer $STRIPE_KEY" "Content-Type: application/x-www-form-urlencoded"
  "Idempotency-Key: 6f1c2a9e-bench-load" "Stripe-Version: 2025-03-31.basil")

lua_script() { # FILE METHOD BODY_FILE HEADER...
  local file=$1 method=$2 body=$3 header
  shift 3
  {
    echo "wrk.method = \"$method\""
    echo "local f = assert(io.open(\"$body\", \"rb\")); wrk.body = f:read(\"*a\"); f:close()"
    for header in "$@"; do echo "wrk.headers[\"${header%%:*}\"] = \"${header#*: }\""; done
  } >"$file"
}
lua_script "$WORK/gateway.lua" PATCH "$BODY" "${GATEWAY_HEADERS[@]}"
lua_script "$WORK/provider.lua" POST "$WORK/provider-body.txt" "${PROVIDER_HEADERS[@]}"
lua_script "$WORK/peer-body.lua" PATCH "$PEER_BODY" "${GATEWAY_HEADERS[@]}"

# Smoke: both answer 200 with the same upstream behind them.
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[[ $(status -X PATCH -H "${GATEWAY_HEADERS[0]}" -H "${GATEWAY_HEADERS[1]}" --data-binary "@$BODY" "$GATEWAY_URL") == 200 ]] ||
  { echo "the gateway did not answer 200:" >&2; tail -5 "$WORK/gateway.log" >&2; exit 1; }
[[ $(status -X POST -H "${PROVIDER_HEADERS[0]}" --data-binary "@$WORK/provider-body.txt" "$PROXY_URL") == 200 ]] ||
  { echo "nginx did not answer 200" >&2; exit 1; }
if [[ $FLOOR == on ]]; then
  [[ $(status -X PATCH -H "${GATEWAY_HEADERS[1]}" --data-binary "@$BODY" "$FLOOR_URL") == 200 ]] ||
    { echo "the floor did not answer 200:" >&2; tail -5 "$WORK/floor.log" >&2; exit 1; }
fi
if [[ $PEER == on ]]; then
  [[ $(status -X PATCH -H "${GATEWAY_HEADERS[0]}" -H "${GATEWAY_HEADERS[1]}" --data-binary "@$PEER_BODY" "$GATEWAY_URL") == 200 ]] ||
    { echo "the gateway did not answer 200 to the peer's body" >&2; exit 1; }
  [[ $(status -X PATCH -H "${GATEWAY_HEADERS[0]}" -H "${GATEWAY_HEADERS[1]}" --data-binary "@$PEER_BODY" "$PEER_URL") == 200 ]] ||
    { echo "the peer did not answer 200:" >&2; tail -5 "$WORK/peer-error.log" >&2; exit 1; }
fi

# --- measuring helpers ----------------------------------------------------------------------
to_us() { # wrk latency (e.g. 1.23ms) -> microseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; else m = 1; printf "%.0f", n * m }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
cpu_ticks() { # total utime+stime of the given pids and their children
  local total=0 pid
  for pid in "$@" $(for p in "$@"; do pgrep -P "$p" || true; done); do
    [[ -r /proc/$pid/stat ]] || continue
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
# run_wrk NAME URL SCRIPT CONNECTIONS SECONDS PIDS... -> "rps p50_us p99_us cpu_us_per_request"
run_wrk() {
  local name=$1 url=$2 script=$3 conns=$4 secs=$5 out before after
  shift 5
  out="$WORK/wrk-$name-$(date +%s%N).txt"
  before=$(cpu_ticks "$@")
  timeout $((secs + 30)) wrk -t"$THREADS" -c"$conns" -d"${secs}s" --latency -s "$script" "$url" >"$out"
  after=$(cpu_ticks "$@")
  if grep -q "Non-2xx" "$out" || grep -q "Socket errors" "$out"; then
    echo "wrk against $name reported errors:" >&2
    cat "$out" >&2
    exit 1
  fi
  local rps p50 p99 requests
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
  requests=$(awk '/requests in/ { print $1 }' "$out")
  local ticks_per_s
  ticks_per_s=$(getconf CLK_TCK)
  echo "$rps $p50 $p99 $(awk -v t=$((after - before)) -v hz="$ticks_per_s" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
}

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r)"
echo "nginx: $("$NGINX" -v 2>&1 | sed 's/.*\///'); wrk: $(wrk -v 2>&1 | head -1 | awk '{ print $2 }'); $(rustc --version)"
echo "load: $CONNECTIONS connections, $THREADS wrk threads, ${DURATION}s x $ROUNDS rounds; logs $LOGS${GATEWAY_PRELOAD:+; gateway preload $GATEWAY_PRELOAD}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "gateway request: PATCH $(wc -c <"$BODY") B unified JSON; nginx request: POST $(wc -c <"$WORK/provider-body.txt") B Stripe form; upstream answer $(wc -c <"$WORK/upstream/www/session.json") B"

echo "== warm-up"
run_wrk gateway "$GATEWAY_URL" "$WORK/gateway.lua" "$CONNECTIONS" 3 "$GATEWAY_PID" >/dev/null
run_wrk nginx "$PROXY_URL" "$WORK/provider.lua" "$CONNECTIONS" 3 "$PROXY_MASTER" >/dev/null
[[ $PEER == off ]] || run_wrk peer "$PEER_URL" "$WORK/peer-body.lua" "$CONNECTIONS" 3 "$PEER_MASTER" >/dev/null
[[ $FLOOR == off ]] || run_wrk floor "$FLOOR_URL" "$WORK/gateway.lua" "$CONNECTIONS" 3 "$FLOOR_PID" >/dev/null

echo "== throughput (alternating; rps p50_us p99_us cpu_us/request)"
declare -a G_RPS G_P50 G_P99 G_CPU N_RPS N_P50 N_P99 N_CPU GP_RPS GP_P50 GP_P99 GP_CPU P_RPS P_P50 P_P99 P_CPU F_RPS F_CPU
for round in $(seq 1 "$ROUNDS"); do
  line=$(run_wrk gateway "$GATEWAY_URL" "$WORK/gateway.lua" "$CONNECTIONS" "$DURATION" "$GATEWAY_PID")
  read -r rps p50 p99 cpu <<<"$line"
  G_RPS+=("$rps") G_P50+=("$p50") G_P99+=("$p99") G_CPU+=("$cpu")
  echo "round $round gateway: $rps $p50 $p99 $cpu"
  line=$(run_wrk nginx "$PROXY_URL" "$WORK/provider.lua" "$CONNECTIONS" "$DURATION" "$PROXY_MASTER")
  read -r rps p50 p99 cpu <<<"$line"
  N_RPS+=("$rps") N_P50+=("$p50") N_P99+=("$p99") N_CPU+=("$cpu")
  echo "round $round nginx:   $rps $p50 $p99 $cpu"
  if [[ $FLOOR == on ]]; then
    line=$(run_wrk floor "$FLOOR_URL" "$WORK/gateway.lua" "$CONNECTIONS" "$DURATION" "$FLOOR_PID")
    read -r rps p50 p99 cpu <<<"$line"
    F_RPS+=("$rps") F_CPU+=("$cpu")
    echo "round $round floor:   $rps $p50 $p99 $cpu"
  fi
  [[ $PEER == on ]] || continue
  line=$(run_wrk gateway "$GATEWAY_URL" "$WORK/peer-body.lua" "$CONNECTIONS" "$DURATION" "$GATEWAY_PID")
  read -r rps p50 p99 cpu <<<"$line"
  GP_RPS+=("$rps") GP_P50+=("$p50") GP_P99+=("$p99") GP_CPU+=("$cpu")
  echo "round $round gateway, peer body: $rps $p50 $p99 $cpu"
  line=$(run_wrk peer "$PEER_URL" "$WORK/peer-body.lua" "$CONNECTIONS" "$DURATION" "$PEER_MASTER")
  read -r rps p50 p99 cpu <<<"$line"
  P_RPS+=("$rps") P_P50+=("$p50") P_P99+=("$p99") P_CPU+=("$cpu")
  echo "round $round peer (nginx+Lua):   $rps $p50 $p99 $cpu"
done

echo "== $RSS_CONNECTIONS connections against the gateway (peak RSS)"
rss_before=$(awk '/VmRSS/ { print $2 }' "/proc/$GATEWAY_PID/status")
line=$(run_wrk gateway "$GATEWAY_URL" "$WORK/gateway.lua" "$RSS_CONNECTIONS" "$DURATION" "$GATEWAY_PID")
read -r rss_rps rss_p50 rss_p99 rss_cpu <<<"$line"
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$GATEWAY_PID/status")
rss_after=$(awk '/VmRSS/ { print $2 }' "/proc/$GATEWAY_PID/status")
echo "gateway at $RSS_CONNECTIONS connections: $rss_rps req/s, p50 ${rss_p50}us, p99 ${rss_p99}us"
echo "gateway RSS: ${rss_before} KiB before, peak (VmHWM) ${hwm} KiB, ${rss_after} KiB after"
if [[ $FLOOR == on ]]; then
  run_wrk floor "$FLOOR_URL" "$WORK/gateway.lua" "$RSS_CONNECTIONS" "$DURATION" "$FLOOR_PID" >/dev/null
  floor_hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$FLOOR_PID/status")
  echo "floor peak RSS (VmHWM) after $RSS_CONNECTIONS connections: ${floor_hwm} KiB"
fi

echo "== fixed rate $RATE req/s (p50_us p99_us), alternating"
fixed() { # URL METHOD BODY HEADER...
  local url=$1 method=$2 body=$3 args=() header
  shift 3
  for header in "$@"; do args+=(--header "$header"); done
  timeout $((DURATION + 40)) "$FIXED_RATE" --url "$url" --method "$method" --body-file "$body" \
    --rate "$RATE" --duration "$DURATION" --warmup 2 "${args[@]}" |
    sed -E 's/.*p50_us=([0-9]+).*p99_us=([0-9]+).*max_lag_us=([0-9]+).*/\1 \2 \3/'
}
declare -a D_P50 D_P99 FG_P50 FG_P99 FN_P50 FN_P99
for round in $(seq 1 "$ROUNDS"); do
  line=$(fixed "$DIRECT_URL" POST "$WORK/provider-body.txt" "${PROVIDER_HEADERS[@]}")
  read -r p50 p99 dlag <<<"$line"
  D_P50+=("$p50") D_P99+=("$p99")
  line=$(fixed "$GATEWAY_URL" PATCH "$BODY" "${GATEWAY_HEADERS[@]}")
  read -r g50 g99 glag <<<"$line"
  FG_P50+=("$g50") FG_P99+=("$g99")
  line=$(fixed "$PROXY_URL" POST "$WORK/provider-body.txt" "${PROVIDER_HEADERS[@]}")
  read -r n50 n99 nlag <<<"$line"
  FN_P50+=("$n50") FN_P99+=("$n99")
  echo "round $round direct $p50 $p99 | gateway $g50 $g99 | nginx $n50 $n99 (client max start lag ${dlag}/${glag}/${nlag}us)"
done

med() { echo "$@" | median; }
g_rps=$(med "${G_RPS[@]}") n_rps=$(med "${N_RPS[@]}")
d50=$(med "${D_P50[@]}") d99=$(med "${D_P99[@]}")
fg50=$(med "${FG_P50[@]}") fg99=$(med "${FG_P99[@]}")
fn50=$(med "${FN_P50[@]}") fn99=$(med "${FN_P99[@]}")
echo
echo "== summary (medians of $ROUNDS rounds; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-30s %12s %12s %8s\n' "" gateway nginx ratio
printf '%-30s %12s %12s %8s\n' "requests/s ($CONNECTIONS conns)" "$g_rps" "$n_rps" "$(awk -v g="$g_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", g / n }')"
printf '%-30s %12s %12s\n' "p50 latency (us)" "$(med "${G_P50[@]}")" "$(med "${N_P50[@]}")"
printf '%-30s %12s %12s\n' "p99 latency (us)" "$(med "${G_P99[@]}")" "$(med "${N_P99[@]}")"
printf '%-30s %12s %12s\n' "proxy CPU per request (us)" "$(med "${G_CPU[@]}")" "$(med "${N_CPU[@]}")"
echo "gateway peak RSS (VmHWM) after $RSS_CONNECTIONS connections: $((hwm / 1024)) MiB ($hwm KiB)"
if [[ $FLOOR == on ]]; then
  f_rps=$(med "${F_RPS[@]}")
  echo "floor (JSON work alone): $f_rps req/s ($(awk -v f="$f_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", f / n }') of nginx), CPU $(med "${F_CPU[@]}") us/request, peak RSS $((floor_hwm / 1024)) MiB"
fi
echo "fixed $RATE req/s, direct to upstream: p50 ${d50}us p99 ${d99}us"
echo "  through the gateway: p50 ${fg50}us p99 ${fg99}us; added p50 $(awk -v a="$fg50" -v b="$d50" 'BEGIN { print a - b }')us p99 $(awk -v a="$fg99" -v b="$d99" 'BEGIN { print a - b }')us"
echo "  through nginx:       p50 ${fn50}us p99 ${fn99}us; added p50 $(awk -v a="$fn50" -v b="$d50" 'BEGIN { print a - b }')us p99 $(awk -v a="$fn99" -v b="$d99" 'BEGIN { print a - b }')us"
if [[ $PEER == on ]]; then
  gp_rps=$(med "${GP_RPS[@]}") p_rps=$(med "${P_RPS[@]}")
  echo
  echo "== the peer's body, $(wc -c <"$PEER_BODY") B (medians of $ROUNDS rounds, alternating with the rounds above)"
  printf '%-30s %12s %12s %8s\n' "" gateway "nginx+Lua" ratio
  printf '%-30s %12s %12s %8s\n' "requests/s ($CONNECTIONS conns)" "$gp_rps" "$p_rps" "$(awk -v g="$gp_rps" -v n="$p_rps" 'BEGIN { printf "%.2f", g / n }')"
  printf '%-30s %12s %12s\n' "CPU per request (us)" "$(med "${GP_CPU[@]}")" "$(med "${P_CPU[@]}")"
  printf '%-30s %12s %12s\n' "p50 / p99 latency (us)" "$(med "${GP_P50[@]}") / $(med "${GP_P99[@]}")" "$(med "${P_P50[@]}") / $(med "${P_P99[@]}")"
fi
