#!/usr/bin/env bash
# bench/config-server/compat.sh — Spring conformance, side by side: our config-server and a
# stock Spring Cloud Config Server 5.0.6 (native backend, bench/config-server/peer) serve
# the same repositories, and compat.py compares their answers case by case (one line each),
# including encryption interop and a real Spring Boot 4 client (boot-client/) started from
# each server with each of the project's profiles. Exits 1 on any difference that is not
# documented in config-server/README.md. The ctest `config_server_spring` runs it.
#
# Two pairs of servers, each JVM started once (both in parallel):
#   A  the test fixture (config-server/tests/fixtures/repo, its legacy `spring.profiles`
#      document rewritten for Boot 4, plus fixtures/spring): Spring with
#      encrypt.key=s3cr3t-k3y; ours with the same key (file), --accept-empty (Spring's
#      default) and Basic credentials (our /encrypt needs them).
#   B  a copy of the project's config-repo/: no key; Spring with accept-empty=false, ours
#      as is.
#   K  RSA keys (compat_keys.py): both with the key store config-server/tests/fixtures/cipher/keys.p12
#      (Spring's encrypt.key-store.*, ours --encrypt-key-store), on a folder the cases write to.
# Git mode (GIT=1, the default; compat_git.py): both servers' git backends on one git
# repository built from A's repository by gitfixture.sh (branches main, v2, release/1.0,
# multidoc; tags v1.0, light; two commits on main), key and credentials as in A:
#   G  file://<the work repository> (Spring needs a non-bare one for file://; note that Spring
#      checks labels out in that very work tree);
#   H  git://127.0.0.1:<port>/cfg.git, a bare copy served by `git daemon` (push enabled):
#      labels, then pushes to it (a commit, a force-push, a new branch, a moved tag, a deleted
#      branch), Spring fetching on every request, ours after POST /monitor.
#   N  search paths on the folder backend (compat_search.py): Spring native's search-locations
#      (root, {application}, teams/a, teams/b) and ours' --search-paths on the same folder
#   M  several repositories (compat_multi.py): a default file:// repository with search-paths
#      svc/{application},shared*, repos.team (pattern team-*,shared/prod, its own search-paths)
#      and repos.apps (file://…/apps/{application}: one repository per application), with two
#      overrides; Spring's spring.cloud.config.server.git.* arguments against our --repo-uri,
#      --git-repos-file (the same keys as a Spring application.yml), --search-paths, --override.
# The peers are built once from Maven Central into .peer/ (peer.sh); a cold machine needs
# mvn + JDK 17 (scripts/setup.sh) and network to Maven Central.
#
# Env: BIN (our binary; default <root>/build/bin/config-server), PORT_BASE (27430 + CQ_TEST_PORT_OFFSET: fifteen
#      consecutive ports), KEEP=1 keeps the temp dir, GIT=0 skips the git mode (and pair M), ONLY=multi runs
#      pair M alone (several repositories: compat_multi.py), ONLY=git runs
#      the git mode alone (pairs G and H).
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${BIN:-$ROOT/build/bin/config-server}
PORT_BASE=${PORT_BASE:-$((27430 + ${CQ_TEST_PORT_OFFSET:-0}))}
OURS_A=$PORT_BASE SPRING_A=$((PORT_BASE + 1)) OURS_B=$((PORT_BASE + 2)) SPRING_B=$((PORT_BASE + 3))
OURS_G=$((PORT_BASE + 4)) SPRING_G=$((PORT_BASE + 5)) OURS_H=$((PORT_BASE + 6)) SPRING_H=$((PORT_BASE + 7))
GITD=$((PORT_BASE + 8)) OURS_K=$((PORT_BASE + 9)) SPRING_K=$((PORT_BASE + 10))
OURS_M=$((PORT_BASE + 11)) SPRING_M=$((PORT_BASE + 12)) OURS_N=$((PORT_BASE + 13)) SPRING_N=$((PORT_BASE + 14))
GIT=${GIT:-1} ONLY=${ONLY:-}
[[ "$ONLY" != git ]] || GIT=1
MULTI=$GIT
[[ "$ONLY" != multi ]] || { MULTI=1 GIT=0; }
[[ -x "$BIN" ]] || { echo "compat.sh: set BIN to the config-server binary ($BIN is not one)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "compat.sh: python3 is required" >&2; exit 2; }
[[ $GIT == 0 ]] || command -v git >/dev/null || { echo "compat.sh: git is required (GIT=0 skips the git mode)" >&2; exit 2; }
. "$HERE/peer.sh"
. "$HERE/gitfixture.sh"
T0=$(date +%s)
peer_build peer >/dev/null
CLIENT_JAR=$(peer_build boot-client)
T_BUILD=$(( $(date +%s) - T0 ))

TMP=$(mktemp -d /tmp/cs-compat-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do peer_stop "$p"; done
    if [[ "${KEEP:-0}" == 1 ]]; then echo "compat.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# --- the repositories ------------------------------------------------------------------
cp -r "$ROOT/config-server/tests/fixtures/repo" "$TMP/a"
(cd "$ROOT/config-server/tests/fixtures/spring" && find . -type f ! -name README.md -exec cp --parents {} "$TMP/a/" \;)
python3 - "$TMP/a/billing-dev.yml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("spring:\n  profiles: dev\n", "spring:\n  config:\n    activate:\n      on-profile: dev\n")
open(p, "w").write(s)
PY
cp -r "$ROOT/config-repo" "$TMP/b"
rm -f "$TMP/b/README.md"
if [[ $GIT == 1 ]]; then
    gitfx_build "$TMP/a" "$TMP/gwork"
    mkdir -p "$TMP/gsrv"
    gitfx_bare "$TMP/gwork" "$TMP/gsrv/cfg.git"
    # shellcheck disable=SC1091 # written by gitfx_build
    . "$TMP/gwork/.gitfx"
fi
printf 's3cr3t-k3y\n' >"$TMP/encrypt.key"
printf 'cfg:s3cret\n' >"$TMP/cred"

# --- the servers -----------------------------------------------------------------------
for p in "$OURS_A" "$SPRING_A" "$OURS_B" "$SPRING_B" "$OURS_G" "$SPRING_G" "$OURS_H" "$SPRING_H" "$GITD" "$OURS_K" \
    "$SPRING_K" "$OURS_M" "$SPRING_M" "$OURS_N" "$SPRING_N"; do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
        echo "compat.sh: port $p is in use; set PORT_BASE" >&2
        exit 2
    fi
done
unset ENCRYPT_KEY ENCRYPT_SALT CONFIG_SERVER_ENCRYPT_KEY_FILE CONFIG_SERVER_ACCEPT_EMPTY ENCRYPT_KEY_STORE_PASSWORD \
    ENCRYPT_KEY_STORE_SECRET ENCRYPT_KEY_STORE_ALIAS ENCRYPT_RSA_ALGORITHM ENCRYPT_RSA_SALT ENCRYPT_RSA_STRONG
T1=$(date +%s)
OURS=()
if [[ $GIT == 1 ]]; then
    gitfx_daemon "$TMP/gsrv" "$GITD" "$TMP/git-daemon.log"
    PIDS+=("$GITFX_DAEMON_PID")
    gitfx_daemon_wait "$GITD"
    GURI=file://$TMP/gwork HURI=git://127.0.0.1:$GITD/cfg.git
    GITARGS=(--spring.profiles.active=git --spring.cloud.config.server.git.clone-on-start=true
        --spring.cloud.config.server.git.force-pull=true --spring.cloud.config.server.git.default-label=main
        --encrypt.key=s3cr3t-k3y --logging.level.root=WARN)
    peer_start "$SPRING_G" "$TMP/spring-g.log" "${GITARGS[@]}" --spring.cloud.config.server.git.uri="$GURI" \
        --spring.cloud.config.server.git.basedir="$TMP/spring-g-base"
    PIDS+=("$PEER_PID")
    PID_SG=$PEER_PID
    peer_start "$SPRING_H" "$TMP/spring-h.log" "${GITARGS[@]}" --spring.cloud.config.server.git.uri="$HURI" \
        --spring.cloud.config.server.git.basedir="$TMP/spring-h-base"
    PIDS+=("$PEER_PID")
    PID_SH=$PEER_PID
    OURGIT=(--default-label main --host 127.0.0.1 --log-level warn --accept-empty --encrypt-key-file "$TMP/encrypt.key"
        --credentials-file "$TMP/cred")
    "$BIN" --repo-uri "$GURI" --git-basedir "$TMP/ours-g-base" --port "$OURS_G" "${OURGIT[@]}" 2>"$TMP/ours-g.log" &
    PIDS+=($!)
    PID_OG=$!
    OURS+=("$PID_OG")
    "$BIN" --repo-uri "$HURI" --git-basedir "$TMP/ours-h-base" --port "$OURS_H" "${OURGIT[@]}" 2>"$TMP/ours-h.log" &
    PIDS+=($!)
    PID_OH=$!
    OURS+=("$PID_OH")
    git clone -q "$HURI" "$TMP/gpush"
fi
if [[ $MULTI == 1 ]]; then
    # pair M: several repositories (compat_multi.py): a default one, a team one, one per application
    m_repo() { # DIR PATH=CONTENT… : a work repository with those files, one commit
        local d=$1 kv
        shift
        mkdir -p "$d"
        gitfx_git init -q "$d"
        for kv in "$@"; do
            mkdir -p "$(dirname "$d/${kv%%=*}")"
            printf '%b' "${kv#*=}" >"$d/${kv%%=*}"
        done
        (cd "$d" && gitfx_git add -A && gitfx_git commit -qm m)
    }
    M=$TMP/m
    m_repo "$M/def" 'application.yml=who: def\nlevel: 0\n' 'other.yml=o: def\nref: ${who}-${cq.mode}\n' \
        'svc/svc-a/svc-a.yml=folder: svc-a\n' 'svc/svc-a/svc-a-dev.yml=folder: svc-a-dev\n' \
        'shared-x/application.yml=sx: 1\n' 'shared.yml=s: def\n' 'nginx.conf=server ${who} ${o:none};\n'
    m_repo "$M/team" 'application.yml=who: team\n' 'team-x.yml=t: root\n' 'team-x-dev.yml=t: root-dev\n' \
        'team-x/team-x.yml=t: folder\nx: 1\n' 'team-x/application-dev.yml=td: 1\n' 'common/application.yml=common: 1\n' \
        'shared.yml=s: team\n' 'shared-prod.yml=sp: 1\n' 'nginx.conf=team ${who} ${t:none};\n' \
        'nginx-dev.conf=team-dev ${t};\n'
    m_repo "$M/apps/alpha-app" 'application.yml=who: alpha\n' 'alpha-app-dev.yml=d: 1\n' 'nginx.conf=alpha ${who};\n'
    m_repo "$M/apps/beta-app" 'application.yml=who: beta\nlist: [1, 2]\n'
    printf '%s\n' 'spring.cloud.config.server.git.repos:' '  team:' '    pattern: team-*,shared/prod' \
        "    uri: file://$M/team" '    search-paths: "{application},common"' '  apps:' '    pattern: "*-app"' \
        "    uri: \"file://$M/apps/{application}\"" >"$M/repos.yml"
    peer_start "$SPRING_M" "$TMP/spring-m.log" --spring.profiles.active=git \
        --spring.cloud.config.server.git.uri="file://$M/def" --spring.cloud.config.server.git.default-label=main \
        --spring.cloud.config.server.git.search-paths='svc/{application},shared*' \
        --spring.cloud.config.server.git.repos.team.pattern='team-*,shared/prod' \
        --spring.cloud.config.server.git.repos.team.uri="file://$M/team" \
        --spring.cloud.config.server.git.repos.team.search-paths='{application},common' \
        --spring.cloud.config.server.git.repos.apps.pattern='*-app' \
        --spring.cloud.config.server.git.repos.apps.uri="file://$M/apps/{application}" \
        --spring.cloud.config.server.overrides.cq.mode=strict --spring.cloud.config.server.overrides.who=override \
        --logging.level.root=WARN
    PIDS+=("$PEER_PID")
    PID_SM=$PEER_PID
    "$BIN" --repo-uri "file://$M/def" --git-repos-file "$M/repos.yml" --search-paths 'svc/{application},shared*' \
        --default-label main --override cq.mode=strict --override who=override --accept-empty --host 127.0.0.1 \
        --port "$OURS_M" --log-level warn --git-basedir "$TMP/ours-m-base" 2>"$TMP/ours-m.log" &
    PIDS+=($!)
    PID_OM=$!
    OURS+=("$PID_OM")
    export CS_M="http://127.0.0.1:$OURS_M http://127.0.0.1:$SPRING_M"
fi
if [[ "$ONLY" != git && "$ONLY" != multi ]]; then
# shellcheck disable=SC2046 # peer_native_args prints separate words
peer_start "$SPRING_A" "$TMP/spring-a.log" $(peer_native_args "$TMP/a") --encrypt.key=s3cr3t-k3y \
    --logging.level.root=WARN
PIDS+=("$PEER_PID")
PID_SA=$PEER_PID
# shellcheck disable=SC2046
peer_start "$SPRING_B" "$TMP/spring-b.log" $(peer_native_args "$TMP/b") \
    --spring.cloud.config.server.accept-empty=false --logging.level.root=WARN
PIDS+=("$PEER_PID")
PID_SB=$PEER_PID
KEYS=$ROOT/config-server/tests/fixtures/cipher/keys.p12
mkdir -p "$TMP/k"
printf 'a: 1\n' >"$TMP/k/application.yml"
# shellcheck disable=SC2046
peer_start "$SPRING_K" "$TMP/spring-k.log" $(peer_native_args "$TMP/k") --encrypt.key-store.location="file:$KEYS" \
    --encrypt.key-store.password=letmein --encrypt.key-store.alias=mytestkey --logging.level.root=WARN
PIDS+=("$PEER_PID")
PID_SK=$PEER_PID
ENCRYPT_KEY_STORE_PASSWORD=letmein "$BIN" --repo "$TMP/k" --port "$OURS_K" --host 127.0.0.1 --log-level warn \
    --accept-empty --encrypt-key-store "$KEYS" --encrypt-key-alias mytestkey --credentials-file "$TMP/cred" \
    2>"$TMP/ours-k.log" &
PIDS+=($!)
PID_OK=$!
OURS+=("$PID_OK")
export CS_K="http://127.0.0.1:$OURS_K http://127.0.0.1:$SPRING_K" CS_K_REPO="$TMP/k"
# pair N: search paths on the folder backend (compat_search.py) — Spring native's search-locations
# (the root, {application}, two team folders) against ours' --search-paths over the same folder
N=$TMP/n
for kv in 'application.yml=who: root\nroot-only: r\n' 'billing.yml=who: root-billing\nb: root\n' \
    'billing-dev.yml=who: root-billing-dev\n' 'billing/billing.yml=who: billing-folder\nbf: 1\n' \
    'billing/application.yml=who: billing-folder-app\nshared: from-billing-folder\n' \
    'billing/billing-dev.yml=who: billing-folder-dev\n' 'teams/a/application.yml=who: team-a\nta: 1\n' \
    'teams/b/billing.yml=who: team-b-billing\ntb: 1\n' 'teams/b/application-dev.yml=who: team-b-dev\n' \
    'v2/application.yml=who: v2-root\n' 'orders/orders.yml=who: orders-folder\nref: ${who}-${ta}\n'; do
    mkdir -p "$(dirname "$N/${kv%%=*}")"
    printf '%b' "${kv#*=}" >"$N/${kv%%=*}"
done
peer_start "$SPRING_N" "$TMP/spring-n.log" --spring.profiles.active=native \
    --spring.cloud.config.server.native.search-locations="file:$N/,file:$N/{application}/,file:$N/teams/a/,file:$N/teams/b/" \
    --logging.level.root=WARN
PIDS+=("$PEER_PID")
PID_SN=$PEER_PID
"$BIN" --repo "$N" --search-paths '{application},teams/a,teams/b' --port "$OURS_N" --host 127.0.0.1 --log-level warn \
    --accept-empty 2>"$TMP/ours-n.log" &
PIDS+=($!)
PID_ON=$!
OURS+=("$PID_ON")
export CS_N="http://127.0.0.1:$OURS_N http://127.0.0.1:$SPRING_N"
"$BIN" --repo "$TMP/a" --port "$OURS_A" --host 127.0.0.1 --log-level warn --accept-empty \
    --encrypt-key-file "$TMP/encrypt.key" --credentials-file "$TMP/cred" 2>"$TMP/ours-a.log" &
PIDS+=($!)
PID_OA=$!
"$BIN" --repo "$TMP/b" --port "$OURS_B" --host 127.0.0.1 --log-level warn --credentials-file "$TMP/cred" \
    2>"$TMP/ours-b.log" &
PIDS+=($!)
PID_OB=$!
OURS+=("$PID_OA" "$PID_OB")
peer_wait "$OURS_A" "$PID_OA" /actuator/health 30
peer_wait "$OURS_B" "$PID_OB" /actuator/health 30
peer_wait "$SPRING_A" "$PID_SA" /actuator/health 240 || { tail -40 "$TMP/spring-a.log" >&2; exit 1; }
peer_wait "$SPRING_B" "$PID_SB" /actuator/health 240 || { tail -40 "$TMP/spring-b.log" >&2; exit 1; }
peer_wait "$OURS_K" "$PID_OK" /actuator/health 30 || { tail -20 "$TMP/ours-k.log" >&2; exit 1; }
peer_wait "$SPRING_K" "$PID_SK" /actuator/health 240 || { tail -40 "$TMP/spring-k.log" >&2; exit 1; }
peer_wait "$OURS_N" "$PID_ON" /actuator/health 30 || { tail -20 "$TMP/ours-n.log" >&2; exit 1; }
peer_wait "$SPRING_N" "$PID_SN" /actuator/health 240 || { tail -40 "$TMP/spring-n.log" >&2; exit 1; }
fi
if [[ $GIT == 1 ]]; then
    peer_wait "$OURS_G" "$PID_OG" /actuator/health 30 || { tail -20 "$TMP/ours-g.log" >&2; exit 1; }
    peer_wait "$OURS_H" "$PID_OH" /actuator/health 30 || { tail -20 "$TMP/ours-h.log" >&2; exit 1; }
    peer_wait "$SPRING_G" "$PID_SG" /actuator/health 240 || { tail -40 "$TMP/spring-g.log" >&2; exit 1; }
    peer_wait "$SPRING_H" "$PID_SH" /actuator/health 240 || { tail -40 "$TMP/spring-h.log" >&2; exit 1; }
fi
if [[ $MULTI == 1 ]]; then
    peer_wait "$OURS_M" "$PID_OM" /actuator/health 30 || { tail -20 "$TMP/ours-m.log" >&2; exit 1; }
    peer_wait "$SPRING_M" "$PID_SM" /actuator/health 240 || { tail -40 "$TMP/spring-m.log" >&2; exit 1; }
fi
T_START=$(( $(date +%s) - T1 ))
echo "peer: $(peer_version); servers up in ${T_START}s (builds ${T_BUILD}s)"

rc=0
GARGS=()
if [[ $GIT == 1 ]]; then
    GARGS=("http://127.0.0.1:$OURS_G" "http://127.0.0.1:$SPRING_G" "http://127.0.0.1:$OURS_H" "http://127.0.0.1:$SPRING_H")
    export GITFX_C1 GITFX_C2 CS_H_BASEDIRS="$TMP/ours-h-base:$TMP/spring-h-base" CS_H_PUSH_DIR="$TMP/gpush"
fi
T2=$(date +%s)
CS_ONLY=$ONLY CS_LOG="$TMP/boot-client.log" PYTHONDONTWRITEBYTECODE=1 python3 "$HERE/compat.py" \
    "http://127.0.0.1:$OURS_A" "http://127.0.0.1:$SPRING_A" "http://127.0.0.1:$OURS_B" "http://127.0.0.1:$SPRING_B" \
    "$CLIENT_JAR" ${GARGS[@]+"${GARGS[@]}"} || rc=$?
echo "compat.sh: cases in $(( $(date +%s) - T2 ))s"
# ours must stop cleanly (exit 0 on SIGTERM) with nothing from the sanitizers in its log
for p in "${OURS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    st=0
    wait "$p" || st=$?
    [[ $st == 0 ]] || { echo "DIFF   our server $p exited $st after SIGTERM" >&2; rc=1; }
done
if grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP"/ours-*.log >&2; then
    echo "DIFF   sanitizer reports in our server's log (above)" >&2
    rc=1
fi
echo "compat.sh: $(( $(date +%s) - T0 ))s in all"
exit $rc
