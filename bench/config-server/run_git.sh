# bench/config-server/run_git.sh — the git section of run.sh (sourced by it: uses its helpers
# run_wrk, rss_kb, wait_first, now_ms, its pinning arrays SRV_PIN/WRK_PIN and its table R).
#
# Both servers' git backends serve one bare repository (gitfixture.sh gitfx_bench: REPO plus
# a ~290 KiB bench-large.yml, tag bench-1.0, two commits on main, LRU_N commits on branch lru)
# over git:// from `git daemon` (pinned with the servers: a fetch is server-side work), each
# with its default settings unless said otherwise:
#   ours    --git-refresh-s 30 (default), --git-cache 16 (default)
#   spring  refresh-rate 0 (default: a fetch on every request), clone-on-start, force-pull
# and measures: start to first response; wrk at three labels (main = the default label, the
# tag bench-1.0, the full commit id of commit 1): req/s, p50, p99; RSS after the load;
# push-to-served (pushlat.py: from `git push` to the first answer with the new version):
# ours with POST /monitor right after the push, ours by its refresh interval alone (one
# sample, bounded by --git-refresh-s), Spring by its default fetch-per-request; LRU: after
# LRU_N distinct commit ids were requested, RSS and health's snapshots (cached, sourceBytes)
# for ours with --git-cache 16 and --git-cache 64 (all kept), Spring's RSS.
# SPRING_RR30=1 (default) also measures Spring with refresh-rate=30 (ours' interval) at main.
# Spring gets SPRING_GIT_WARMUP (15s) of extra warm-up at main before its first figure.

git_section() {
    local tmp=$1 uri lab url
    local gport=${GIT_PORT:-27419}
    gitfx_bench "$REPO" "$tmp/gwork" "$LRU_N"
    # shellcheck disable=SC1091 # written by gitfx_bench
    . "$tmp/gwork/.gitfx"
    mkdir -p "$tmp/gsrv"
    gitfx_bare "$tmp/gwork" "$tmp/gsrv/cfg.git"
    GITFX_WRAP=("${SRV_PIN[@]}")
    gitfx_daemon "$tmp/gsrv" "$gport" "$tmp/git-daemon.log"
    PIDS+=("$GITFX_DAEMON_PID")
    gitfx_daemon_wait "$gport"
    uri=git://127.0.0.1:$gport/cfg.git
    declare -gA GL=([main]="" [tag]="/bench-1.0" [commit]="/$GITFX_C1")
    echo "git: $uri (bare, git daemon); labels main, bench-1.0, ${GITFX_C1:0:12}…; LRU over $LRU_N commit ids" >&2

    # --- ours: defaults ------------------------------------------------------------------
    START=$(now_ms)
    "${SRV_PIN[@]}" "$BIN" --repo-uri "$uri" --git-basedir "$tmp/ours-base" --default-label main \
        --port "$OUR_PORT" --host 127.0.0.1 --threads "$THREADS" --log-level warn &
    local pid=$!
    PIDS+=("$pid")
    R[gours.start]=$(wait_first "http://127.0.0.1:$OUR_PORT/$APP/$PROFILE" "$pid")
    git_bench gours "http://127.0.0.1:$OUR_PORT" "$pid"
    git clone -q "$uri" "$tmp/push-ours"
    R[gours.push.monitor]=$(python3 "$HERE/pushlat.py" "http://127.0.0.1:$OUR_PORT" "/$APP/$PROFILE" "$tmp/push-ours" \
        --samples "$PUSH_N" --monitor || true)
    R[gours.push.refresh]=$(python3 "$HERE/pushlat.py" "http://127.0.0.1:$OUR_PORT" "/$APP/$PROFILE" "$tmp/push-ours" \
        --samples 1 --timeout 45 || true)
    git_lru gours16 "http://127.0.0.1:$OUR_PORT" "$pid"
    kill -TERM "$pid"
    wait "$pid" || true

    # --- ours: --git-cache 64 (every commit of the LRU pass kept) ----------------------------
    "${SRV_PIN[@]}" "$BIN" --repo-uri "$uri" --git-basedir "$tmp/ours-base64" --default-label main --git-cache 64 \
        --port "$OUR_PORT" --host 127.0.0.1 --threads "$THREADS" --log-level warn &
    pid=$!
    PIDS+=("$pid")
    START=$(now_ms)
    wait_first "http://127.0.0.1:$OUR_PORT/$APP/$PROFILE" "$pid" >/dev/null
    R[gours64.rss0]=$(rss_kb "$pid")
    git_lru gours64 "http://127.0.0.1:$OUR_PORT" "$pid"
    kill -TERM "$pid"
    wait "$pid" || true

    # --- Spring: defaults (refresh-rate 0) -------------------------------------------------
    local sargs=(--spring.profiles.active=git --spring.cloud.config.server.git.uri="$uri"
        --spring.cloud.config.server.git.clone-on-start=true --spring.cloud.config.server.git.force-pull=true
        --spring.cloud.config.server.git.default-label=main --logging.level.root=WARN)
    START=$(now_ms)
    PEER_WRAP=("${SRV_PIN[@]}")
    peer_start "$PEER_PORT" "$tmp/spring-git.log" "${sargs[@]}" --spring.cloud.config.server.git.basedir="$tmp/spring-base"
    PIDS+=("$PEER_PID")
    R[gspring.start]=$(wait_first "http://127.0.0.1:$PEER_PORT/$APP/$PROFILE" "$PEER_PID")
    git_bench gspring "http://127.0.0.1:$PEER_PORT" "$PEER_PID"
    git clone -q "$uri" "$tmp/push-spring"
    R[gspring.push.default]=$(python3 "$HERE/pushlat.py" "http://127.0.0.1:$PEER_PORT" "/$APP/$PROFILE" \
        "$tmp/push-spring" --samples "$PUSH_N" || true)
    git_lru gspring "http://127.0.0.1:$PEER_PORT" "$PEER_PID"
    peer_stop "$PEER_PID"
    if grep -q spring-cloud-config-monitor "$HERE/peer/pom.xml"; then
        R[gspring.monitor]="(peer has the monitor: not measured yet)"
    else
        R[gspring.monitor]="n/a: the peer (peer/pom.xml) has no spring-cloud-config-monitor"
    fi

    # --- Spring: refresh-rate=30 (as ours fetches), the default label only ------------------
    if [[ "${SPRING_RR30:-1}" == 1 ]]; then
        START=$(now_ms)
        peer_start "$PEER_PORT" "$tmp/spring-git30.log" "${sargs[@]}" \
            --spring.cloud.config.server.git.basedir="$tmp/spring-base30" --spring.cloud.config.server.git.refresh-rate=30
        PIDS+=("$PEER_PID")
        wait_first "http://127.0.0.1:$PEER_PORT/$APP/$PROFILE" "$PEER_PID" >/dev/null
        url="http://127.0.0.1:$PEER_PORT/$APP/$PROFILE"
        "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c50 -d"${SPRING_GIT_WARMUP:-15s}" --timeout 10s "$url" >/dev/null
        WRK_TAG=gspring30.main
        read -r R[gspring30.main.rps] R[gspring30.main.p50] R[gspring30.main.p99] R[gspring30.main.err] < <(run_wrk "$url")
        WRK_TAG=""
        R[gspring30.rss]=$(rss_kb "$PEER_PID")
        peer_stop "$PEER_PID"
    fi
    PEER_WRAP=()
    kill -TERM "$GITFX_DAEMON_PID" 2>/dev/null || true
    wait "$GITFX_DAEMON_PID" 2>/dev/null || true
}

# git_bench NAME BASE PID → R[NAME.<label>.{rps,p50,p99,err}] at 50 connections, R[NAME.c1.*] at
# main with one connection (a client alone: Spring's fetch-per-request latency without a queue),
# R[NAME.rss]
git_bench() {
    local name=$1 base=$2 pid=$3 lab url
    # the JVM's JIT needs longer than WARMUP at a few requests a second (Spring fetches on each):
    # without this Spring's first label, main, is measured half-cold
    if [[ $name == gspring* ]]; then
        "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c50 -d"${SPRING_GIT_WARMUP:-15s}" --timeout 10s "$base/$APP/$PROFILE" >/dev/null
    fi
    for lab in main tag commit; do
        url="$base/$APP/$PROFILE${GL[$lab]}"
        curl -fsS -o /dev/null "$url"
        "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c50 -d"$WARMUP" --timeout 10s "$url" >/dev/null
        WRK_TAG=$name.$lab
        read -r R[$name.$lab.rps] R[$name.$lab.p50] R[$name.$lab.p99] R[$name.$lab.err] < <(run_wrk "$url")
    done
    url="$base/$APP/$PROFILE"
    WRK_TAG=$name.c1 WRK_CONNS=1
    read -r R[$name.c1.rps] R[$name.c1.p50] R[$name.c1.p99] R[$name.c1.err] < <(run_wrk "$url")
    WRK_TAG="" WRK_CONNS=50
    R[$name.rss]=$(rss_kb "$pid")
}

# git_lru NAME BASE PID → requests /APP/PROFILE/<id> for each LRU commit, then
# R[NAME.lru.rss] and (ours) R[NAME.lru.snap] = "cached/max sourceBytes built"
git_lru() {
    local name=$1 base=$2 pid=$3 id
    for id in $GITFX_LRU; do
        curl -fsS -o /dev/null "$base/$APP/$PROFILE/$id" || echo "run.sh: $name: no 200 for commit $id" >&2
    done
    R[$name.lru.rss]=$(rss_kb "$pid")
    curl -fsS -o "$TMP/health-$name.json" "$base/actuator/health" 2>/dev/null || true
    R[$name.lru.snap]=$(python3 - "$TMP/health-$name.json" 2>/dev/null <<'PY' || echo "n/a"
import json, sys
def find(o):
    if isinstance(o, dict):
        if isinstance(o.get("snapshots"), dict):
            return o["snapshots"]
        for v in o.values():
            r = find(v)
            if r:
                return r
    return None
s = find(json.load(open(sys.argv[1]))) or {}
print("%s/%s %s %s" % (s.get("cached", "?"), s.get("max", "?"), s.get("sourceBytes", "?"), s.get("built", "?")))
PY
)
}

# push_field LINE KEY → the value of KEY=… in a pushlat.py line
push_field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }

git_table() {
    mib() { awk -v k="$1" 'BEGIN{ if (k == "" ) print "n/a"; else printf "%.1f", k/1024}'; }
    grow() { printf '%-40s %13s %13s %9s  %s\n' "$1" "$2" "$3" "$4" "$5"; }
    printf '\ngit backends (%s, both with their defaults; Spring: fetch on every request)\n' "${GITFX_C1:0:7}…"
    grow "metric" "ours" "spring" "ratio" "goal"
    grow "----------------------------------------" "-------------" "-------------" "---------" "----"
    local lab rps_goal p99_ok
    for lab in main tag commit; do
        rps_goal=$(awk -v a="${R[gours.$lab.rps]}" -v b="${R[gspring.$lab.rps]}" -v p="${R[gours.$lab.p99]}" \
            'BEGIN { r = (b + 0 > 0) ? a / b : 0; printf "%s (>=100x at p99<=2ms)", (r >= 100 && p + 0 <= 2) ? "met" : "NOT met" }')
        grow "/$APP/$PROFILE @$lab req/s" "${R[gours.$lab.rps]}" "${R[gspring.$lab.rps]}" \
            "$(ratio "${R[gours.$lab.rps]}" "${R[gspring.$lab.rps]}")" "$rps_goal"
        p99_ok=$(awk -v p="${R[gours.$lab.p99]}" 'BEGIN { print (p + 0 <= 2) ? "met (<=2ms)" : "NOT met (<=2ms)" }')
        grow "/$APP/$PROFILE @$lab p50 ms" "${R[gours.$lab.p50]}" "${R[gspring.$lab.p50]}" \
            "$(ratio "${R[gspring.$lab.p50]}" "${R[gours.$lab.p50]}")" ""
        grow "/$APP/$PROFILE @$lab p99 ms" "${R[gours.$lab.p99]}" "${R[gspring.$lab.p99]}" \
            "$(ratio "${R[gspring.$lab.p99]}" "${R[gours.$lab.p99]}")" "$p99_ok"
        grow "/$APP/$PROFILE @$lab errors" "${R[gours.$lab.err]}" "${R[gspring.$lab.err]}" "" "(non-2xx + socket errors)"
    done
    grow "@main, 1 connection: req/s" "${R[gours.c1.rps]}" "${R[gspring.c1.rps]}" "$(ratio "${R[gours.c1.rps]}" "${R[gspring.c1.rps]}")" ""
    grow "@main, 1 connection: p99 ms" "${R[gours.c1.p99]}" "${R[gspring.c1.p99]}" "$(ratio "${R[gspring.c1.p99]}" "${R[gours.c1.p99]}")" ""
    grow "RSS after load (MiB)" "$(mib "${R[gours.rss]}")" "$(mib "${R[gspring.rss]}")" "$(ratio "${R[gspring.rss]}" "${R[gours.rss]}")" ""
    grow "start to first response (ms)" "${R[gours.start]}" "${R[gspring.start]}" "$(ratio "${R[gspring.start]}" "${R[gours.start]}")" ""
    local om sd
    om=${R[gours.push.monitor]:-} sd=${R[gspring.push.default]:-}
    grow "push-to-served median ms" "$(push_field "$om" median_ms)" "$(push_field "$sd" median_ms)" "" \
        "$(awk -v m="$(push_field "$om" max_ms)" 'BEGIN { print (m != "" && m + 0 <= 500) ? "met (<=500ms, max)" : "NOT met (<=500ms, max)" }')"
    grow "push-to-served max ms" "$(push_field "$om" max_ms)" "$(push_field "$sd" max_ms)" "" \
        "ours: POST /monitor after the push; spring: its default"
    grow "  (git push itself, median ms)" "$(push_field "$om" push_ms)" "$(push_field "$sd" push_ms)" "" ""
    grow "  after the push returned, median ms" "$(push_field "$om" after_push_median_ms)" "$(push_field "$sd" after_push_median_ms)" "" ""
    grow "  after the push returned, max ms" "$(push_field "$om" after_push_max_ms)" "$(push_field "$sd" after_push_max_ms)" "" ""
    grow "push-to-served, no webhook (ms)" "$(push_field "${R[gours.push.refresh]:-}" max_ms)" "$(push_field "$sd" max_ms)" "" \
        "ours: one sample, by --git-refresh-s 30 alone"
    grow "push-to-served via /monitor" "see above" "n/a" "" "${R[gspring.monitor]}"
    grow "LRU: RSS after $LRU_N ids (MiB)" "$(mib "${R[gours16.lru.rss]}")" "$(mib "${R[gspring.lru.rss]}")" "" "ours --git-cache 16"
    grow "  ours --git-cache 64 (MiB)" "$(mib "${R[gours64.lru.rss]}")" "" "" "(before: $(mib "${R[gours64.rss0]}") MiB)"
    grow "  snapshots cached/max, bytes, built" "${R[gours16.lru.snap]}" "" "" "--git-cache 16"
    grow "  snapshots with --git-cache 64" "${R[gours64.lru.snap]}" "" "" ""
    if [[ -n "${R[gspring30.main.rps]:-}" ]]; then
        grow "spring refresh-rate=30 @main req/s" "${R[gours.main.rps]}" "${R[gspring30.main.rps]}" \
            "$(ratio "${R[gours.main.rps]}" "${R[gspring30.main.rps]}")" "(not Spring's default)"
        grow "spring refresh-rate=30 @main p99 ms" "${R[gours.main.p99]}" "${R[gspring30.main.p99]}" \
            "$(ratio "${R[gspring30.main.p99]}" "${R[gours.main.p99]}")" ""
        grow "spring refresh-rate=30 RSS (MiB)" "$(mib "${R[gours.rss]}")" "$(mib "${R[gspring30.rss]}")" "" ""
    fi
    echo "(a req/s of 0.00 means no request completed within the ${DURATION} window; wrk output: $WRK_LOG)"
    echo "push samples: ours+monitor ${R[gours.push.monitor]:-n/a}; ours by refresh ${R[gours.push.refresh]:-n/a}; spring ${R[gspring.push.default]:-n/a}"
}
