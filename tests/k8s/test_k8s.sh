#!/usr/bin/env bash
# test_k8s.sh — the chart on a real Kubernetes cluster (ctest k8s_helm, label k8s): starts the
# single-node cluster of scripts/k8s.sh and, in a namespace that enforces the `restricted`
# Pod Security Standard (so every pod must run with the chart's securityContext):
#
#  1. bundled Kafka + PostgreSQL: the README's "Install on Kubernetes" commands —
#     `helm install --wait`, `helm test` (the smoke flow: create a customer, see it in the read
#     model, place an order); the programs run as uid 10001;
#  1b. secure by default: the auth Secret and five NetworkPolicies exist; config-server
#     answers 401 to a pod without credentials or with a wrong password, 200 to
#     customer-service's credentials (from the Secret) for its own configuration and 403 for
#     order-service's, 401 to POST /monitor without the monitor secret; a pod outside the allowed set
#     cannot connect to config-server or Kafka (the cluster enforces NetworkPolicies with
#     kube-router's controller; CQ_K8S_REQUIRE_NETPOL=0 only reports a CNI that does not);
#  1c. the observability kit: the Prometheus Operator and Gateway API CRDs (scripts/k8s/crds.sh)
#     applied server-side while step 1 installs, 1b's `helm upgrade` adds
#     ci/observability-values.yaml; the API server holds each ServiceMonitor, the PrometheusRule
#     (its alerts on exported metric names), the dashboard ConfigMap, Ingress, HTTPRoute and
#     HPAs as rendered, the services' pods run with their topologySpreadConstraints;
#  2. `helm upgrade` with configRepo.files adding a file to the config-repo ConfigMap and two
#     config-server replicas: both serve the edit, the services' pods are untouched;
#  2b. (issue 17) a live key (logging.level.root) and then a restart-class key
#     (datasource.pool-size) edited through `helm upgrade`: both services report the new
#     config version on /health, the live one with no restart, the restart-class one with one
#     restart in place each; pod uids and restart counts unchanged, Ready, `helm test` passes;
#  3. `kubectl delete pod` of config-server, customer-service and order-service in turn: the
#     replacement gets Ready and `helm test` passes after each;
#  4. `helm uninstall`: nothing of the release is left (pods, services, secrets, config maps,
#     the kit's objects, PVCs, PVs, volume directories);
#  5. a second release wired to external Kafka and PostgreSQL — the ctest stack on the host
#     (Kafka's HOST listener, CQ_KAFKA_HOST_PORT; PostgreSQL through a socat relay on the
#     host's address) — passes `helm test` and stores its PodMonitors as rendered, then is
#     uninstalled.
# The cluster is stopped at the end (CQ_K8S_KEEP=1 keeps it). Exit 77 (skip) only without
# root. Work files and logs of a failure in $CQ_STACK_DIR/k8s-test (or .stack/k8s-test).
# Usage: tests/k8s/test_k8s.sh [--help]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in -h|--help) sed -n '2,/^# Usage/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
work=${CQ_STACK_DIR:-$root/.stack}/k8s-test
tag=$(date +%s)-$$
ns=cqrs-ordering
ext_ns=cqrs-ext
ext_db=k8s_ext_${tag//-/_}
ext_topic=k8s-ext-$tag
relay_pid=
crds_pid=
unset KUBECONFIG   # set below to the test cluster's, never an outside one
t_start=$(date +%s)
mkdir -p "$work"
# The helm and kubectl commands below are the README's "Install on Kubernetes" lines, run
# verbatim (doc checks that each is there) from $work, where helm/ links to the chart.
ln -sfn "$root/helm" "$work/helm"
cd "$work"
readme=$(awk '/^## Install on Kubernetes/ { s = 1; next } s && /^## / { s = 0 } s' "$root/README.md")

say() { printf '[%4ds] %s\n' "$(($(date +%s) - t_start))" "$*"; }
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }  # stderr: also seen from inside $(…)
# doc CMD [LOG]: CMD must be a line of the README's section; runs it (output to LOG)
doc() {
  grep -qF -- "$1" <<<"$readme" || fail "README.md's \"Install on Kubernetes\" does not show: $1"
  if [ -n "${2:-}" ]; then eval "$1" >"$2" 2>&1; else eval "$1"; fi
}

[ "$(id -u)" = 0 ] || skip "needs root (kubelet, containerd)"
export PATH=$root/.stack/k8s/bin:$root/.stack/bin:$PATH
# helm as scripts/helm-check.sh installs it (Go module proxy), when it is not there yet
if ! command -v helm >/dev/null; then
  [ -x "$root/.stack/go/bin/go" ] && export PATH=$root/.stack/go/bin:$PATH
  GOBIN=$root/.stack/bin GOFLAGS=-modcacherw go install helm.sh/helm/v3/cmd/helm@v3.22.0 || fail "cannot install helm"
fi

dump() {
  echo "--- cluster state"
  kubectl get nodes,pods,svc,pvc -A -o wide 2>&1 | head -60
  local p
  for p in $(kubectl get pods -A --no-headers 2>/dev/null | awk '$4 != "Running" && $4 != "Completed" { print $1 "/" $2 }'); do
    echo "--- describe $p"; kubectl describe pod -n "${p%%/*}" "${p#*/}" 2>&1 | tail -25
    echo "--- logs $p"; kubectl logs -n "${p%%/*}" "${p#*/}" --all-containers --tail 30 2>&1
  done
  kubectl get events -A --sort-by=.lastTimestamp 2>&1 | tail -30
}

cleanup() {
  local rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || [ -z "${KUBECONFIG:-}" ] || dump || true
  if [ -n "${KUBECONFIG:-}" ]; then
    helm uninstall cqrs-ordering -n "$ns" --wait >/dev/null 2>&1 || true
    helm uninstall cqrs-ext -n "$ext_ns" --wait >/dev/null 2>&1 || true
    kubectl delete namespace "$ns" "$ext_ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null || true
  [ -n "$crds_pid" ] && kill "$crds_pid" 2>/dev/null || true
  if [ -n "${CQ_PG_PORT:-}" ]; then
    psql -h 127.0.0.1 -p "$CQ_PG_PORT" -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $ext_db" >/dev/null 2>&1 || true
  fi
  for t in "$ext_topic" "$ext_topic.DLQ"; do
    [ -x "${CQ_BIN_DIR:-}/os_produce" ] &&
      "$CQ_BIN_DIR/os_produce" --bootstrap "${CQ_KAFKA_BOOTSTRAP:-}" --topic "$t" --delete >/dev/null 2>&1 || true
  done
  if [ "${CQ_K8S_KEEP:-0}" != 1 ]; then
    if "$root/scripts/k8s.sh" down >"$work/down.log" 2>&1; then
      say "scripts/k8s.sh down: $(tail -n 1 "$work/down.log")"
    else
      cat "$work/down.log"; echo "FAIL: scripts/k8s.sh down"; [ "$rc" != 0 ] || rc=1
    fi
  fi
  say "total $(($(date +%s) - t_start)) s, exit $rc"
  exit "$rc"
}

# one k8s test at a time on this machine (other engineers, other build dirs)
exec 8>/tmp/cq-k8s.lock
flock -w 3600 8 || fail "another k8s test holds /tmp/cq-k8s.lock"
trap cleanup EXIT

# the observability kit's CRDs (step 1c), fetched (or taken from the cache) before the cluster
crds=$("$root/scripts/k8s/crds.sh" 2>"$work/crds.log") || { cat "$work/crds.log"; fail "scripts/k8s/crds.sh"; }
say "scripts/k8s.sh up"
kc=$("$root/scripts/k8s.sh" up) || fail "the cluster did not start (logs: $root/.stack/k8s/logs)"
export KUBECONFIG=$kc
host_ip=$(cat "$root/.stack/k8s/pki/host-ip")
# applied server-side (they are large) while step 1 installs: the 1b upgrade needs them
t_crds=$(date +%s)
{ kubectl apply --server-side -f "$crds" && kubectl wait --for=condition=Established -f "$crds" --timeout 120s &&
  echo "established in $(($(date +%s) - t_crds)) s"; } >>"$work/crds.log" 2>&1 8>&- &
crds_pid=$!
say "cluster up: $(kubectl get node -o jsonpath='{.items[0].status.nodeInfo.kubeletVersion} {.items[0].status.nodeInfo.containerRuntimeVersion}')"

# service_get NS SVC PORT PATH: GET through the service's cluster IP (kube-proxy's rules
# apply to the host's own traffic too), as customer-service (config-server's client of that name)
service_get() {
  local ip pw; ip=$(kubectl get svc -n "$1" "$2" -o jsonpath='{.spec.clusterIP}')
  pw=$(kubectl get secret -n "$1" cqrs-ordering-auth -o jsonpath='{.data.customer-service-password}' | base64 -d)
  curl -sf --max-time 5 -u "customer-service:$pw" "http://$ip:$3$4"
}

# pod_curl NAME LABELS TRIES ARGS...: runs curl ARGS (which print one status with -w) in a
# short-lived pod (the chart's test image) in $ns with the given labels (k=v,k=v), up to TRIES
# times a second apart while the answer is 000 (no connection: a new pod's address reaches the
# policy controller's sets a moment after it starts) or 429 (config-server's password hashing
# budget, spent by the services' own logins at start); prints the last answer.
pod_curl() {
  local name=$1 labels=$2 tries=$3; shift 3
  local args; args=$(printf '%s\n' -c 'n=$1; shift; for i in $(seq 1 "$n"); do c=$(curl "$@"); case $c in 000|429) sleep 1 ;; *) break ;; esac; done; printf "%s\n" "$c"' sh "$tries" "$@" | jq -R . | jq -sc .)
  { kubectl run -n "$ns" "$name" --restart=Never --rm -i --quiet --labels "$labels" \
    --image docker.io/curlimages/curl:8.11.1 --image-pull-policy IfNotPresent \
    --overrides '{"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":10001,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"'"$name"'","image":"docker.io/curlimages/curl:8.11.1","command":["sh"],"args":'"$args"',"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"runAsNonRoot":true,"readOnlyRootFilesystem":true}}]}}' \
    2>/dev/null || true; } | grep -v '^pod ' | tail -n 1
}

helm_test() { # helm_test RELEASE NS WHAT (the bundled release: the README's command)
  if [ "$1" = cqrs-ordering ]; then
    doc "helm test cqrs-ordering --namespace cqrs-ordering" "$work/helm-test.log"
  else
    helm test "$1" --namespace "$2" >"$work/helm-test.log" 2>&1
  fi || { cat "$work/helm-test.log"; fail "helm test $1 ($3)"; }
  say "helm test $1 ($3): $(grep -E '^(Phase|TEST SUITE|Last Started)' "$work/helm-test.log" | tr -s ' ' | paste -sd' ') | $(grep -E '^smoke: (OK|created|placed)' "$work/helm-test.log" | paste -sd';')"
}

# ---------------------------------------------------------------- 1. bundled install (README)
say "1. helm install (bundled Kafka + PostgreSQL)"
kubectl delete namespace "$ns" "$ext_ns" --ignore-not-found --wait=true >/dev/null  # a kept cluster's
doc "kubectl create namespace cqrs-ordering" /dev/null
doc "kubectl label namespace cqrs-ordering pod-security.kubernetes.io/enforce=restricted" /dev/null
# volume directories an earlier, interrupted run left behind are not this release's
vols0=$(find "$root/.stack/k8s/volumes" -mindepth 1 -maxdepth 1 2>/dev/null | sort || true)
t0=$(date +%s)
doc "helm install cqrs-ordering helm/cqrs-ordering --namespace cqrs-ordering --wait --timeout 10m" "$work/install.log" ||
  { cat "$work/install.log"; fail "helm install --wait"; }
say "helm install --wait: $(($(date +%s) - t0)) s"
helm_test cqrs-ordering "$ns" "bundled"
for c in config-server customer-service order-service; do
  uid=$(kubectl exec -n "$ns" "deploy/cqrs-ordering-$c" -- id -u) || fail "kubectl exec into $c"
  [ "$uid" = 10001 ] || fail "$c runs as uid $uid, not 10001"
done
kubectl get pods -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}{" uid="}{.spec.securityContext.runAsUser}{" ro="}{.spec.containers[0].securityContext.readOnlyRootFilesystem}{"\n"}{end}'
say "all pods admitted under pod-security restricted; the programs run as uid 10001"

# ---------------------------------------------------------------- 1b. secure by default
say "1b. secure by default: auth and NetworkPolicies"
kubectl get secret -n "$ns" cqrs-ordering-auth >/dev/null || fail "no auth Secret cqrs-ordering-auth"
nnp=$(kubectl get networkpolicy -n "$ns" --no-headers | wc -l)
[ "$nnp" = 5 ] || fail "$nnp NetworkPolicies (want 5: three programs, Kafka, PostgreSQL)"
cs_url="http://cqrs-ordering-config-server:8888"
pw=$(kubectl get secret -n "$ns" cqrs-ordering-auth -o jsonpath='{.data.customer-service-password}' | base64 -d)
# a monitor source (networkPolicy.monitorFrom) may reach config-server: without credentials 401.
# The same upgrade turns the observability kit on (checked in 1c; one helm upgrade, not two):
# ci/observability-values.yaml, the values scripts/helm-check.sh renders, with customer-service's
# HPA at minReplicas 1 (one pod keeps the later steps as they are). Its CRDs first.
wait "$crds_pid" || { cat "$work/crds.log"; fail "kubectl apply --server-side / wait Established (the kit's CRDs)"; }
crds_pid=
say "$(ls "$crds" | wc -l) CRDs ($(basename "$crds")) applied server-side, $(tail -n 1 "$work/crds.log")"
t0=$(date +%s)
helm upgrade cqrs-ordering helm/cqrs-ordering -n "$ns" --reuse-values --wait --timeout 5m \
  --set 'networkPolicy.monitorFrom[0].podSelector.matchLabels.cqrs-test=monitor-source' \
  -f helm/cqrs-ordering/ci/observability-values.yaml --set services.customerService.autoscaling.minReplicas=1 \
  >"$work/upgrade-np.log" 2>&1 || { cat "$work/upgrade-np.log"; fail "helm upgrade (monitorFrom, observability kit)"; }
say "helm upgrade --wait (monitorFrom; the kit on, the services' pods rolled for their topologySpreadConstraints): $(($(date +%s) - t0)) s"
code=$(pod_curl cq-anon cqrs-test=monitor-source 15 -s -o /dev/null -w '%{http_code}' --max-time 10 "$cs_url/customer-service/k8s")
[ "$code" = 401 ] || fail "config-server answered $code (want 401) to a pod without credentials"
code=$(pod_curl cq-monitor cqrs-test=monitor-source 15 -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -d path=customer-service.yml "$cs_url/monitor")
[ "$code" = 401 ] || fail "POST /monitor without the monitor secret answered $code (want 401)"
code=$(pod_curl cq-creds cqrs-test=monitor-source 15 -s -o /dev/null -w '%{http_code}' --max-time 10 -u "customer-service:$pw" "$cs_url/customer-service/k8s")
[ "$code" = 200 ] || fail "config-server answered $code (want 200) to customer-service for its own configuration"
code=$(pod_curl cq-other cqrs-test=monitor-source 15 -s -o /dev/null -w '%{http_code}' --max-time 10 -u "customer-service:$pw" "$cs_url/order-service/k8s")
[ "$code" = 403 ] || fail "config-server answered $code (want 403) to customer-service for order-service's configuration"
code=$(pod_curl cq-wrong cqrs-test=monitor-source 15 -s -o /dev/null -w '%{http_code}' --max-time 10 -u "customer-service:not-$pw" "$cs_url/customer-service/k8s")
[ "$code" = 401 ] || fail "config-server answered $code (want 401) to a wrong password"
say "config-server: 401 without credentials or with a wrong password, 401 on /monitor without its secret; customer-service reads its own configuration (200), not order-service's (403)"
# a pod outside the allowed set: refused (kube-router's controller enforces the policies). The
# controller installs a pod's rules some seconds after the pod starts (config-server's pod was
# just replaced by the monitorFrom upgrade): probe until refused, for 90 s at most
t0=$(date +%s); code=; code2=
while :; do
  code=$(pod_curl cq-outsider cqrs-test=outsider 1 -s -o /dev/null -w '%{http_code}' --max-time 5 "$cs_url/actuator/health")
  # Kafka does not speak HTTP: whether the TCP connection was made is time_connect (0 = never)
  code2=$(pod_curl cq-outsider2 cqrs-test=outsider 1 -s -o /dev/null -w '%{time_connect}' --max-time 5 http://cqrs-ordering-kafka:9092/)
  if [ "$code" = 000 ] && [ "${code2:-0}" = 0.000000 ]; then break; fi
  [ $(($(date +%s) - t0)) -lt 90 ] || break
  echo "k8s: an outside pod still reaches config-server (HTTP $code) or Kafka (connect ${code2}s); waiting for the policy controller" >&2
  sleep 3
done
if [ "$code" = 000 ] && [ "${code2:-0}" = 0.000000 ]; then
  say "NetworkPolicies enforced: a pod outside the allowed set cannot connect to config-server nor to Kafka ($(($(date +%s) - t0)) s to verify)"
elif [ "${CQ_K8S_REQUIRE_NETPOL:-1}" = 1 ]; then
  fail "a pod outside the allowed set reached config-server (HTTP $code) or Kafka (connect ${code2}s) for 90 s: NetworkPolicies not enforced"
else
  say "NOTE: NetworkPolicies not enforced: an outside pod got HTTP $code from config-server, connected to Kafka in ${code2}s"
fi

# ---------------------------------------------------------------- 1c. observability kit
# (issue 21 item 6) turned on by 1b's upgrade: what the API server stores
say "1c. observability kit (ci/observability-values.yaml): ServiceMonitors, PrometheusRule, dashboard, Ingress, HTTPRoute, HPAs"
t0=$(date +%s)
kit_kinds="servicemonitors,podmonitors,prometheusrules,httproutes,ingresses,horizontalpodautoscalers,configmaps"
# kit_check RELEASE NS KIND...: every object of those kinds in the release's manifest is stored
# as rendered ($work/kit-live.json: the namespace's objects of the kit's kinds); prints a summary
kit_check() {
  local rel=$1 kns=$2; shift 2
  helm get manifest "$rel" -n "$kns" >"$work/kit-manifest.yaml" || fail "helm get manifest $rel"
  kubectl get -n "$kns" "$kit_kinds" -o json >"$work/kit-live.json" || fail "kubectl get $kit_kinds"
  python3 "$root/tests/k8s/kit_live_check.py" "$work/kit-manifest.yaml" "$work/kit-live.json" "$@" >"$work/kit-check.log" 2>&1 ||
    { cat "$work/kit-check.log"; fail "the API server does not hold the kit as rendered"; }
  tail -n 1 "$work/kit-check.log"
}
kit_count() { jq --arg k "$1" '[.items[] | select(.kind == $k)] | length' "$work/kit-live.json"; }
r=$(kit_check cqrs-ordering "$ns" ServiceMonitor PrometheusRule HTTPRoute Ingress HorizontalPodAutoscaler ConfigMap)
for k in ServiceMonitor:3 PodMonitor:0 PrometheusRule:1 HTTPRoute:1 Ingress:1 HorizontalPodAutoscaler:2; do
  [ "$(kit_count "${k%%:*}")" = "${k#*:}" ] || fail "$(kit_count "${k%%:*}") ${k%%:*} in $ns (want ${k#*:})"
done
say "stored as rendered (tests/k8s/kit_live_check.py): $r"
jq -e '.items[] | select(.kind == "ConfigMap" and .metadata.name == "cqrs-ordering-dashboard") | .data["cqrs-ordering.json"] |
  fromjson | .panels | length > 0' "$work/kit-live.json" >/dev/null || fail "the dashboard ConfigMap holds no dashboard with panels"
# the PrometheusRule as stored: the alerts the issue asks for, each on its metric; every alert
# and dashboard query reads only metric names the programs export
jq -c '.items[] | select(.kind == "PrometheusRule" or (.kind == "ConfigMap" and .metadata.name == "cqrs-ordering-dashboard"))' \
  "$work/kit-live.json" | sed '1!s/^/---\n/' >"$work/kit-rules.yaml"
want_alerts="CqrsOrderingProjectionLagHigh order_projection_lag_seconds_bucket
CqrsOrderingOutboxBacklogHigh customer_outbox_backlog
CqrsOrderingOutboxPublishSlow customer_outbox_publish_latency_seconds_bucket
CqrsOrderingDeadLetters order_projection_dlq_total
CqrsOrderingConfigRejected customer_config_rejected_total
CqrsOrderingConfigServerDegraded config_server_degraded
CqrsOrderingRelayWithoutLeader customer_outbox_relay_leader
CqrsOrderingKafkaDown customer_kafka_up"
missing=$(jq -r --arg want "$want_alerts" '[.items[] | select(.kind == "PrometheusRule") | .spec.groups[].rules[]] as $r |
  $want | split("\n")[] | split(" ") as [$a, $m] | select([$r[] | select(.alert == $a) | .expr | contains($m)] != [true]) |
  "\($a) on \($m)"' "$work/kit-live.json")
[ -z "$missing" ] || fail "the stored PrometheusRule lacks: ${missing//$'\n'/, }"
nalerts=$(jq '[.items[] | select(.kind == "PrometheusRule") | .spec.groups[].rules[] | select(.alert)] | length' "$work/kit-live.json")
names=$(python3 "$root/tests/helm/check_metric_names.py" "$root" "$work/kit-rules.yaml" 2>&1) ||
  { echo "$names"; fail "the stored alerts or dashboard query a metric the programs do not export"; }
say "PrometheusRule as stored: $nalerts alerts, among them projection lag, outbox backlog and publish age, dead letters, rejected config, config-server degraded, relay without leader, Kafka down on their metrics; with the dashboard: $names"
# HPAs: created, targeting the Deployments; this cluster has no metrics API, so they cannot read
# utilization and say so in their conditions (ScalingActive=False), which is all they can do here
hpas=$(jq -r '[.items[] | select(.kind == "HorizontalPodAutoscaler") |
  "\(.spec.scaleTargetRef.name) \(.spec.minReplicas)-\(.spec.maxReplicas)"] | sort | join(", ")' "$work/kit-live.json")
[ "$hpas" = "cqrs-ordering-customer-service 1-4, cqrs-ordering-order-service 1-3" ] || fail "HPAs: '$hpas'"
hpa_state=$(kubectl get -n "$ns" hpa cqrs-ordering-order-service -o jsonpath='{range .status.conditions[*]}{.type}={.status}({.reason}) {end}')
# topologySpreadConstraints: in the specs of the services' pods that run now (an old one may
# still be terminating), which helm --wait saw Ready
got=$(kubectl get pods -n "$ns" -l 'app.kubernetes.io/component in (customer-service,order-service)' -o json |
  jq -r '[.items[] | select(.metadata.deletionTimestamp == null) |
    "\(.metadata.labels["app.kubernetes.io/component"])=\([.spec.topologySpreadConstraints[]?.topologyKey] | join(","))"] | sort | join(" ")')
[ "$got" = "customer-service=topology.kubernetes.io/zone order-service=kubernetes.io/hostname" ] ||
  fail "the services' pods spread by '$got' (want customer-service=topology.kubernetes.io/zone order-service=kubernetes.io/hostname)"
say "HPAs $hpas; order-service's conditions: ${hpa_state:-none yet}; the services' pods run with their topologySpreadConstraints ($got)"
say "1c. checked in $(($(date +%s) - t0)) s"

# ---------------------------------------------------------------- 2. upgrade: config-repo edit
say "2. helm upgrade: configRepo.files adds customer-service-k8s.yml; two config-server replicas"
cat >"$work/config-edit.yaml" <<EOF
configRepo:
  files:
    customer-service-k8s.yml: |
      cqk8s:
        edit: "$tag"
services:
  configServer:
    replicaCount: 2
EOF
# the services' pods (uid and restart count) before: a config-repo edit must not restart them
svc_pods() {
  kubectl get pods -n "$ns" -l 'app.kubernetes.io/component in (customer-service,order-service)' \
    -o jsonpath='{range .items[*]}{.metadata.uid}:{.status.containerStatuses[0].restartCount} {end}'
}
pods0=$(svc_pods)
t0=$(date +%s)
doc "helm upgrade cqrs-ordering helm/cqrs-ordering --namespace cqrs-ordering --reuse-values -f config-edit.yaml --wait --timeout 5m" \
  "$work/upgrade.log" || { cat "$work/upgrade.log"; fail "helm upgrade"; }
ok=0
for _ in $(seq 1 60); do
  if service_get "$ns" cqrs-ordering-config-server 8888 /customer-service/k8s >"$work/env.json" 2>/dev/null &&
     grep -q "\"cqk8s.edit\": *\"$tag\"" "$work/env.json"; then ok=1; break; fi
  sleep 1
done
[ "$ok" = 1 ] || { cat "$work/env.json"; fail "config-server does not serve the edit (cqk8s.edit=$tag)"; }
say "config-server serves cqk8s.edit=$tag from customer-service-k8s.yml, $(($(date +%s) - t0)) s after the upgrade began"
# every replica serves it (each pod asked directly, from the host)
pw=$(kubectl get secret -n "$ns" cqrs-ordering-auth -o jsonpath='{.data.customer-service-password}' | base64 -d)
ips=$(kubectl get endpoints -n "$ns" cqrs-ordering-config-server-headless -o jsonpath='{.subsets[0].addresses[*].ip}')
[ "$(wc -w <<<"$ips")" = 2 ] || fail "the headless Service lists '$ips' (want both config-server replicas)"
for ip in $ips; do
  curl -sf --max-time 5 -u "customer-service:$pw" "http://$ip:8888/customer-service/k8s" | grep -q "\"cqk8s.edit\": *\"$tag\"" ||
    fail "config-server replica $ip does not serve the edit"
done
pods1=$(svc_pods)
[ "$pods0" = "$pods1" ] || fail "the services' pods changed on a config-repo edit: before '$pods0', after '$pods1'"
say "both config-server replicas serve it (the headless Service lists both); customer-service and order-service: same pods, no restart"
helm_test cqrs-ordering "$ns" "after the upgrade"

# ---------------------------------------------------------------- 2b. live and restart-class edits
# (issue 17 item 4): through helm upgrade, with the two config-server replicas of step 2
say "2b. helm upgrade: a live key, then a restart-class key, in both services' files"
health_cfg() { # COMPONENT PORT -> "<applied config version> <restarts in place>"
  local ip; ip=$(kubectl get svc -n "$ns" "cqrs-ordering-$1" -o jsonpath='{.spec.clusterIP}')
  curl -s --max-time 5 "http://$ip:$2/health" | jq -r '"\(.config.version) \(.config.restarts)"' 2>/dev/null
}
# wait_applied WHAT WANT_RESTARTS_DELTA: both services report a new config version with that
# many more restarts in place; prints the seconds it took
wait_applied() {
  local t0 c o
  t0=$(date +%s)
  for _ in $(seq 1 120); do
    c=$(health_cfg customer-service 8184); o=$(health_cfg order-service 8181)
    if [ "${c% *}" != "${hc% *}" ] && [ "${o% *}" != "${ho% *}" ] &&
       [ "${c#* }" = $((${hc#* } + $2)) ] && [ "${o#* }" = $((${ho#* } + $2)) ]; then
      hc=$c; ho=$o; echo $(($(date +%s) - t0)); return 0
    fi
    sleep 1
  done
  fail "$1: customer-service '$c' (was '$hc'), order-service '$o' (was '$ho'): want a new version and +$2 restarts"
}
edit_files() { # EXTRA-YAML -> config-repo files for both services (the step-2 key kept)
  cat >"$work/config-2b.yaml" <<EOF
configRepo:
  files:
    customer-service-k8s.yml: |
      cqk8s:
        edit: "$tag"
      $1
    order-service-k8s.yml: |
      $1
EOF
  helm upgrade cqrs-ordering helm/cqrs-ordering -n "$ns" --reuse-values -f "$work/config-2b.yaml" --wait \
    --timeout 5m >"$work/upgrade-2b.log" 2>&1 || { cat "$work/upgrade-2b.log"; fail "helm upgrade (2b)"; }
}
hc=$(health_cfg customer-service 8184); ho=$(health_cfg order-service 8181)
[ -n "${hc% *}" ] && [ -n "${ho% *}" ] || fail "the services' /health has no config version ('$hc', '$ho')"
pods0=$(svc_pods)
t0=$(date +%s)
edit_files 'logging: {level: {root: warn}}'
s1=$(wait_applied "live key logging.level.root" 0)
[ "$(svc_pods)" = "$pods0" ] || fail "a live key restarted a service pod: before '$pods0', after '$(svc_pods)'"
say "live key (logging.level.root) applied by both services $(($(date +%s) - t0)) s after the upgrade began (${s1} s after helm returned); restarts in place 0, pods untouched"
t0=$(date +%s)
edit_files 'logging: {level: {root: warn}}
      datasource: {pool-size: 3}'
s2=$(wait_applied "restart-class key datasource.pool-size" 1)
kubectl wait -n "$ns" --for=condition=Ready pod -l 'app.kubernetes.io/component in (customer-service,order-service)' \
  --timeout 60s >/dev/null || fail "a service is not Ready after its restart in place"
[ "$(svc_pods)" = "$pods0" ] || fail "a restart-class key restarted a pod (want a restart in place): before '$pods0', after '$(svc_pods)'"
say "restart-class key (datasource.pool-size) applied by a restart in place of both services $(($(date +%s) - t0)) s after the upgrade began (${s2} s after helm returned); pods untouched, restart counts 0, Ready"
helm_test cqrs-ordering "$ns" "after the live and restart-class edits"

# ---------------------------------------------------------------- 3. pods deleted
for c in config-server customer-service order-service; do
  old=$(kubectl get pods -n "$ns" -l "app.kubernetes.io/component=$c" -o jsonpath='{.items[0].metadata.name}')
  t0=$(date +%s)
  kubectl delete pod -n "$ns" "$old" --wait=true >/dev/null
  kubectl rollout status -n "$ns" "deploy/cqrs-ordering-$c" --timeout 180s >/dev/null ||
    fail "$c did not come back after kubectl delete pod"
  kubectl wait -n "$ns" --for=condition=Ready pod -l "app.kubernetes.io/component=$c" --timeout 180s >/dev/null ||
    fail "$c's new pod is not Ready"
  say "3. kubectl delete pod $old: replacement Ready in $(($(date +%s) - t0)) s"
  helm_test cqrs-ordering "$ns" "after deleting $c's pod"
done

# ---------------------------------------------------------------- 4. uninstall
say "4. helm uninstall"
doc "helm uninstall cqrs-ordering --namespace cqrs-ordering --wait --timeout 5m" /dev/null || fail "helm uninstall"
left=
for _ in $(seq 1 90); do
  left=$(kubectl get all,cm,secret,pvc,sa,netpol,pdb,role,rolebinding,"$kit_kinds" -n "$ns" -o name 2>/dev/null |
    grep -v -E '^(configmap/kube-root-ca.crt|serviceaccount/default)$' || true)
  pvs=$(kubectl get pv -o jsonpath="{range .items[?(@.spec.claimRef.namespace==\"$ns\")]}{.metadata.name}{\"\n\"}{end}")
  dirs=$(comm -13 <(echo "$vols0") <(find "$root/.stack/k8s/volumes" -mindepth 1 -maxdepth 1 2>/dev/null | sort) || true)
  [ -z "$left$pvs$dirs" ] && break
  sleep 1
done
[ -z "$left$pvs$dirs" ] || fail "left behind after helm uninstall: ${left//$'\n'/ } ${pvs//$'\n'/ } ${dirs//$'\n'/ }"
kubectl delete namespace "$ns" --wait=true >/dev/null
say "nothing of the release is left (objects, PVCs, PVs, volume directories)"

# ---------------------------------------------------------------- 5. external Kafka/PostgreSQL
: "${CQ_PG_PORT:?the ctest stack (fixture stack) is needed for the external install}"
: "${CQ_KAFKA_HOST_PORT:?the ctest stack needs its HOST listener (CQ_KAFKA_HOST_PORT)}"
say "5. helm install wired to the host's Kafka ($host_ip:$CQ_KAFKA_HOST_PORT) and PostgreSQL, TLS on from a Secret"
psql -h 127.0.0.1 -p "$CQ_PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE $ext_db" >/dev/null
# PostgreSQL listens on 127.0.0.1 only: a relay on the host's address (logins arrive from
# 127.0.0.1, as the stack's own clients do)
pg_ext_port=$((CQ_PG_PORT + 2))
socat "TCP-LISTEN:$pg_ext_port,bind=$host_ip,fork,reuseaddr" "TCP:127.0.0.1:$CQ_PG_PORT" 8>&- &
relay_pid=$!
cat >"$work/external-values.yaml" <<EOF
kafka:
  enabled: false
postgresql:
  enabled: false
externalKafka:
  bootstrapServers: "$host_ip:$CQ_KAFKA_HOST_PORT"
externalDatabase:
  host: "$host_ip"
  port: $pg_ext_port
  user: postgres
  database: $ext_db
  password: unused-trust-auth
  sslmode: disable
services:
  customerService:
    extraEnv:
      - {name: CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME, value: "$ext_topic"}
  orderService:
    extraEnv:
      - {name: ORDER_SERVICE_CUSTOMER_TOPIC_NAME, value: "$ext_topic"}
      - {name: ORDER_SERVICE_DLQ_TOPIC_NAME, value: "$ext_topic.DLQ"}
      - {name: KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID, value: "$ext_topic-group"}
EOF
cat >>"$work/external-values.yaml" <<EOF
tls:
  enabled: true
  existingSecret: cq-tls
metrics:
  podMonitor:
    enabled: true
EOF
kubectl create namespace "$ext_ns" >/dev/null
kubectl label namespace "$ext_ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
# TLS on all three listeners from one Secret: a test CA and a certificate naming the three
# Services (tls.crt, tls.key, ca.crt, as cert-manager writes them)
tlsd="$work/tls"; mkdir -p "$tlsd"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cqrs-k8s-test-ca" \
  -keyout "$tlsd/ca.key" -out "$tlsd/ca.crt" 2>/dev/null || fail "openssl: test CA"
sans=
for c in config-server customer-service order-service; do
  n="cqrs-ext-cqrs-ordering-$c"
  sans="$sans,DNS:$n,DNS:$n.$ext_ns,DNS:$n.$ext_ns.svc,DNS:$n.$ext_ns.svc.cluster.local"
done
openssl req -newkey rsa:2048 -nodes -subj "/CN=cqrs-ordering" -keyout "$tlsd/tls.key" -out "$tlsd/tls.csr" 2>/dev/null &&
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "${sans#,}" >"$tlsd/ext.cnf" &&
  openssl x509 -req -in "$tlsd/tls.csr" -CA "$tlsd/ca.crt" -CAkey "$tlsd/ca.key" -CAcreateserial -days 2 \
    -extfile "$tlsd/ext.cnf" -out "$tlsd/tls.crt" 2>/dev/null || fail "openssl: server certificate"
kubectl create secret generic cq-tls -n "$ext_ns" --from-file="$tlsd/tls.crt" --from-file="$tlsd/tls.key" \
  --from-file="$tlsd/ca.crt" >/dev/null || fail "kubectl create secret cq-tls"
t0=$(date +%s)
helm install cqrs-ext helm/cqrs-ordering --namespace "$ext_ns" -f "$work/external-values.yaml" \
  --wait --timeout 5m >"$work/install-ext.log" 2>&1 || { cat "$work/install-ext.log"; fail "helm install (external)"; }
say "helm install --wait (external): $(($(date +%s) - t0)) s"
helm_test cqrs-ext "$ext_ns" "external Kafka/PostgreSQL"
# the kit's other scrape kind (step 1c had ServiceMonitors): PodMonitors, HTTPS with TLS on
r=$(kit_check cqrs-ext "$ext_ns" PodMonitor)
[ "$(kit_count PodMonitor)" = 3 ] && [ "$(kit_count ServiceMonitor)" = 0 ] || fail "want 3 PodMonitors and no ServiceMonitor in $ext_ns"
schemes=$(jq -r '[.items[] | select(.kind == "PodMonitor") | .spec.podMetricsEndpoints[].scheme] | unique | join(",")' "$work/kit-live.json")
[ "$schemes" = https ] || fail "the PodMonitors scrape with '$schemes' (want https with TLS on)"
say "PodMonitors (metrics.podMonitor.enabled) stored as rendered, scheme https: $r"
n=$(psql -h 127.0.0.1 -p "$CQ_PG_PORT" -U postgres -d "$ext_db" -tAc 'SELECT count(*) FROM "order".orders' 2>/dev/null || echo 0)
[ "${n:-0}" -ge 1 ] || fail "the external install wrote no order into the host's PostgreSQL ($ext_db)"
say "the host's PostgreSQL ($ext_db) holds the $n order(s) the smoke flow placed through the cluster's pods"
# config-server speaks only TLS: with the test CA and customer-service's password its own
# configuration (the services fetched theirs this way to start), plain HTTP gets nothing
ext_pw=$(kubectl get secret -n "$ext_ns" cqrs-ext-cqrs-ordering-auth -o jsonpath='{.data.customer-service-password}' | base64 -d)
cs_ip=$(kubectl get pods -n "$ext_ns" -l app.kubernetes.io/component=config-server -o jsonpath='{.items[0].status.podIP}')
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$tlsd/ca.crt" -u "customer-service:$ext_pw" \
  --resolve "cqrs-ext-cqrs-ordering-config-server:8888:$cs_ip" "https://cqrs-ext-cqrs-ordering-config-server:8888/customer-service/default" || true)
[ "$code" = 200 ] || fail "config-server over TLS (test CA) answered $code (want 200)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u "customer-service:$ext_pw" "http://$cs_ip:8888/customer-service/default" || true)
[ "$code" != 200 ] || fail "config-server answered plain HTTP with TLS on"
say "TLS from the Secret: config-server answers HTTPS (verified against the test CA, 200), not plain HTTP ($code); the services fetched their configuration and helm test passed over HTTPS"
helm uninstall cqrs-ext --namespace "$ext_ns" --wait --timeout 5m >/dev/null || fail "helm uninstall (external)"
kubectl delete namespace "$ext_ns" --wait=true >/dev/null
echo "PASS: helm install/test/upgrade/delete-pod/uninstall on a real cluster (bundled Kafka+PostgreSQL), and helm test against external Kafka+PostgreSQL with TLS on"
