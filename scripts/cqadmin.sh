#!/usr/bin/env bash
# cqadmin.sh — the operations API of order-service and customer-service from a shell: replay
# the projection from a point, pause/resume it, its status; list and redrive dead letters; the live reconciliation; backfill
# (re-publish) customers; the write side's checksum. Each
# command is one curl request to the admin endpoints documented in order-service/README.md and
# customer-service/README.md ("Operations"); the answer (JSON) is printed, and the exit status
# is 0 for a 2xx answer, 1 otherwise. Run with --help for the commands.
set -euo pipefail

ORDER_URL=${ORDER_URL:-http://127.0.0.1:8181}
CUSTOMER_URL=${CUSTOMER_URL:-http://127.0.0.1:8184}

usage() {
    cat <<EOF
usage: scripts/cqadmin.sh [--order URL] [--customer URL] SERVICE COMMAND [OPTIONS]

The operations API from a shell (curl). Tokens come from the environment: ORDER_ADMIN_TOKEN
for order-service, CUSTOMER_ADMIN_TOKEN for customer-service (sent as Authorization: Bearer).

order status                          the projection: per partition the stored position, the
                                      watermarks, the lag, the leader; paused or not; moves
order pause | resume                  stop consuming between two batches / go on
order replay (--beginning | --offset N | --timestamp T) [--partition P]...
                                      move the stored position (all partitions unless named);
                                      T is ISO-8601 with a zone (2026-03-01T10:00:00Z) or epoch ms
order dlq [--partition P] [--offset O] [--limit N] [--reason R] [--key ID]
                                      list the dead-letter topic's records (reason, detail,
                                      source coordinates, what the value decodes to now)
order redrive (--all | --record PARTITION:OFFSET ... | [--reason R] [--key ID])
              [--partition P] [--from PARTITION:OFFSET]
                                      apply dead letters again through the projection (a key
                                      already at the same or a newer version is skipped; a record
                                      handled before is not applied twice); --partition/--from
                                      with --all or a filter (--from: a previous answer's next)
order reconciliation [--run]         what the live reconciliation's last round found (the ids
                                      that differ from the write side); --run: a round now
customer backfill (--all | --ids ID,ID,... | --since T)
                                      re-publish customers' current state through the outbox
customer backfill-status | backfill-cancel
customer checksum [--from ID] [--to ID] [--list]
                                      count and hash of (id, version, names) over an id range

options: --order URL (default \$ORDER_URL or $ORDER_URL), --customer URL (default
\$CUSTOMER_URL or $CUSTOMER_URL). Exit status: 0 on a 2xx answer, 1 on any other, 2 usage.
EOF
}

die() {
    echo "cqadmin: $*" >&2
    exit 2
}

# A JSON string literal of $1 (letters, digits and - _ : . + only: ids, times, reasons).
jstr() {
    [[ $1 =~ ^[A-Za-z0-9_.:+-]*$ ]] || die "not allowed in a value: '$1'"
    printf '"%s"' "$1"
}
num() {
    [[ $1 =~ ^[0-9]+$ ]] || die "not a number: '$1'"
    printf '%s' "$1"
}

# request METHOD URL [BODY] TOKEN_VAR
request() {
    local method=$1 url=$2 body=${3:-} tokvar=$4 out code
    local token=${!tokvar:-}
    [ -n "$token" ] || echo "cqadmin: warning: $tokvar is not set (the endpoint will answer 401/403)" >&2
    local args=(-sS -X "$method" -w '\n%{http_code}' -H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    out=$(curl "${args[@]}" "$url") || {
        echo "cqadmin: no answer from $url" >&2
        exit 1
    }
    code=${out##*$'\n'}
    printf '%s\n' "${out%$'\n'*}"
    [[ $code =~ ^2 ]] || {
        echo "cqadmin: HTTP $code" >&2
        exit 1
    }
}

while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --order) ORDER_URL=$2; shift 2 ;;
    --customer) CUSTOMER_URL=$2; shift 2 ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || { usage >&2; exit 2; }
svc=$1 cmd=$2
shift 2

case "$svc $cmd" in
"order status") request GET "$ORDER_URL/admin/projection" "" ORDER_ADMIN_TOKEN ;;
"order pause" | "order resume") request POST "$ORDER_URL/admin/projection/$cmd" "" ORDER_ADMIN_TOKEN ;;
"order replay")
    to="" parts=""
    while [ $# -gt 0 ]; do
        case $1 in
        --beginning) to='"to":"beginning"'; shift ;;
        --offset) to="\"to\":\"offset\",\"offset\":$(num "$2")"; shift 2 ;;
        --timestamp) to="\"to\":\"timestamp\",\"timestamp\":$(jstr "$2")"; shift 2 ;;
        --partition) parts+="${parts:+,}$(num "$2")"; shift 2 ;;
        *) die "order replay: unknown option $1" ;;
        esac
    done
    [ -n "$to" ] || die "order replay: one of --beginning, --offset N, --timestamp T"
    body="{$to${parts:+,\"partitions\":[$parts]}}"
    request POST "$ORDER_URL/admin/projection/replay" "$body" ORDER_ADMIN_TOKEN
    ;;
"order dlq")
    q=""
    while [ $# -gt 0 ]; do
        case $1 in
        --reason) q+="&reason=$(jstr "$2" | tr -d '"')"; shift 2 ;;
        --key) q+="&key=$(jstr "$2" | tr -d '"')"; shift 2 ;;
        --limit) q+="&limit=$(num "$2")"; shift 2 ;;
        --offset) q+="&offset=$(num "$2")"; shift 2 ;;
        --partition) q+="&partition=$(num "$2")"; shift 2 ;;
        *) die "order dlq: unknown option $1" ;;
        esac
    done
    request GET "$ORDER_URL/admin/dlq?${q#&}" "" ORDER_ADMIN_TOKEN
    ;;
"order redrive")
    recs="" all="" filt="" part="" from=""
    pos() {
        [[ $1 =~ ^([0-9]+):([0-9]+)$ ]] || die "order redrive: '$1' is not PARTITION:OFFSET"
        printf '{"partition":%s,"offset":%s}' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    }
    while [ $# -gt 0 ]; do
        case $1 in
        --all) all='"all":true'; shift ;;
        --record) recs+="${recs:+,}$(pos "${2:-}")"; shift 2 ;;
        --reason) filt+="${filt:+,}\"reason\":$(jstr "$2")"; shift 2 ;;
        --key) filt+="${filt:+,}\"key\":$(jstr "$2")"; shift 2 ;;
        --partition) part="\"partition\":$(num "$2")"; shift 2 ;;
        --from) from="\"from\":$(pos "${2:-}")"; shift 2 ;;
        *) die "order redrive: unknown option $1" ;;
        esac
    done
    if [ -n "$recs" ]; then
        [ -z "$all$filt$part$from" ] || die "order redrive: --record goes alone"
        body="{\"records\":[$recs]}"
    else
        [ -n "$all$filt" ] || die "order redrive: one of --all, --record P:O, --reason R / --key ID"
        [ -z "$all" ] || [ -z "$filt" ] || die "order redrive: --all or a filter, not both"
        body="{$all$filt${part:+,$part}${from:+,$from}}"
    fi
    request POST "$ORDER_URL/admin/dlq/redrive" "$body" ORDER_ADMIN_TOKEN
    ;;
"order reconciliation")
    case ${1:-} in
    "") request GET "$ORDER_URL/admin/reconciliation" "" ORDER_ADMIN_TOKEN ;;
    --run) request POST "$ORDER_URL/admin/reconciliation/run" "" ORDER_ADMIN_TOKEN ;;
    *) die "order reconciliation: unknown option $1" ;;
    esac
    ;;
"customer backfill")
    body=""
    case ${1:-} in
    --all) body='{"all":true}' ;;
    --ids)
        ids=""
        IFS=, read -ra list <<<"${2:-}"
        for i in "${list[@]}"; do ids+="${ids:+,}$(jstr "$i")"; done
        [ -n "$ids" ] || die "--ids wants a comma list of customer ids"
        body="{\"ids\":[$ids]}"
        ;;
    --since) body="{\"changedSince\":$(jstr "${2:-}")}" ;;
    *) die "customer backfill: one of --all, --ids ID,ID, --since T" ;;
    esac
    request POST "$CUSTOMER_URL/admin/backfill" "$body" CUSTOMER_ADMIN_TOKEN
    ;;
"customer backfill-status") request GET "$CUSTOMER_URL/admin/backfill" "" CUSTOMER_ADMIN_TOKEN ;;
"customer backfill-cancel") request DELETE "$CUSTOMER_URL/admin/backfill" "" CUSTOMER_ADMIN_TOKEN ;;
"customer checksum")
    q=""
    while [ $# -gt 0 ]; do
        case $1 in
        --from) q+="&from=$(jstr "$2" | tr -d '"')"; shift 2 ;;
        --to) q+="&to=$(jstr "$2" | tr -d '"')"; shift 2 ;;
        --list) q+="&list=true"; shift ;;
        *) die "customer checksum: unknown option $1" ;;
        esac
    done
    request GET "$CUSTOMER_URL/admin/checksum?${q#&}" "" CUSTOMER_ADMIN_TOKEN
    ;;
*) usage >&2; exit 2 ;;
esac
