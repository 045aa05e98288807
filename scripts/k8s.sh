#!/usr/bin/env bash
# k8s.sh — a real single-node Kubernetes v1.34 cluster on this machine, for the chart's tests
# (tests/k8s/test_k8s.sh) and for trying the chart by hand (helm/README.md).
#
#   scripts/k8s.sh up       build or take the binaries (scripts/k8s/build.sh, cached), build the
#                           images (scripts/k8s/images.sh) and start the cluster; prints the
#                           kubeconfig's path
#   scripts/k8s.sh down     stop everything `up` started: pods (CNI teardown), kubelet, the
#                           control plane, etcd, containerd; removes the bridge, the iptables
#                           rules, the mounts and cgroups it made. Images stay cached on disk.
#   scripts/k8s.sh status   what runs, the node and every pod
#   scripts/k8s.sh kubectl ARGS...   kubectl against the cluster
#
# What runs (all as root, each with a pid file and a log in $CQ_K8S_DIR/{run,logs}):
#   etcd (Debian's etcd-server, 127.0.0.1:2479), kube-apiserver (:6443), controller-manager,
#   scheduler, kubelet (on a private containerd at /run/cqrs-k8s/containerd.sock, runc,
#   cgroupfs, the CNI bridge plugin on 10.244.0.0/16), kube-proxy (iptables), kube-router's
#   network-policy controller (iptables + ipset: the bridge plugin does not enforce
#   NetworkPolicies by itself), the local volume provisioner (default StorageClass `local`)
#   and CoreDNS (10.96.0.10) as a pod.
#   Images, all built here (no registry is used): the project's cqrs-ordering:0.1.0, a pause
#   image, CoreDNS, and stand-ins for apache/kafka, postgres and curlimages/curl built from
#   the Maven Central jars and Debian packages, tagged as the chart's values name them.
#   `up` starts a fresh cluster (new etcd data) each time; the PKI and the image store stay.
#
# Needs root and Debian packages containerd runc etcd-server containernetworking-plugins
# conntrack iptables ipset openssl (scripts/setup.sh --k8s), Go >= 1.24 and a Docker engine.
# Env: CQ_K8S_DIR (default <repo>/.stack/k8s), CQ_K8S_CACHE (scripts/k8s/build.sh),
#      CQ_K8S_HOST_IP (default: the address of the default route).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CQ_K8S_DIR:-$root/.stack/k8s}
run=/run/cqrs-k8s
pki=$dir/pki
logs=$dir/logs
pids=$dir/run
bin=$dir/bin
node=cqrs-k8s
pod_cidr=10.244.0.0/16
svc_cidr=10.96.0.0/16
dns_ip=10.96.0.10
bridge=cqk8s0
ctr_sock=$run/containerd.sock
kubeconfig=$dir/admin.kubeconfig

say() { printf 'k8s: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }

host_ip() {
  [ -n "${CQ_K8S_HOST_IP:-}" ] && { echo "$CQ_K8S_HOST_IP"; return; }
  ip -4 route get 1.1.1.1 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit } }'
}

kc() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

pid_alive() { [ -f "$pids/$1.pid" ] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }

# start NAME CMD...: a daemon in its own session, its fds 3-9 closed (a caller's flock stays
# with the caller), stdout+stderr to logs/NAME.log.
start() {
  local name=$1; shift
  pid_alive "$name" && { say "$name already running"; return 0; }
  setsid "$@" </dev/null >"$logs/$name.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  echo $! >"$pids/$name.pid"
}

# stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (10).
stop() {
  local name=$1 t=${2:-10} pid
  [ -f "$pids/$name.pid" ] || return 0
  pid=$(cat "$pids/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((t * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { say "$name did not stop in ${t}s: SIGKILL"; kill -9 "$pid" 2>/dev/null || true; }
    say "$name stopped"
  fi
  rm -f "$pids/$name.pid"
}

# wait_for WHAT SECONDS CMD...: until CMD succeeds; on timeout the last lines of WHAT's log.
wait_for() {
  local what=$1 t=$2 end=$((SECONDS + $2)); shift 2
  while [ "$SECONDS" -lt "$end" ]; do
    "$@" >/dev/null 2>&1 && return 0
    if [ -f "$pids/$what.pid" ] && ! pid_alive "$what"; then break; fi
    sleep 0.5
  done
  [ -f "$logs/$what.log" ] && tail -n 25 "$logs/$what.log" >&2
  die "$what is not ready after ${t}s (log: $logs/$what.log)"
}

need_tools() {
  [ "$(id -u)" = 0 ] || die "needs root (kubelet, containerd, iptables)"
  local t missing=()
  for t in containerd containerd-shim-runc-v2 runc etcd conntrack iptables ipset openssl ctr ip; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  [ ${#missing[@]} = 0 ] || die "missing: ${missing[*]} (scripts/setup.sh --k8s)"
}

# ---------------------------------------------------------------- PKI and kubeconfigs
cert() { # cert NAME CN [O] [SANS]
  local name=$1 cn=$2 o=${3:-} sans=${4:-} ext
  [ -f "$pki/$name.crt" ] && return 0
  ext=$(mktemp)
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' >"$ext"
  [ -n "$sans" ] && printf 'subjectAltName=%s\n' "$sans" >>"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/$name.key" \
    -subj "/CN=$cn${o:+/O=$o}" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$ext" "$pki/$name.csr"
}

kubeconfig_file() { # kubeconfig_file OUT CERT
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $node
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority: $pki/ca.crt
users:
  - name: $2
    user:
      client-certificate: $pki/$2.crt
      client-key: $pki/$2.key
contexts:
  - name: $node
    context: {cluster: $node, user: $2}
current-context: $node
EOF
}

make_pki() {
  local ip=$1
  mkdir -p "$pki"
  # a new host address means a new apiserver certificate
  if [ -f "$pki/host-ip" ] && [ "$(cat "$pki/host-ip")" != "$ip" ]; then rm -f "$pki/apiserver.crt"; fi
  if [ ! -f "$pki/ca.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=cqrs-k8s-ca" 2>/dev/null
    rm -f "$pki"/*.crt.old
  fi
  [ -f "$pki/sa.key" ] || { openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null; openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null; }
  cert apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:$ip,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin cqrs-k8s-admin system:masters
  cert node "system:node:$node" system:nodes
  echo "$ip" >"$pki/host-ip"
  kubeconfig_file "$kubeconfig" admin
  kubeconfig_file "$dir/node.kubeconfig" node
}

# ---------------------------------------------------------------- containerd and images
containerd_up() {
  mkdir -p "$run" "$dir/containerd" "$dir/cni"
  cat >"$dir/containerd.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$ctr_sock"
[ttrpc]
  address = "$run/containerd.ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # no OOM score below containerd's own: root may lack CAP_SYS_RESOURCE (this machine's VM
  # does), and runc then fails the sandboxes' -998 with "can't get final child's PID"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
EOF
  cat >"$dir/cni/10-cqrs-k8s.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "cqrs-k8s",
  "plugins": [
    {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  start containerd containerd --config "$dir/containerd.toml"
  wait_for containerd 30 ctr -a "$ctr_sock" version
}

# Images: built with Docker (scripts/k8s/images.sh), imported into containerd's k8s.io
# namespace unless the same image ids were imported before (images.txt).
images_up() {
  local want have=""
  # shellcheck source=k8s/images.sh
  . "$root/scripts/k8s/images.sh"
  docker_ensure >&2 || die "no Docker engine for the images"
  docker_base >&2 || { docker_release; die "no Debian 12 base image"; }
  images_build "$bin" >&2 || { docker_release; die "image build failed (logs in $images_work)"; }
  want=$(for i in "${IMAGES_ALL[@]}"; do echo "$i $(docker image inspect -f '{{.Id}}' "$i")"; done)
  [ -f "$dir/images.txt" ] && have=$(cat "$dir/images.txt")
  local present; present=$(ctr -a "$ctr_sock" -n k8s.io images ls -q 2>/dev/null | wc -l)
  if [ "$want" = "$have" ] && [ "$present" -ge "${#IMAGES_ALL[@]}" ]; then
    say "images already in containerd"
  else
    local t0; t0=$(date +%s)
    docker save "${IMAGES_ALL[@]}" | ctr -a "$ctr_sock" -n k8s.io images import - >/dev/null ||
      { docker_release; die "ctr images import failed"; }
    echo "$want" >"$dir/images.txt"
    say "images imported into containerd in $(($(date +%s) - t0)) s"
  fi
  docker_release
}

# ---------------------------------------------------------------- the cluster
kubelet_config() {
  cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$ctr_sock
clusterDNS: [$dns_ip]
clusterDomain: cluster.local
failSwapOn: false
failCgroupV1: false
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
maxPods: 60
# 0, not -999: lowering it needs CAP_SYS_RESOURCE (see containerd.toml)
oomScoreAdj: 0
EOF
}

cmd_up() {
  need_tools
  local ip t0; t0=$(date +%s)
  ip=$(host_ip); [ -n "$ip" ] || die "no host address (set CQ_K8S_HOST_IP)"
  mkdir -p "$dir" "$logs" "$pids" "$bin" "$run"
  if pid_alive kube-apiserver; then say "already up"; echo "$kubeconfig"; return 0; fi
  # the leftovers of an `up` that did not finish (or of a crash) go first
  local p
  for p in containerd etcd kube-controller-manager kube-scheduler kubelet kube-proxy kube-router local-provisioner; do
    if pid_alive "$p"; then say "$p runs without an apiserver: down first"; cmd_down; break; fi
  done
  say "binaries: scripts/k8s/build.sh"
  "$root/scripts/k8s/build.sh" "$bin" >/dev/null
  for p in kubectl kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy local-provisioner; do
    ln -sfn kube "$bin/$p"
  done
  make_pki "$ip"
  sysctl -qw net.ipv4.ip_forward=1
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  # a Docker engine sets FORWARD's policy to DROP: let the pod network through
  for d in -s -d; do
    iptables -C FORWARD "$d" "$pod_cidr" -j ACCEPT 2>/dev/null || iptables -I FORWARD "$d" "$pod_cidr" -j ACCEPT
  done
  containerd_up
  images_up

  rm -rf "$dir/etcd"
  start etcd etcd --name "$node" --data-dir "$dir/etcd" --listen-client-urls http://127.0.0.1:2479 \
    --advertise-client-urls http://127.0.0.1:2479 --listen-peer-urls http://127.0.0.1:2480 \
    --initial-advertise-peer-urls http://127.0.0.1:2480 --initial-cluster "$node=http://127.0.0.1:2480" \
    --quota-backend-bytes 2147483648
  wait_for etcd 30 curl -sf http://127.0.0.1:2479/health
  start kube-apiserver "$bin/kube-apiserver" --etcd-servers http://127.0.0.1:2479 \
    --advertise-address "$ip" --bind-address 0.0.0.0 --secure-port 6443 \
    --service-cluster-ip-range "$svc_cidr" --tls-cert-file "$pki/apiserver.crt" \
    --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --profiling=false --v=1
  wait_for kube-apiserver 90 kc get --raw /readyz
  start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$kubeconfig" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials --service-cluster-ip-range "$svc_cidr" \
    --leader-elect=false --bind-address 127.0.0.1 --profiling=false --v=1
  start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$kubeconfig" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --profiling=false --v=1
  kubelet_config
  mkdir -p "$dir/kubelet"
  start kubelet "$bin/kubelet" --config "$dir/kubelet.yaml" --kubeconfig "$dir/node.kubeconfig" \
    --root-dir "$dir/kubelet" --cert-dir "$pki/kubelet" --hostname-override "$node" --node-ip "$ip" --v=1
  start kube-proxy "$bin/kube-proxy" --kubeconfig "$kubeconfig" --hostname-override "$node" \
    --proxy-mode iptables --cluster-cidr "$pod_cidr" --conntrack-max-per-core 0 --oom-score-adj 0 \
    --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 \
    --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256 --v=1
  mkdir -p "$dir/volumes"
  start local-provisioner "$bin/local-provisioner" --kubeconfig "$kubeconfig" --node "$node" --dir "$dir/volumes"
  wait_for kubelet 120 kc wait --for=condition=Ready "node/$node" --timeout=2s
  # NetworkPolicies: kube-router with only its firewall (no routing, no service proxy, no CNI);
  # it looks its node up at start, so after the node registered
  start kube-router "$bin/kube-router" --kubeconfig "$kubeconfig" --hostname-override "$node" \
    --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
    --service-cluster-ip-range "$svc_cidr" --health-port=0 --metrics-port=0 --v=1
  sleep 2
  pid_alive kube-router || { tail -n 5 "$logs/kube-router.log" >&2; die "kube-router exited (log: $logs/kube-router.log)"; }
  sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|" -e "s|@DNS_IP@|$dns_ip|" "$root/scripts/k8s/addons.yaml" |
    kc apply -f - >/dev/null
  wait_for kube-apiserver 120 kc -n kube-system rollout status deploy/coredns --timeout=2s
  say "cluster up in $(($(date +%s) - t0)) s: node $node ($ip), kubeconfig $kubeconfig"
  echo "$kubeconfig"
}

# cleanup of what kubelet/containerd leave when they are stopped: mounts below a dir
umount_below() {
  local m
  for m in $(awk -v d="$1" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

cmd_down() {
  [ "$(id -u)" = 0 ] || die "needs root"
  mkdir -p "$pids"
  if pid_alive kube-apiserver && pid_alive kubelet && [ -x "$bin/kubectl" ]; then
    # the graceful way: kubelet stops every pod through the CRI (CNI teardown included)
    kc delete deploy,sts,ds,rs,job --all -A --wait=false >/dev/null 2>&1 || true
    kc delete pods --all -A --grace-period=5 --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
      [ "$(ctr -a "$ctr_sock" -n k8s.io tasks ls -q 2>/dev/null | wc -l)" = 0 ] && break
      sleep 1
    done
  fi
  stop local-provisioner
  stop kubelet
  stop kube-router
  stop kube-proxy
  [ -x "$bin/kube-proxy" ] && "$bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  stop kube-scheduler
  stop kube-controller-manager
  stop kube-apiserver 30
  stop etcd
  # whatever is still running in containerd: killed and removed
  if [ -S "$ctr_sock" ] && pid_alive containerd; then
    local t
    for t in $(ctr -a "$ctr_sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -a "$ctr_sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
    sleep 1
    for t in $(ctr -a "$ctr_sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -a "$ctr_sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
    for t in $(ctr -a "$ctr_sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr -a "$ctr_sock" -n k8s.io containers delete "$t" >/dev/null 2>&1 || true
    done
  fi
  stop containerd 20
  # shims outlive containerd; they belong to this cluster when they use its state dir
  local p
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $ctr_sock" 2>/dev/null || true); do kill -9 "$p" 2>/dev/null || true; done
  umount_below "$dir/kubelet"
  umount_below "$run/"
  umount_below "$dir/containerd/"
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ { print $1 }'); do ip netns delete "$ns" 2>/dev/null || true; done
  ip link delete "$bridge" 2>/dev/null || true
  rm -rf /var/lib/cni/networks/cqrs-k8s /var/lib/cni/results/cqrs-k8s-*
  # the bridge plugin's masquerade chains (named CNI-<hash>, commented with our network name)
  { iptables -t nat -S POSTROUTING 2>/dev/null | grep 'name: "cqrs-k8s"' || true; } | sed 's/^-A/-D/' |
    while read -r rule; do eval "iptables -t nat $rule" 2>/dev/null || true; done
  for c in $(iptables -t nat -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ { print $2 }'); do
    iptables -t nat -F "$c" 2>/dev/null && iptables -t nat -X "$c" 2>/dev/null || true
  done
  for d in -s -d; do iptables -D FORWARD "$d" "$pod_cidr" -j ACCEPT 2>/dev/null || true; done
  # what kubelet adds besides kube-proxy's rules (KUBE-FIREWALL, canaries): gone too
  local ipt tab rule
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for tab in filter nat mangle; do
      { "$ipt" -t "$tab" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j KUBE-' || true; } | sed 's/^-A/-D/' |
        while read -r rule; do eval "$ipt -t $tab $rule" 2>/dev/null || true; done
      for c in $("$ipt" -t "$tab" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }'); do
        "$ipt" -t "$tab" -F "$c" 2>/dev/null || true
      done
      for c in $("$ipt" -t "$tab" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }'); do
        "$ipt" -t "$tab" -X "$c" 2>/dev/null || true
      done
    done
  done
  # the pods' cgroups (cgroup v1: one tree per controller; v2: one)
  # kube-router's ipsets (KUBE-SRC-…, KUBE-DST-…), free once no rule refers to them
  if command -v ipset >/dev/null; then
    for c in $(ipset list -n 2>/dev/null | grep '^KUBE-'); do ipset destroy "$c" 2>/dev/null || true; done
  fi
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods.slice; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$dir/kubelet" "$dir/etcd" "$run"
  say "down"
}

cmd_status() {
  local p rc=0
  for p in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-router local-provisioner; do
    if pid_alive "$p"; then printf '%-24s running (pid %s)\n' "$p" "$(cat "$pids/$p.pid")"; else printf '%-24s stopped\n' "$p"; rc=1; fi
  done
  if pid_alive kube-apiserver; then
    echo "kubeconfig: $kubeconfig"
    kc get nodes -o wide || rc=1
    kc get pods -A -o wide || rc=1
  fi
  return $rc
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kubectl) shift; kc "$@" ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
