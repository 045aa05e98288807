#!/usr/bin/env bash
# helm-check.sh — validate the Helm chart offline (CI runs this on every build).
#
#  1. installs helm v3.22.0 and kubeconform v0.7.0 into .stack/bin with `go install` if missing
#     (Go module proxy only; nothing else is downloaded);
#  2. `helm lint --strict` with the default values and every ci/*-values.yaml;
#  3. `helm template` with the default values (bundled Kafka/PostgreSQL StatefulSets), with
#     ci/external-values.yaml and ci/external-password-values.yaml (external Kafka/PostgreSQL)
#     ci/git-values.yaml (config-server on a git repository), ci/tls-values.yaml (TLS from a
#     Secret, client certificates required), ci/certmanager-values.yaml (cert-manager) and
#     ci/secured-values.yaml (SASL_SSL Kafka, verify-full PostgreSQL, extra volumes) and
#     ci/observability-values.yaml (monitors, alerts, dashboard, Ingress, HTTPRoute, HPA);
#  4. validates every rendered manifest with `kubeconform -strict` against the Kubernetes JSON
#     schemas vendored in helm/schemas/ (no schema download; a kind without a schema fails);
#  5. checks the chart's wiring: every config-repo/ file is in the ConfigMap, the test hook's
#     ConfigMap carries scripts/smoke.sh byte for byte, the checksum annotation is present, the
#     bundled Kafka/PostgreSQL are official images, the DB password comes from a Secret, and
#     the config-repo switch (ConfigMap or git, credentials, ENCRYPT_KEY) renders as documented;
#     secure by default: config-server auth on with the credentials, the /monitor secret and
#     the admin token from the generated Secret, NetworkPolicies (ingress and egress) for every
#     pod kind; TLS: HTTPS URLs and probes, the certificate files, mTLS;
#     secured Kafka/PostgreSQL: the SASL credentials from their Secret as env overrides of
#     kafka-config.properties.* (nothing in the ConfigMap), the CA/client-certificate paths,
#     extraVolumes/extraVolumeMounts/extraEnv in the Deployment they belong to;
#     the observability kit (ci/observability-values.yaml; all off by default): ServiceMonitor/
#     PodMonitor, PrometheusRule, Grafana dashboard, Ingress, HTTPRoute, HPA, topology spread;
#     tests/helm/check_metric_names.py: the alerts and the dashboard query only metric names
#     the C sources declare (kubeconform skips the CRD kinds, which have no vendored schema);
#     with promtool (scripts/setup.sh puts it in .stack/bin): every alert and dashboard query
#     parses, and tests/helm/alerts_test.yml's scenarios fire the alerts they should;
#  6. negative checks: values.schema.json rejects bad values, kubeconform rejects a broken
#     manifest, the chart refuses external mode without addresses.
#
# Usage: scripts/helm-check.sh [--help]. Exit 0 = all good; prints a PASS/FAIL line per check
# and a final 'N passed, N failed' line. Rendered manifests stay in .stack/helm-check/.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
  -h|--help) sed -n '2,/^# and a final/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) echo "helm-check: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.7.0
KUBE_VERSION=1.33.0
chart="$root/helm/cqrs-ordering"
schemas="$root/helm/schemas/v${KUBE_VERSION}-standalone-strict"
bin="$root/.stack/bin"
out="$root/.stack/helm-check"
export PATH="$bin:$PATH"
passed=0
failed=0
t0=$(date +%s.%N)

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2fs", b - a }'; }

# go_tool NAME MODULE VERSION PKG: install PKG@VERSION into .stack/bin unless that exact
# module version is already there.
go_tool() {
  local name=$1 module=$2 version=$3 pkg=$4 have=""
  if [ -x "$bin/$name" ]; then
    have=$(go version -m "$bin/$name" 2>/dev/null | awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }')
  fi
  if [ "$have" != "$version" ]; then
    # setup.sh keeps a Go toolchain in .stack/go when the machine has none recent enough.
    [ -x "$root/.stack/go/bin/go" ] && export PATH="$root/.stack/go/bin:$PATH"
    # helm v3.22 needs Go >= 1.26 to build; without it the check cannot run at all: exit 77,
    # which ctest reports as skipped (tests/CMakeLists.txt sets SKIP_RETURN_CODE 77).
    local gov; gov=$(go env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
    if [ -z "$gov" ] || [ "$(echo "$gov" | awk '{ print ($1 > 1 || ($1 == 1 && $2 >= 26)) }')" != 1 ]; then
      echo "helm-check: SKIPPED: installing $name needs Go >= 1.26 (found: ${gov:-none}); install Go to run the chart checks" >&2
      exit 77
    fi
    echo "helm-check: installing $name $version (go install $pkg@$version)"
    local t; t=$(date +%s.%N)
    mkdir -p "$bin"
    GOBIN="$bin" go install "$pkg@$version" || { echo "helm-check: go install $pkg failed" >&2; exit 1; }
    echo "helm-check: $name installed in $(elapsed "$t")"
  fi
}
go_tool helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
go_tool kubeconform github.com/yannh/kubeconform "$KUBECONFORM_VERSION" \
  github.com/yannh/kubeconform/cmd/kubeconform

rm -rf "$out"
mkdir -p "$out"
# helm warns about every symlink it follows (config-repo, files/smoke.sh): expected, filtered.
# show_err FILE: print helm's stderr (indented) without those warnings.
show_err() { grep -v 'found symbolic link in path' "$1" | sed 's/^/    /' || true; }

# --- 0. one copy of each shared file ----------------------------------------------------------
for l in config-repo:../../config-repo files/smoke.sh:../../../scripts/smoke.sh; do
  link="$chart/${l%%:*}"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "${l#*:}" ] && [ -e "$link" ]; then
    pass "chart's ${l%%:*} is a symlink to ${l#*:}"
  else
    fail "chart's ${l%%:*} must be a symlink to ${l#*:} (one copy in the repository)"
  fi
done

# shellcheck disable=SC2016 # literal $schema / $ref in the patterns
if grep -q '"\$schema": "http://json-schema.org/draft-07/schema#"' "$chart/values.schema.json" &&
   ! grep -Eq '"\$ref": *"[^#]' "$chart/values.schema.json"; then
  pass "values.schema.json is draft-07 with local \$refs only"
else
  fail "values.schema.json must be draft-07 and self-contained (no remote \$ref)"
fi

# --- 1. lint ---------------------------------------------------------------------------------
lint() { # lint LABEL [helm args...]
  local label=$1; shift
  local t; t=$(date +%s.%N)
  if helm lint --strict "$chart" --kube-version "$KUBE_VERSION" "$@" >"$out/lint-$label.txt" \
      2>"$out/lint-$label.err"; then
    pass "helm lint --strict ($label) [$(elapsed "$t")]"
  else
    fail "helm lint --strict ($label)"; sed 's/^/    /' "$out/lint-$label.txt"; show_err "$out/lint-$label.err"
  fi
}
lint default
for f in "$chart"/ci/*-values.yaml; do lint "$(basename "$f" .yaml)" -f "$f"; done

# --- 2. template + kubeconform ---------------------------------------------------------------
render() { # render LABEL [helm args...] -> $out/LABEL.yaml
  local label=$1; shift
  local t; t=$(date +%s.%N)
  if helm template cq "$chart" --namespace cq --kube-version "$KUBE_VERSION" "$@" \
      >"$out/$label.yaml" 2>"$out/template-$label.err"; then
    pass "helm template ($label): $(grep -c '^kind:' "$out/$label.yaml") objects [$(elapsed "$t")]"
  else
    fail "helm template ($label)"; show_err "$out/template-$label.err"; rm -f "$out/$label.yaml"; return 1
  fi
  t=$(date +%s.%N)
  # KC_SKIP: CRD kinds without a vendored schema (their fields are checked by grep below)
  if kubeconform -strict -summary -kubernetes-version "$KUBE_VERSION" ${KC_SKIP:+-skip "$KC_SKIP"} \
      -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
      "$out/$label.yaml" >"$out/kubeconform-$label.txt" 2>&1; then
    pass "kubeconform -strict ($label): $(tail -n 1 "$out/kubeconform-$label.txt") [$(elapsed "$t")]"
  else
    fail "kubeconform -strict ($label)"; sed 's/^/    /' "$out/kubeconform-$label.txt"
  fi
}
render default
render external -f "$chart/ci/external-values.yaml"
render external-password -f "$chart/ci/external-password-values.yaml"
render tls -f "$chart/ci/tls-values.yaml"
render secured -f "$chart/ci/secured-values.yaml"
crds=ServiceMonitor,PodMonitor,PrometheusRule,HTTPRoute
KC_SKIP=$crds render observability -f "$chart/ci/observability-values.yaml"

# --- 3. wiring -------------------------------------------------------------------------------
d="$out/default.yaml"
if [ -s "$d" ]; then
  # every config-repo file is a key of the config-repo ConfigMap
  missing=""
  nfiles=0
  for f in "$root"/config-repo/*.yml "$root"/config-repo/*.yaml "$root"/config-repo/*.properties \
           "$root"/config-repo/*.json; do
    [ -e "$f" ] || continue
    nfiles=$((nfiles + 1))
    grep -q "^  $(basename "$f"): " "$d" || missing="$missing $(basename "$f")"
  done
  if [ "$nfiles" -gt 0 ] && [ -z "$missing" ]; then
    pass "config-repo ConfigMap holds all $nfiles config-repo/ files"
  else
    fail "config-repo ConfigMap: files=$nfiles missing:${missing:- (none; config-repo/ empty)}"
  fi
  # the test hook's script is scripts/smoke.sh, byte for byte
  helm template cq "$chart" --kube-version "$KUBE_VERSION" --show-only templates/configmap-smoke.yaml \
    2>/dev/null | sed -n '/^  smoke.sh: |-$/,$p' | tail -n +2 | sed 's/^    //' >"$out/smoke-from-chart.sh"
  # shellcheck disable=SC1003 # sed's $a\ appends a final newline if missing
  if diff "$out/smoke-from-chart.sh" <(sed -e '$a\' "$root/scripts/smoke.sh") >/dev/null; then
    pass "helm test ConfigMap carries scripts/smoke.sh unchanged (symlink followed)"
  else
    fail "helm test ConfigMap differs from scripts/smoke.sh"
  fi
  if grep -q 'checksum/config-repo: [0-9a-f]\{64\}' "$d"; then
    pass "config-server pod template has the checksum/config-repo annotation"
  else
    fail "checksum/config-repo annotation missing"
  fi
  # Pod Security Standards "restricted": every container (programs and the test Pod) has it.
  nc=$(grep -c '^ *image: ' "$d")
  for want in 'allowPrivilegeEscalation: false' 'readOnlyRootFilesystem: true' 'runAsNonRoot: true' \
              'type: RuntimeDefault'; do
    got=$(grep -c "^ *$want\$" "$d")
    # runAsNonRoot and seccomp appear at pod and container level
    case "$want" in runAsNonRoot*|type:*) got=$((got / 2)) ;; esac
    [ "$got" -ge "$nc" ] || { fail "restricted PSS: '$want' on $got of $nc containers"; nc=-1; }
  done
  if [ "$nc" -gt 0 ] && [ "$(grep -A1 '^ *drop:$' "$d" | grep -c -- '- ALL$')" -ge "$nc" ]; then
    pass "restricted Pod Security: all $nc containers non-root, read-only root, no escalation, seccomp, drop ALL"
  else
    fail "restricted Pod Security: capabilities.drop ALL missing somewhere"
  fi
  if grep -q '"helm.sh/hook": test' "$d"; then pass "helm test hook rendered"; else fail "no helm test hook"; fi
  envok=1
  for v in CONFIG_SERVER_URL APP_PROFILES KAFKA_BOOTSTRAP_SERVERS DB_HOST DB_PORT DB_USER DB_NAME DB_PASSWORD; do
    n=$(grep -c "name: $v\$" "$d")
    [ "$n" = 2 ] || { fail "env $v set $n times (want 2: customer-service, order-service)"; envok=0; }
  done
  [ "$envok" = 1 ] && pass "services get CONFIG_SERVER_URL, APP_PROFILES and the Kafka/DB env vars"
fi
e="$out/external.yaml"
if [ -s "$e" ] && grep -q 'value: "kafka-0.kafka.example.svc:9092,kafka-1.kafka.example.svc:9092"' "$e" &&
   grep -q 'name: cqrs-db$' "$e" && ! grep -q 'name: cq-cqrs-ordering-externaldb$' "$e"; then
  pass "external values: bootstrap servers and existing Secret wired, no database Secret rendered"
else
  fail "external values wiring"
fi
e="$out/external-password.yaml"
if [ -s "$e" ] && grep -q 'kind: Secret' "$e" && grep -q 'name: cq-cqrs-ordering-externaldb$' "$e" &&
   grep -q 'value: "6432"' "$e"; then
  pass "external password: chart-made Secret referenced, port wired"
else
  fail "external password wiring"
fi

# --- 3a. secure by default: auth, secrets, NetworkPolicies -------------------------------
if [ -s "$d" ]; then
  sec=$(awk '/^kind: Secret$/{p=1} /^---/{p=0} p' "$d")
  creds=$(grep '^  credentials.yml: ' <<<"$sec" | sed 's/^  credentials.yml: "\(.*\)"$/\1/' | base64 -d 2>/dev/null)
  if grep -q 'name: cq-cqrs-ordering-auth$' <<<"$sec" && grep -q '^  customer-service-password: "[A-Za-z0-9+/=]\{40,\}"$' <<<"$sec" &&
     grep -q '^  order-service-password: "' <<<"$sec" && grep -q '^  admin-password: "' <<<"$sec" &&
     grep -q '^  monitor-secret: "' <<<"$sec" && grep -q '^  order-admin-token: "' <<<"$sec" &&
     grep -q '^  customer-admin-token: "' <<<"$sec" &&
     grep -q '^  - name: customer-service$' <<<"$creds" && grep -q 'applications: \[order-service, "application\*"\]' <<<"$creds" &&
     [ "$(grep -c '^    password: "\$2a\$10\$' <<<"$creds")" = 3 ] && grep -q '^    admin: true$' <<<"$creds"; then
    pass "auth Secret generated: the services' and admin's passwords, credentials.yml (3 clients, bcrypt, each service its own applications), monitor secret, admin tokens"
  else
    fail "auth Secret (cq-cqrs-ordering-auth with three random keys)"
  fi
  n_user=$(grep -A1 'name: CONFIG_SERVER_USER$' "$d" | grep -c 'value: \(customer\|order\)-service$')
  n_pw=$(grep -A4 'name: CONFIG_SERVER_PASSWORD$' "$d" | grep -c 'key: \(customer\|order\)-service-password$')
  if [ "$n_user" = 2 ] && [ "$n_pw" = 2 ] &&
     grep -A1 'name: CONFIG_SERVER_CREDENTIALS_FILE$' "$d" | grep -q 'value: /etc/cqrs-ordering/auth/credentials.yml$' &&
     grep -A4 'name: CONFIG_SERVER_MONITOR_SECRET$' "$d" | grep -q 'key: monitor-secret$' &&
     grep -A4 'name: ORDER_ADMIN_TOKEN$' "$d" | grep -q 'key: order-admin-token$' &&
     grep -A4 'name: CUSTOMER_ADMIN_TOKEN$' "$d" | grep -q 'key: customer-admin-token$'; then
    pass "auth on by default: config-server reads the credentials file from the Secret; each service logs in as itself; /monitor secret; admin tokens"
  else
    fail "auth wiring: CONFIG_SERVER_USER x$n_user, password from the Secret x$n_pw (want 2 each), credentials file, monitor secret, admin tokens"
  fi
  n_np=$(grep -c '^kind: NetworkPolicy$' "$d")
  n_eg=$(grep -c '^  policyTypes: \[Ingress, Egress\]$' "$d")
  cs_np=$(awk '/^kind: NetworkPolicy$/{p=1} /^---/{p=0} p' "$d" | awk '/name: cq-cqrs-ordering-config-server$/{p=1} /^kind:/{if (p) exit} p')
  if [ "$n_np" = 5 ] && [ "$n_eg" = 5 ] && grep -q 'component: customer-service$' <<<"$cs_np" &&
     grep -q 'component: order-service$' <<<"$cs_np" && ! grep -q 'component: smoke-test' <<<"$cs_np"; then
    pass "NetworkPolicies on by default: 5 (three programs, Kafka, PostgreSQL), ingress and egress; config-server only from the services and its replicas"
  else
    fail "NetworkPolicies: $n_np policies, $n_eg with egress (want 5 and 5)"
  fi
fi
t="$out/tls.yaml"
if [ -s "$t" ] && grep -q 'value: "https://cq-cqrs-ordering-config-server:8888"' "$t" &&
   [ "$(grep -c 'scheme: HTTPS$' "$t")" = 6 ] &&
   [ "$(($(grep -c 'tcpSocket:' "$t") - $(grep -c 'tcpSocket:' "$d")))" = 3 ] &&
   [ "$(grep -c 'secretName: cqrs-tls$' "$t")" = 4 ] &&
   grep -q 'name: CONFIG_SERVER_SSL_CLIENT_AUTH$' "$t" && [ "$(grep -c 'name: CONFIG_SERVER_CLIENT_CERT$' "$t")" = 2 ] &&
   [ "$(grep -c 'name: SERVER_SSL_CERTIFICATE$' "$t")" = 2 ] && grep -q 'name: CURL_CA_BUNDLE$' "$t"; then
  pass "tls: https URLs, HTTPS probes (TCP for config-server with client-auth need), certificates from the Secret, client certificates, the test's CA"
else
  fail "tls wiring (ci/tls-values.yaml)"
fi
# cert-manager's Certificate is a CRD without a vendored schema: kubeconform skips that kind,
# its fields are checked here.
if helm template cq "$chart" --namespace cq --kube-version "$KUBE_VERSION" -f "$chart/ci/certmanager-values.yaml" \
    >"$out/certmanager.yaml" 2>"$out/template-certmanager.err" &&
   kubeconform -strict -kubernetes-version "$KUBE_VERSION" -skip Certificate \
    -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$out/certmanager.yaml" >/dev/null 2>&1 &&
   [ "$(grep -c '^kind: Certificate$' "$out/certmanager.yaml")" = 3 ] &&
   grep -q 'secretName: cq-cqrs-ordering-config-server-tls$' "$out/certmanager.yaml" &&
   grep -q 'commonName: order-service$' "$out/certmanager.yaml" &&
   grep -q -- '- cq-cqrs-ordering-customer-service.cq.svc.cluster.local$' "$out/certmanager.yaml" &&
   grep -A2 'issuerRef:' "$out/certmanager.yaml" | grep -q 'kind: ClusterIssuer'; then
  pass "tls.certManager: a Certificate per program (CN = program, the Service's names) into the Secret each mounts"
else
  fail "tls.certManager rendering"; show_err "$out/template-certmanager.err"
fi

# --- 3a'. a config-repo edit rolls config-server only (issue 17: the services apply it live)
if [ -s "$d" ]; then
  helm template cq "$chart" --namespace cq --kube-version "$KUBE_VERSION" \
    --set-string 'configRepo.files.customer-service-k8s\.yml=cqk8s: {edit: v2}' >"$out/edit.yaml" 2>/dev/null
  same=1
  for c in customer-service order-service; do  # each Deployment's text, before and after
    a=$(awk -v n="$c" 'BEGIN{RS="---\n"} /kind: Deployment/ && index($0, "name: cq-cqrs-ordering-" n "\n")' "$d")
    b=$(awk -v n="$c" 'BEGIN{RS="---\n"} /kind: Deployment/ && index($0, "name: cq-cqrs-ordering-" n "\n")' "$out/edit.yaml")
    [ -n "$a" ] && [ "$a" = "$b" ] || same=0
  done
  ca=$(grep -o 'checksum/config-repo: [0-9a-f]*' "$d")
  cb=$(grep -o 'checksum/config-repo: [0-9a-f]*' "$out/edit.yaml")
  if [ "$same" = 1 ] && [ -n "$ca" ] && [ "$ca" != "$cb" ] &&
     grep -q 'name: cq-cqrs-ordering-config-server-headless$' "$d" && grep -q '^  clusterIP: None$' "$d" &&
     grep -A1 'name: CONFIG_SERVER_PEERS_DNS$' "$d" | grep -q 'value: "cq-cqrs-ordering-config-server-headless.cq.svc"' &&
     grep -A3 'rollingUpdate:' "$d" | grep -q 'maxUnavailable: 0'; then
    pass "a configRepo.files edit changes config-server's pod template only (services not rolled); its replicas pass POST /monitor on through the headless Service (CONFIG_SERVER_PEERS_DNS); maxUnavailable 0"
  else
    fail "configRepo edit: services' Deployments unchanged=$same, config-server checksum changed=$([ "$ca" != "$cb" ] && echo 1 || echo 0), headless Service / rolling strategy"
  fi
fi

# --- 3b. bundled Kafka/PostgreSQL: official images, no Bitnami -------------------------------
if [ -s "$d" ]; then
  if grep -q 'image: "docker.io/apache/kafka:' "$d" && grep -q 'image: "docker.io/library/postgres:' "$d" &&
     ! grep -qi 'bitnami' "$d"; then
    pass "bundled Kafka and PostgreSQL use the official apache/kafka and postgres images (no Bitnami)"
  else
    fail "bundled Kafka/PostgreSQL images"
  fi
  if [ "$(grep -c '^kind: StatefulSet$' "$d")" = 2 ] && [ "$(grep -c 'whenDeleted: Delete$' "$d")" = 2 ] &&
     grep -q 'value: "cq-cqrs-ordering-kafka:9092"' "$d" && grep -q 'value: "cq-cqrs-ordering-postgresql"' "$d"; then
    pass "two StatefulSets whose volumes go with the release; the services point at them"
  else
    fail "bundled StatefulSets / wiring"
  fi
  # the database password: from the Secret into the env, never a value in the config-repo ConfigMap
  cm=$(sed -n '/name: cq-cqrs-ordering-config-repo$/,/^---/p' "$d")
  if grep -q 'password: "\${DB_PASSWORD:}"' <<<"$cm" && ! grep -Eiq 'password: *"?[A-Za-z0-9]' <<<"$cm" &&
     [ "$(grep -A3 'name: DB_PASSWORD$' "$d" | grep -c 'secretKeyRef:')" = 2 ]; then
    pass "the DB password comes from the Secret (k8s profile: \${DB_PASSWORD:}, no clear text in the ConfigMap)"
  else
    fail "DB password wiring (Secret -> DB_PASSWORD; no clear-text password in config-repo)"
  fi
fi
# --- 3c. config-server's repository switch ----------------------------------------------------
render git -f "$chart/ci/git-values.yaml"
g="$out/git.yaml"
if [ -s "$g" ] && grep -A1 -- '- --repo-uri$' "$g" | grep -q 'https://git.example.com/cqrs/config-repo.git' &&
   ! grep -q 'name: cq-cqrs-ordering-config-repo$' "$g" && ! grep -q 'checksum/config-repo' "$g" &&
   grep -q 'name: CONFIG_SERVER_DEFAULT_LABEL$' "$g" && grep -q 'name: CONFIG_SERVER_GIT_REFRESH_S$' "$g" &&
   grep -q 'name: CONFIG_SERVER_GIT_USERNAME$' "$g" && grep -q 'name: CONFIG_SERVER_GIT_PASSWORD$' "$g" &&
   grep -q 'value: /etc/config-server/git/ssh-key$' "$g" && grep -A3 'name: ENCRYPT_KEY$' "$g" | grep -q 'name: config-encrypt$' &&
   grep -A4 'name: CONFIG_SERVER_GIT_PROXY$' "$g" | grep -q 'key: proxy-url$' &&
   grep -A1 'name: CONFIG_SERVER_GIT_CA_FILE$' "$g" | grep -q 'value: /etc/config-server/git/ca.crt$' &&
   grep -B1 'path: ca.crt$' "$g" | grep -q 'key: ca.crt$' &&
   grep -A1 -- '- --git-repos-file$' "$g" | grep -q '/etc/config-server/git-repos/repos.yml' &&
   grep -A1 'name: CONFIG_SERVER_GIT_MIRRORS$' "$g" | grep -q '"8"' && grep -q 'secretName: config-git-repos$' "$g"; then
  pass "configRepo.source=git: --repo-uri, label, refresh, credentials, ssh key, proxy URL and CA bundle from the Secret, ENCRYPT_KEY, the repos file from its Secret (--git-repos-file), mirrors; no ConfigMap"
else
  fail "configRepo.source=git wiring"
fi
if grep -A1 -- '- --repo$' "$d" | grep -q '/config-repo' && ! grep -q 'repo-uri' "$d" && ! grep -q 'ENCRYPT_KEY' "$d"; then
  pass "configRepo.source=configMap (default): --repo /config-repo, no git or encryption settings"
else
  fail "default config-repo wiring"
fi

# --- 3d. secured Kafka and PostgreSQL, extra volumes (issue 21) ------------------------------
s="$out/secured.yaml"
if [ -s "$s" ]; then
  # deploy NAME FILE: that Deployment's text
  deploy() { awk -v n="$1" 'BEGIN{RS="---\n"} /kind: Deployment/ && index($0, "name: cq-cqrs-ordering-" n "\n")' "$2"; }
  ok=1
  for c in customer-service order-service; do
    dep=$(deploy "$c" "$s")
    for want in 'name: KAFKA_CONFIG_PROPERTIES_SECURITY_PROTOCOL' 'value: "SASL_SSL"' \
                'name: KAFKA_CONFIG_PROPERTIES_SASL_MECHANISMS' 'value: "SCRAM-SHA-512"' \
                'name: KAFKA_CONFIG_PROPERTIES_SSL_CA_LOCATION' 'value: "/etc/cqrs-ordering/kafka-ca/ca.crt"' \
                'name: DATASOURCE_SSLROOTCERT' 'value: "/etc/cqrs-ordering/pg-tls/ca.crt"' \
                'name: DATASOURCE_SSLCERT' 'name: DATASOURCE_SSLKEY' 'value: "verify-full"' \
                'mountPath: /etc/cqrs-ordering/kafka-ca' 'mountPath: /etc/cqrs-ordering/pg-tls' \
                'name: kafka-ca-bundle' 'secretName: cqrs-pg-client'; do
      grep -qF -- "$want" <<<"$dep" || { fail "secured: $c lacks '$want'"; ok=0; }
    done
    for k in username password; do
      grep -A4 "name: KAFKA_CONFIG_PROPERTIES_SASL_${k^^}\$" <<<"$dep" | tr -d ' \n' |
        grep -q "valueFrom:secretKeyRef:name:cqrs-kafka-saslkey:$k" || { fail "secured: $c's SASL $k not from the Secret"; ok=0; }
    done
  done
  cs=$(deploy config-server "$s")
  grep -q 'mountPath: /etc/cqrs-ordering/extra-ca$' <<<"$cs" && grep -q 'name: extra-ca-bundle$' <<<"$cs" &&
    ! grep -q 'KAFKA_CONFIG_PROPERTIES' <<<"$cs" || { fail "secured: config-server's extra volume / no Kafka env"; ok=0; }
  grep -q 'name: LOG_LEVEL$' <<<"$(deploy order-service "$s")" && ! grep -q 'name: LOG_LEVEL$' <<<"$(deploy customer-service "$s")" &&
    ! grep -q 'extra-ca' <<<"$(deploy order-service "$s")" || { fail "secured: extraEnv / extraVolumes leak between programs"; ok=0; }
  cm=$(sed -n '/name: cq-cqrs-ordering-config-repo$/,/^---/p' "$s")
  ! grep -qi 'sasl\|security.protocol' <<<"$cm" || { fail "secured: Kafka security settings in the config-repo ConfigMap"; ok=0; }
  [ "$ok" = 1 ] && pass "secured (ci/secured-values.yaml): SASL_SSL + SCRAM, the SASL user and password from their Secret as kafka-config.properties.* env overrides (none in the ConfigMap), Kafka CA and PostgreSQL CA/client certificate paths, each program's extraVolumes/extraVolumeMounts/extraEnv in its own Deployment"
  if helm template cq "$chart" --kube-version "$KUBE_VERSION" -f "$chart/ci/secured-values.yaml" \
      --set externalKafka.sasl.username=cqrs-user --set externalKafka.securityProtocol=SASL_PLAINTEXT \
      --set externalKafka.sasl.mechanism=PLAIN --set externalKafka.ssl.caFile= 2>/dev/null |
      awk 'BEGIN{RS="---\n"} /kind: Deployment/ && /name: cq-cqrs-ordering-order-service\n/' >"$out/secured-user.yaml" &&
     grep -A1 'name: KAFKA_CONFIG_PROPERTIES_SASL_USERNAME$' "$out/secured-user.yaml" | grep -q 'value: "cqrs-user"' &&
     grep -A1 'name: KAFKA_CONFIG_PROPERTIES_SASL_MECHANISMS$' "$out/secured-user.yaml" | grep -q 'value: "PLAIN"' &&
     ! grep -q 'SSL_CA_LOCATION' "$out/secured-user.yaml"; then
    pass "secured: externalKafka.sasl.username as a value (a Strimzi KafkaUser's Secret holds only the password), SASL_PLAINTEXT without a CA"
  else
    fail "secured: externalKafka.sasl.username / SASL_PLAINTEXT variant"
  fi
fi
if ! grep -q 'KAFKA_CONFIG_PROPERTIES\|DATASOURCE_SSL' "$out/default.yaml" "$out/external.yaml"; then
  pass "without externalKafka/externalDatabase security values no Kafka security or DB TLS env is rendered"
else
  fail "Kafka security / DB TLS env rendered without being asked for"
fi

# --- 3e. observability and exposure kit (issue 21): all off by default -----------------------
# a python3 with PyYAML (Debian's python3-yaml, from scripts/setup.sh, when the python3 on PATH
# lacks it)
py=python3
python3 -c 'import yaml' 2>/dev/null || py=/usr/bin/python3
o="$out/observability.yaml"
if ! grep -Eq '^kind: (ServiceMonitor|PodMonitor|PrometheusRule|Ingress|HTTPRoute|HorizontalPodAutoscaler)$' "$d" &&
   ! grep -q 'grafana_dashboard\|topologySpreadConstraints\|cqrs-ordering/headless' "$d" &&
   [ "$(grep -c '^  replicas: ' "$d")" = 5 ]; then
  pass "observability kit off by default: no monitors, rules, dashboard, Ingress, HTTPRoute or HPA; every Deployment sets replicas"
else
  fail "default render carries parts of the observability kit"
fi
if [ -s "$o" ]; then
  # obj KIND NAME FILE: that object's text
  obj() { awk -v k="$1" -v n="$2" 'BEGIN{RS="---\n"} index($0, "kind: " k "\n") && index($0, "  name: " n "\n")' "$3"; }
  ok=1
  for c in config-server customer-service order-service; do
    sm=$(obj ServiceMonitor "cq-cqrs-ordering-$c" "$o")
    for want in "app.kubernetes.io/component: $c" 'release: kube-prometheus-stack' '- port: http' \
                'path: /metrics' 'scheme: http' 'interval: 15s' 'key: cqrs-ordering/headless' 'operator: DoesNotExist'; do
      grep -qF -- "$want" <<<"$sm" || { fail "ServiceMonitor $c lacks '$want'"; ok=0; }
    done
  done
  hl=$(obj Service cq-cqrs-ordering-config-server-headless "$o")
  grep -q 'cqrs-ordering/headless: "true"' <<<"$hl" || { fail "headless Service not labelled for the ServiceMonitor to skip"; ok=0; }
  [ "$ok" = 1 ] && pass "metrics.serviceMonitor: a ServiceMonitor per program (GET /metrics on port http, labels for the Prometheus), config-server's headless Service skipped"
  pr=$(obj PrometheusRule cq-cqrs-ordering "$o")
  missing=""
  for a in TargetDown ProcessRestarting ProjectionLagHigh ConsumerLagHigh ProjectionStalled DeadLetters \
           OutboxBacklogHigh OutboxPublishSlow OutboxPublishErrors RelayWithoutLeader KafkaDown \
           ConfigServerDegraded ConfigFetchFailing ConfigRejected ConfigVersionsDiverge HttpErrors; do
    grep -q "alert: CqrsOrdering$a\$" <<<"$pr" || missing="$missing $a"
  done
  if [ -z "$missing" ] && grep -q 'team: orders$' <<<"$pr" && grep -q 'release: kube-prometheus-stack$' <<<"$pr" &&
     grep -q 'pod=~\\"cq-cqrs-ordering-order-service-.\*\\"' <<<"$pr" &&
     ! grep -q CqrsOrderingConfigSnapshotStale <<<"$pr"; then
    pass "metrics.prometheusRule: $(grep -c '^ *- alert:' <<<"$pr") alerts (projection lag, outbox, DLQ, relay leader, Kafka, config), scoped to the release's pods"
  else
    fail "PrometheusRule: missing alerts:${missing:- none}, or labels / scoping"
  fi
  db=$(obj ConfigMap cq-cqrs-ordering-dashboard "$o")
  if grep -q 'grafana_dashboard: "1"' <<<"$db" && grep -q 'grafana_folder: cqrs-ordering' <<<"$db" &&
     sed -n '/^  cqrs-ordering.json: |-$/,$p' <<<"$db" | tail -n +2 | sed 's/^    //' |
       python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["uid"] == "cqrs-ordering" and d["panels"]' 2>/dev/null &&
     grep -q '"cq-cqrs-ordering"' <<<"$db" && ! grep -q '__FULLNAME__\|__NAMESPACE__' <<<"$db"; then
    pass "metrics.dashboard: the Grafana dashboard ConfigMap (grafana_dashboard: \"1\", valid JSON, the release's fullname filled in)"
  else
    fail "dashboard ConfigMap"
  fi
  # the kit's honesty: every metric its queries use is declared in the C sources
  helm template cq "$chart" --namespace cq --kube-version "$KUBE_VERSION" -f "$chart/ci/observability-values.yaml" \
    -f "$chart/ci/git-values.yaml" >"$out/observability-git.yaml" 2>/dev/null
  if "$py" "$root/tests/helm/check_metric_names.py" "$root" "$o" >"$out/metric-names.txt" 2>&1 &&
     grep -q 'alert: CqrsOrderingConfigSnapshotStale$' "$out/observability-git.yaml" &&
     "$py" "$root/tests/helm/check_metric_names.py" "$root" "$out/observability-git.yaml" >>"$out/metric-names.txt" 2>&1; then
    pass "alerts and dashboard use only exported metric names: $(head -n 1 "$out/metric-names.txt")"
  else
    fail "metric names of the alerts/dashboard"; sed 's/^/    /' "$out/metric-names.txt"
  fi
  sed 's/order_consumer_lag{/order_consumer_lag_records{/' "$o" >"$out/observability-badname.yaml"
  if ! "$py" "$root/tests/helm/check_metric_names.py" "$root" "$out/observability-badname.yaml" >"$out/metric-names-bad.txt" 2>&1 &&
     grep -q 'order_consumer_lag_records is not exported' "$out/metric-names-bad.txt"; then
    pass "the metric-name check rejects a name the programs do not export"
  else
    fail "the metric-name check accepted an unknown metric name"
  fi
  ig=$(obj Ingress cq-cqrs-ordering "$o")
  hr=$(obj HTTPRoute cq-cqrs-ordering "$o")
  if grep -q 'ingressClassName: nginx' <<<"$ig" && grep -q 'host: "api.cqrs.example.com"' <<<"$ig" &&
     grep -q 'secretName: cqrs-api-tls' <<<"$ig" &&
     [ "$(grep -A6 'path: /customers$' <<<"$ig" | grep -c 'name: cq-cqrs-ordering-customer-service$')" = 1 ] &&
     [ "$(grep -A6 'path: /orders$' <<<"$ig" | grep -c 'name: cq-cqrs-ordering-order-service$')" = 1 ] &&
     ! grep -q '/admin\|/metrics\|config-server' <<<"$ig" &&
     grep -q 'apiVersion: gateway.networking.k8s.io/v1$' <<<"$hr" && grep -q 'sectionName: https' <<<"$hr" &&
     grep -q -- '- api.cqrs.example.com' <<<"$hr" && [ "$(grep -c 'type: PathPrefix' <<<"$hr")" = 2 ] &&
     grep -A3 'value: /customers$' <<<"$hr" | grep -q 'name: cq-cqrs-ordering-customer-service$' &&
     grep -A3 'value: /orders$' <<<"$hr" | grep -q 'name: cq-cqrs-ordering-order-service$' &&
     grep -A4 'value: /orders$' <<<"$hr" | grep -q 'port: 8181$'; then
    pass "ingress / httpRoute: /customers to customer-service, /orders to order-service (no /admin, /metrics or config-server), class, hosts, TLS, parentRefs"
  else
    fail "Ingress / HTTPRoute rendering"
  fi
  ok=1
  for c in customer-service order-service; do
    dep=$(obj Deployment "cq-cqrs-ordering-$c" "$o")
    grep -q '^  replicas:' <<<"$dep" && { fail "$c: replicas set although its HPA is on"; ok=0; }
    grep -q 'name: cq-cqrs-ordering-'"$c"'$' <<<"$(obj HorizontalPodAutoscaler "cq-cqrs-ordering-$c" "$o")" ||
      { fail "$c: no HPA"; ok=0; }
    grep -A8 'topologySpreadConstraints:' <<<"$dep" | grep -q "app.kubernetes.io/component: $c\$" ||
      { fail "$c: topologySpreadConstraints without its pods' labelSelector"; ok=0; }
  done
  grep -q '^  replicas: 1$' <<<"$(obj Deployment cq-cqrs-ordering-config-server "$o")" || { fail "config-server lost its replicas"; ok=0; }
  hpa=$(obj HorizontalPodAutoscaler cq-cqrs-ordering-customer-service "$o")
  grep -q 'minReplicas: 2$' <<<"$hpa" && grep -q 'maxReplicas: 4$' <<<"$hpa" && grep -B3 'averageUtilization: 75$' <<<"$hpa" | grep -q 'name: memory' ||
    { fail "customer-service HPA bounds / memory target"; ok=0; }
  [ "$(grep -A9 'topologySpreadConstraints:' <<<"$(obj Deployment cq-cqrs-ordering-order-service "$o")" | grep -c 'app.kubernetes.io/')" = 1 ] ||
    { fail "order-service: a given labelSelector was not kept as is"; ok=0; }
  [ "$ok" = 1 ] && pass "autoscaling: an HPA per service that asks (its Deployment leaves replicas to it); topologySpreadConstraints with the program's labelSelector unless given"
  np=$(awk '/^kind: NetworkPolicy$/{p=1} /^---/{p=0} p' "$o" | awk '/name: cq-cqrs-ordering-config-server$/{p=1} /^kind:/{if (p) exit} p')
  if grep -q 'kubernetes.io/metadata.name: monitoring' <<<"$np"; then
    pass "metrics.scrapeFrom: the Prometheus may reach config-server's http port (NetworkPolicy)"
  else
    fail "metrics.scrapeFrom not in config-server's NetworkPolicy"
  fi
fi
# the alert rules and the dashboard's queries parse, and the alerts fire when they should
# (tests/helm/alerts_test.yml): with promtool, which scripts/setup.sh unpacks into .stack/bin
if command -v promtool >/dev/null; then
  mkdir -p "$out/promtool"
  if "$py" "$root/tests/helm/check_metric_names.py" "$root" "$out/observability-git.yaml" \
       --write-rules "$out/promtool/all.yml" >/dev/null 2>&1 &&
     promtool check rules "$out/promtool/all.yml" >"$out/promtool/check.txt" 2>&1; then
    pass "promtool check rules: $(grep -o '[0-9]* rules found' "$out/promtool/check.txt") (the alerts and the dashboard's queries parse)"
  else
    fail "promtool check rules"; sed 's/^/    /' "$out/promtool/check.txt"
  fi
  # the rule as the test file expects it: release cq, namespace cq, no extra labels
  cp "$root/tests/helm/alerts_test.yml" "$out/promtool/"
  if helm template cq "$chart" --namespace cq --kube-version "$KUBE_VERSION" --set metrics.prometheusRule.enabled=true \
       2>/dev/null >"$out/promtool/rendered.yaml" &&
     "$py" -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if isinstance(d, dict) and d.get("kind") == "PrometheusRule":
        yaml.safe_dump({"groups": d["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)' \
       "$out/promtool/rendered.yaml" "$out/promtool/rules.yml" &&
     promtool test rules "$out/promtool/alerts_test.yml" >"$out/promtool/test.txt" 2>&1; then
    pass "promtool test rules: $(grep -c '^  - interval:' "$root/tests/helm/alerts_test.yml") alert scenarios (no relay leader ever, first dead letter, stalled projection, lag p99, Kafka down, config refused) as expected"
  else
    fail "promtool test rules (tests/helm/alerts_test.yml)"; sed 's/^/    /' "$out/promtool/test.txt"
  fi
else
  echo "SKIP: promtool not found (scripts/setup.sh unpacks it into .stack/bin): alert rules not parsed or unit-tested"
fi
KC_SKIP=$crds render podmonitor --set metrics.podMonitor.enabled=true --set tls.enabled=true \
  --set tls.existingSecret=cqrs-tls --set metrics.podMonitor.tlsConfig.serverName=cqrs
p="$out/podmonitor.yaml"
if [ -s "$p" ] && [ "$(grep -c '^kind: PodMonitor$' "$p")" = 3 ] && [ "$(grep -c 'podMetricsEndpoints:' "$p")" = 3 ] &&
   [ "$(grep -c 'scheme: https$' "$p")" = 3 ] && [ "$(grep -c 'serverName: cqrs$' "$p")" = 3 ] &&
   ! grep -q 'kind: ServiceMonitor\|cqrs-ordering/headless' "$p"; then
  pass "metrics.podMonitor: a PodMonitor per program instead, HTTPS with its tlsConfig under tls.enabled"
else
  fail "metrics.podMonitor rendering"
fi
if grep -q '^home: ' "$chart/Chart.yaml" && grep -q '^sources:' "$chart/Chart.yaml" &&
   grep -q '^maintainers:' "$chart/Chart.yaml" && [ -s "$root/LICENSE" ]; then
  pass "Chart.yaml has home, sources and maintainers; the repository has a LICENSE"
else
  fail "Chart.yaml home/sources/maintainers or LICENSE missing"
fi

# --- 4. negative checks ----------------------------------------------------------------------
reject() { # reject LABEL EXPECTED-TEXT [helm args...]: helm template must fail with that text
  local label=$1 want=$2; shift 2
  local msg
  if msg=$(helm template cq "$chart" --kube-version "$KUBE_VERSION" "$@" 2>&1 >/dev/null); then
    fail "$label: accepted"
  elif grep -q -- "$want" <<<"$msg"; then
    pass "$label: rejected ($(grep -v 'symbolic link' <<<"$msg" | grep -- "$want" | head -n 1 | sed 's/^[ -]*//'))"
  else
    fail "$label: failed, but not with '$want': $msg"
  fi
}
reject "schema: replicaCount -1" "minimum" --set services.orderService.replicaCount=-1
reject "schema: port as a string" "want integer" --set-string services.customerService.port=8184
reject "schema: port 70000" "maximum" --set services.configServer.port=70000
reject "schema: unknown service type" "must be one of" --set services.orderService.service.type=Public
reject "schema: unknown top-level key" "additional properties" --set replicas=2
reject "schema: kafka.enabled=false without bootstrap servers" "bootstrapServers" --set kafka.enabled=false
reject "schema: postgresql.enabled=false without host" "host" --set postgresql.enabled=false
reject "template: external DB without password or Secret" "externalDatabase.password" \
  --set postgresql.enabled=false --set externalDatabase.host=db
reject "schema: configRepo.source=git without a uri" "uri" --set configRepo.source=git
reject "schema: unknown configRepo.source" "must be one of" --set configRepo.source=svn
reject "schema: a Kafka setting that is not KAFKA_*" "does not match" --set kafka.extraEnv.LOG_DIRS=/x
reject "schema: tls.clientAuth maybe" "must be one of" --set tls.clientAuth=maybe
reject "template: cert-manager without an issuer" "issuerRef.name" --set tls.enabled=true --set tls.certManager.enabled=true
reject "schema: unknown auth key" "additional properties" --set auth.clientUser=x
ext=(--set kafka.enabled=false --set externalKafka.bootstrapServers=k:9093)
reject "schema: unknown Kafka security protocol" "must be one of" "${ext[@]}" --set externalKafka.securityProtocol=TLS
reject "schema: unknown SASL mechanism" "must be one of" "${ext[@]}" --set externalKafka.sasl.mechanism=GSSAPI
reject "schema: relative Kafka CA path" "does not match" "${ext[@]}" --set externalKafka.ssl.caFile=ca.crt
reject "schema: relative sslrootcert path" "does not match" --set externalDatabase.sslrootcert=ca.crt
reject "schema: extraVolumeMounts without mountPath" "mountPath" --set 'services.orderService.extraVolumeMounts[0].name=x'
reject "template: SASL_SSL without the credentials' Secret" "externalKafka.sasl.existingSecret" "${ext[@]}" \
  --set externalKafka.securityProtocol=SASL_SSL --set externalKafka.sasl.mechanism=PLAIN
reject "template: SASL_SSL without a mechanism" "externalKafka.sasl.mechanism" "${ext[@]}" \
  --set externalKafka.securityProtocol=SASL_SSL --set externalKafka.sasl.existingSecret=s
reject "template: SASL settings with PLAINTEXT" "needs externalKafka.securityProtocol SASL_SSL" "${ext[@]}" \
  --set externalKafka.sasl.existingSecret=s
reject "template: a Kafka CA without TLS" "needs externalKafka.securityProtocol SSL or SASL_SSL" "${ext[@]}" \
  --set externalKafka.securityProtocol=SASL_PLAINTEXT --set externalKafka.sasl.mechanism=PLAIN \
  --set externalKafka.sasl.existingSecret=s --set externalKafka.ssl.caFile=/ca.crt
reject "template: Kafka security with the bundled broker" "apply to an external Kafka" \
  --set externalKafka.securityProtocol=SSL
reject "template: a Kafka client certificate without its key" "go together" "${ext[@]}" \
  --set externalKafka.securityProtocol=SSL --set externalKafka.ssl.certFile=/c.crt
reject "template: sslcert without sslkey" "go together" --set postgresql.enabled=false \
  --set externalDatabase.host=db --set externalDatabase.password=x --set externalDatabase.sslcert=/c.crt
reject "template: sslrootcert with the bundled PostgreSQL" "apply to an external PostgreSQL" \
  --set externalDatabase.sslrootcert=/ca.crt
reject "template: serviceMonitor and podMonitor together" "choose one" \
  --set metrics.serviceMonitor.enabled=true --set metrics.podMonitor.enabled=true
reject "schema: httpRoute without parentRefs" "parentRefs" --set httpRoute.enabled=true
reject "schema: unknown ingress pathType" "must be one of" --set ingress.pathType=Regex
reject "schema: a relative ingress path" "does not match" --set 'ingress.paths.orderService[0]=orders'
reject "template: autoscaling without a target" "targetCPUUtilizationPercentage" \
  --set services.orderService.autoscaling.enabled=true --set services.orderService.autoscaling.targetCPUUtilizationPercentage=0
reject "schema: topologySpreadConstraints without topologyKey" "topologyKey" \
  --set 'services.orderService.topologySpreadConstraints[0].maxSkew=1' \
  --set 'services.orderService.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway'
reject "schema: unknown alert threshold" "additional properties" --set metrics.prometheusRule.thresholds.lag=1
if helm template cq "$chart" --kube-version "$KUBE_VERSION" --set metrics.prometheusRule.enabled=true \
    --set 'metrics.prometheusRule.disabled={CqrsOrderingRelayLeaders,CqrsOrderingHttpErrors}' 2>/dev/null |
    awk 'BEGIN{RS="---\n"} /kind: PrometheusRule\n/' >"$out/rule-disabled.yaml" &&
   grep -q 'alert: CqrsOrderingKafkaDown$' "$out/rule-disabled.yaml" &&
   ! grep -q 'CqrsOrderingRelayLeaders\|CqrsOrderingHttpErrors' "$out/rule-disabled.yaml"; then
  pass "metrics.prometheusRule.disabled drops the named alerts, keeps the others"
else
  fail "metrics.prometheusRule.disabled"
fi
if [ -s "$d" ]; then
  sed 's/containerPort: 8888/containerPort: "http-port"/' "$d" >"$out/broken.yaml"
  if kubeconform -strict -kubernetes-version "$KUBE_VERSION" \
      -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$out/broken.yaml" \
      >"$out/kubeconform-broken.txt" 2>&1; then
    fail "kubeconform accepted a string containerPort"
  else
    pass "kubeconform rejects a string containerPort"
  fi
  sed 's/^      serviceAccountName:/      serviceAccountNam:/' "$d" >"$out/broken2.yaml"
  if kubeconform -strict -kubernetes-version "$KUBE_VERSION" \
      -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$out/broken2.yaml" \
      >/dev/null 2>&1; then
    fail "kubeconform -strict accepted an unknown field"
  else
    pass "kubeconform -strict rejects an unknown field"
  fi
fi

# --- 5. Dockerfile COPY sources --------------------------------------------------------------
if bash "$root/tests/helm/test_dockerfile_paths.sh" >"$out/dockerfile-paths.txt" 2>&1; then
  pass "Dockerfile COPY sources exist ($(tail -n 1 "$out/dockerfile-paths.txt"))"
else
  fail "Dockerfile COPY sources"; sed 's/^/    /' "$out/dockerfile-paths.txt"
fi

echo "helm-check: done in $(elapsed "$t0"); output in ${out#"$root"/}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
