#!/usr/bin/env bash
# dockerfile_sim.sh — run the Dockerfile without a Docker engine, to check that it really builds:
# each stage's base image is replaced by a Debian 12 (bookworm) minbase root made with
# debootstrap (the closest thing to debian:12 / debian:12-slim that Debian's own packages give).
# Each RUN is run in a chroot of its stage, and each COPY copies from the build context or from
# the build stage's root. The build context is `git archive HEAD` (what a clean clone holds),
# and .dockerignore is applied by leaving out the paths it lists.
# Then it checks that the runtime root has the three programs and that every shared library
# they need resolves (ldd). It also checks that each program runs as the image's USER and
# answers --version.
#
# Needs root, debootstrap (apt-get install debootstrap) and Debian's package mirror. It takes
# about 1-3 minutes, and the base root is cached in .stack/dockerfile-sim/. It is not a ctest
# test: run it by hand or in CI when the Dockerfile changes.
# Usage: tests/helm/dockerfile_sim.sh [--keep]   (--keep leaves the stage roots for inspection)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work="$root/.stack/dockerfile-sim"
keep=0
case "${1:-}" in
  --keep) keep=1 ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) echo "dockerfile_sim: unknown argument '$1'" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "dockerfile_sim: needs root (chroot, debootstrap)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "dockerfile_sim: apt-get install debootstrap" >&2; exit 2; }

mkdir -p "$work"
base="$work/base"
if [ ! -x "$base/bin/sh" ]; then
  echo "dockerfile_sim: debootstrap --variant=minbase bookworm (once)"
  rm -rf "$base"
  debootstrap --variant=minbase bookworm "$base" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log"; exit 1; }
  printf '%s\n' 'deb http://deb.debian.org/debian bookworm main' \
    'deb http://deb.debian.org/debian bookworm-updates main' \
    'deb http://deb.debian.org/debian-security bookworm-security main' >"$base/etc/apt/sources.list"
fi

ctx="$work/context"
rm -rf "$ctx" "$work/stage-"*
mkdir -p "$ctx"
git -C "$root" archive HEAD | tar -x -C "$ctx"
if [ -f "$ctx/.dockerignore" ]; then
  while IFS= read -r p; do
    p=${p%%#*}; p=${p%"${p##*[![:space:]]}"}; p=${p#/}
    [ -n "$p" ] || continue
    (cd "$ctx" && shopt -s globstar nullglob && for m in $p; do rm -rf -- "$m"; done)
  done <"$ctx/.dockerignore"
fi

declare -A stage_root=()
stage=""
wd=/
user=""
cleanup() {
  for r in "${stage_root[@]}"; do umount "$r/proc" 2>/dev/null || true; done
  [ "$keep" = 1 ] || rm -rf "$work/stage-"*
}
trap cleanup EXIT

instructions=$(sed -e 's/[[:space:]]*#.*$//' "$ctx/Dockerfile" | awk '
  /\\$/ { sub(/\\$/, ""); buf = buf $0 " "; next }
  { print buf $0; buf = "" }' | sed -e 's/^[[:space:]]*//' -e '/^$/d')
t0=$(date +%s)
while IFS= read -r line; do
  read -r -a w <<<"$line"
  case "${w[0]^^}" in
    ARG) ;;
    FROM)
      stage=${w[3]:-stage$RANDOM}
      stage_root[$stage]="$work/stage-$stage"
      cp -a "$base" "${stage_root[$stage]}"
      cp /etc/resolv.conf "${stage_root[$stage]}/etc/resolv.conf"
      wd=/; user=""
      echo "== stage $stage (${w[1]} -> debootstrap bookworm minbase)" ;;
    WORKDIR) wd=${w[1]}; mkdir -p "${stage_root[$stage]}$wd" ;;
    ENV) ;;
    USER) user=${w[1]} ;;
    RUN)
      echo "-- RUN ${line:4:90}..."
      mount -t proc proc "${stage_root[$stage]}/proc"
      chroot "${stage_root[$stage]}" /usr/bin/env -i HOME=/root \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        sh -c "cd $wd && ${line:4}" >"$work/run.log" 2>&1 ||
        { tail -n 30 "$work/run.log"; echo "dockerfile_sim: FAIL: RUN failed in stage $stage"; exit 1; }
      umount "${stage_root[$stage]}/proc" ;;
    COPY|ADD)
      from=""; args=()
      for x in "${w[@]:1}"; do
        case "$x" in --from=*) from=${x#--from=} ;; --*) ;; *) args+=("$x") ;; esac
      done
      n=${#args[@]}; dst=${args[n-1]}
      case "$dst" in /*) ;; *) dst="$wd/$dst" ;; esac
      for s in "${args[@]:0:n-1}"; do
        if [ -n "$from" ]; then src="${stage_root[$from]}$s"; else src="$ctx/${s%/}"; fi
        [ -e "$src" ] || { echo "dockerfile_sim: FAIL: COPY source $s missing"; exit 1; }
        echo "-- COPY ${from:+--from=$from }$s -> $dst"
        if [ -d "$src" ]; then
          mkdir -p "${stage_root[$stage]}$dst"; cp -a "$src/." "${stage_root[$stage]}$dst"
        else
          case "$dst" in */) mkdir -p "${stage_root[$stage]}$dst" ;; esac
          cp -a "$src" "${stage_root[$stage]}$dst"
        fi
      done ;;
    *) ;;
  esac
done <<<"$instructions"

final=${stage_root[$stage]}
fails=0
for prog in config-server customer-service order-service; do
  if [ ! -x "$final/usr/local/bin/$prog" ]; then
    echo "FAIL: /usr/local/bin/$prog missing in the final stage"; fails=$((fails + 1)); continue
  fi
  missing=$(chroot "$final" ldd "/usr/local/bin/$prog" | grep 'not found' || true)
  if [ -n "$missing" ]; then
    echo "FAIL: $prog: unresolved libraries: $missing"; fails=$((fails + 1))
  else
    echo "PASS: $prog: all $(chroot "$final" ldd "/usr/local/bin/$prog" | grep -c '=>') shared libraries resolve"
  fi
  if out=$(chroot --userspec="${user:-0}" "$final" "/usr/local/bin/$prog" --version 2>&1); then
    echo "PASS: $prog --version as USER ${user:-root}: $out"
  else
    echo "FAIL: $prog --version as USER ${user:-root}: $out"; fails=$((fails + 1))
  fi
done
echo "dockerfile_sim: $(( $(date +%s) - t0 ))s; final stage $(du -sh "$final" | cut -f1) (minbase, not slim)"
[ "$fails" = 0 ] && echo "dockerfile_sim: OK"
[ "$fails" = 0 ]
