#!/usr/bin/env bash
# test_dockerfile_paths.sh — static checks of the Dockerfile (no Docker engine needed):
#  - every source path that a COPY/ADD takes from the build context exists in the repository
#    and is not excluded by .dockerignore;
#  - every directory the top-level CMakeLists.txt adds (add_subdirectory) is copied into the
#    build stage, so the image's cmake configure sees the same tree as a checkout;
#  - every program copied out of the build stage (`COPY --from=build .../bin/<name>`) is a
#    target the build defines (add_executable(<name> ...)) and the build stage builds it;
#  - the runtime stage installs no -dev package and runs as a non-root USER.
# Usage: tests/helm/test_dockerfile_paths.sh [REPO_ROOT]. Prints one line per check and a
# final 'N passed, N failed' line; exit status 0 only when all pass.
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
df="$root/Dockerfile"
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

[ -f "$df" ] || { echo "FAIL: no Dockerfile in $root"; echo "0 passed, 1 failed"; exit 1; }

# Join continuation lines, drop comments; one instruction per line.
instructions=$(sed -e 's/[[:space:]]*#.*$//' "$df" | awk '
  /\\$/ { sub(/\\$/, ""); buf = buf $0 " "; next }
  { print buf $0; buf = "" }' | sed -e 's/^[[:space:]]*//' -e '/^$/d')

# .dockerignore patterns (anchored at the context root, as Docker reads them).
ignores=()
if [ -f "$root/.dockerignore" ]; then
  while IFS= read -r p; do
    p=${p%%#*}; p=${p%"${p##*[![:space:]]}"}; p=${p#/}
    [ -n "$p" ] && ignores+=("$p")
  done <"$root/.dockerignore"
fi
ignored() { # ignored PATH -> 0 when a .dockerignore pattern matches PATH or a parent of it
  local path=${1%/} pat part
  for pat in "${ignores[@]}"; do
    part=$path
    while :; do
      # shellcheck disable=SC2053
      [[ $part == $pat ]] && return 0
      [[ $part == */* ]] || break
      part=${part%/*}
    done
  done
  return 1
}

copied_dirs=()
from_build=()
stage=""
runtime_block=""
while IFS= read -r line; do
  instr=$(echo "$line" | awk '{ print toupper($1) }')
  case "$instr" in
    FROM) stage=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) if (toupper($i) == "AS") print $(i + 1) }') ;;
    COPY|ADD)
      args=$(echo "$line" | cut -d' ' -f2-)
      from=""
      words=()
      if [[ $args == *"["* ]]; then
        fail "JSON-form $instr is not checked by this test: $line"; continue
      fi
      for w in $args; do
        case "$w" in
          --from=*) from=${w#--from=} ;;
          --*) ;;
          *) words+=("$w") ;;
        esac
      done
      n=${#words[@]}
      if [ "$n" -lt 2 ]; then fail "$instr without source and destination: $line"; continue; fi
      srcs=("${words[@]:0:n-1}")
      if [ -n "$from" ]; then
        for s in "${srcs[@]}"; do from_build+=("$s"); done
        continue
      fi
      for s in "${srcs[@]}"; do
        rel=${s#./}; rel=${rel%/}
        if [ ! -e "$root/$rel" ]; then
          fail "$instr source '$s' does not exist in the repository ($stage stage)"
        elif ignored "$rel"; then
          fail "$instr source '$s' is excluded by .dockerignore"
        else
          pass "$instr source '$s' exists ($stage stage)"
          [ "$stage" = build ] && copied_dirs+=("$rel")
        fi
      done
      ;;
  esac
  [ "$stage" = runtime ] && runtime_block+="$line"$'\n'
done <<<"$instructions"

# add_subdirectory() of the top-level CMakeLists.txt must all be in the build stage.
while IFS= read -r sub; do
  found=0
  for c in "${copied_dirs[@]}"; do [ "$c" = "$sub" ] && found=1; done
  if [ "$found" = 1 ]; then pass "build stage copies $sub/ (add_subdirectory)"
  else fail "CMakeLists.txt adds $sub/ but the build stage does not COPY it"; fi
done < <(sed -n 's/^[[:space:]]*add_subdirectory(\([^ )]*\).*/\1/p' "$root/CMakeLists.txt")

# Programs copied out of the build stage must be defined by the build and built by it.
build_cmd=$(grep -E '^RUN .*cmake --build' <<<"$instructions" || true)
for s in "${from_build[@]}"; do
  prog=$(basename "$s")
  if grep -rqs --include=CMakeLists.txt "add_executable($prog " "$root"; then
    if grep -q -- "--target.* $prog\b" <<<"$build_cmd"; then
      pass "program $prog is an add_executable target and is built by the build stage"
    else
      fail "program $prog is copied from the build stage but not in its cmake --build --target list"
    fi
  else
    fail "COPY --from copies '$s' but no CMakeLists.txt defines add_executable($prog ...)"
  fi
done
if [ "${#from_build[@]}" -ge 3 ]; then
  pass "runtime stage gets ${#from_build[@]} programs"
else
  fail "runtime stage copies ${#from_build[@]} programs from the build stage (want 3)"
fi

# Runtime stage hygiene.
if grep -qE '(^|[[:space:]])[a-z0-9.+-]+-dev([[:space:]]|$)' <<<"$runtime_block"; then
  fail "runtime stage installs a -dev package"
else
  pass "runtime stage installs no -dev package"
fi
user=$(grep -E '^USER ' <<<"$runtime_block" | tail -n 1 | awk '{ print $2 }')
case "${user%%:*}" in
  ''|0|root) fail "runtime stage runs as root (USER '${user}')" ;;
  *) pass "runtime stage runs as non-root USER $user" ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
