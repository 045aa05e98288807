# bench/config-server/gitfixture.sh — git repositories for the git-mode cases of compat.sh
# and the git section of run.sh, as shell functions (source it; it sets nothing else).
#
#   gitfx_build SRC DIR   → a non-bare repository DIR (branch main checked out) made from the
#                           folder repository SRC, with history and refs that exercise labels:
#       main        commit 1: SRC as is (sub-folders such as v2/ and release/1.0/ stay plain
#                   folders: a git backend does not search them); tag v1.0 (annotated) and
#                   tag light (lightweight) point at it;
#                   commit 2: billing.yml gains git.rev=2, application.yml git.main=2
#       v2          from commit 1: v2/billing.yml moved to the top (the folder backend's label v2)
#       release/1.0 from commit 1: release/1.0/alpha.yml at the top (label release(_)1.0)
#       multidoc    from commit 2: multi.yml and multi.properties, each with three documents
#                   (on-profile dev, prod), and a .properties file of the same application
#       both        a branch (at multidoc) and a tag (at commit 1) of the same name
#   Prints nothing; GITFX_C1 / GITFX_C2 (full ids of main's commits) are written to DIR/.gitfx
#   as shell assignments (not committed: listed in .git/info/exclude).
#   gitfx_bench SRC DIR N → the repository of run.sh's git section: main = SRC (README.md left
#                           out), tag bench-1.0 (annotated) on that commit, then a second commit
#                           on main; branch lru: bench-large.yml (~290 KiB, an application
#                           nobody asks for: it makes each commit's snapshot weigh something),
#                           then N commits, each editing it. Writes
#                           DIR/.gitfx: GITFX_C1, GITFX_C2, GITFX_LRU (the N ids, blank-separated)
#   gitfx_bare DIR BARE   → BARE: a bare clone of DIR with all its branches and tags
#   gitfx_daemon BASE PORT LOG → starts `git daemon` exporting the bare repositories under BASE
#                           (push enabled) on 127.0.0.1:PORT, prefixed by the array GITFX_WRAP
#                           if set (e.g. taskset); sets GITFX_DAEMON_PID
#   gitfx_daemon_wait PORT → waits (10 s) until git ls-remote answers on the port

gitfx_git() { git -c user.name=bench -c user.email=bench@localhost -c init.defaultBranch=main -c commit.gpgsign=false "$@"; }

gitfx_build() {
    local src=$1 dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$src/." "$dir/"
    (
        cd "$dir" || exit 1
        gitfx_git init -q .
        echo ".gitfx" >>.git/info/exclude
        gitfx_git add -A
        gitfx_git commit -q -m "fixture: commit 1"
        local c1
        c1=$(git rev-parse HEAD)
        gitfx_git tag -a v1.0 -m "release 1.0"
        gitfx_git tag light
        # label v2: the folder backend's v2/ sub-folder at the top
        gitfx_git checkout -q -b v2 "$c1"
        cp v2/billing.yml billing.yml
        gitfx_git commit -q -am "v2: billing.yml of label v2"
        # label release/1.0
        gitfx_git checkout -q -b release/1.0 "$c1"
        cp release/1.0/alpha.yml alpha.yml
        gitfx_git commit -q -am "release/1.0: alpha.yml of the release"
        # main, commit 2
        gitfx_git checkout -q main
        printf '\ngit:\n  rev: 2\n' >>billing.yml
        printf '\ngit:\n  main: 2\n' >>application.yml
        gitfx_git commit -q -am "fixture: commit 2"
        local c2
        c2=$(git rev-parse HEAD)
        # multidoc: multi-document .yml and .properties
        gitfx_git checkout -q -b multidoc
        cat >multi.yml <<'EOF'
m:
  a: base
  list: [1, 2]
  from: yml
---
spring:
  config:
    activate:
      on-profile: dev
m:
  a: dev-doc
  list: [3]
---
spring:
  config:
    activate:
      on-profile: prod
m:
  b: prod-doc
EOF
        cat >multi.properties <<'EOF'
mp.a=base
m.from=properties
#---
spring.config.activate.on-profile=dev
mp.a=dev-doc
#---
spring.config.activate.on-profile=prod
mp.b=prod-doc
m.b=prod-from-properties
EOF
        cat >multi-dev.properties <<'EOF'
mp.c=from multi-dev.properties
EOF
        gitfx_git add multi.yml multi.properties multi-dev.properties
        gitfx_git commit -q -m "multidoc: multi-document files"
        # "both": a branch (at multidoc) and a tag (at commit 1) of the same name
        gitfx_git branch both multidoc
        gitfx_git tag both "$c1"
        gitfx_git checkout -q main
        printf 'GITFX_C1=%s\nGITFX_C2=%s\n' "$c1" "$c2" >.gitfx
    )
}

gitfx_bench() {
    local src=$1 dir=$2 n=$3
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$src/." "$dir/"
    rm -f "$dir/README.md"
    (
        cd "$dir" || exit 1
        gitfx_git init -q .
        echo ".gitfx" >>.git/info/exclude
        gitfx_git add -A
        gitfx_git commit -q -m "bench: commit 1"
        local c1 c2 ids="" i
        c1=$(git rev-parse HEAD)
        gitfx_git tag -a bench-1.0 -m "bench 1.0"
        printf '# commit 2 of the bench repository\n' >>application.yml
        gitfx_git commit -q -am "bench: commit 2"
        c2=$(git rev-parse HEAD)
        gitfx_git checkout -q -b lru
        awk 'BEGIN { print "bench-large:"; for (i = 0; i < 4096; i++) printf "  key-%05d: value number %d of the large file, padded to weigh a bit\n", i, i }' >bench-large.yml
        gitfx_git add bench-large.yml
        for ((i = 1; i <= n; i++)); do
            sed -i "2s/.*/  key-00000: lru commit $i/" bench-large.yml
            gitfx_git commit -q -am "bench: lru $i"
            ids+="$(git rev-parse HEAD) "
        done
        gitfx_git checkout -q main
        printf 'GITFX_C1=%s\nGITFX_C2=%s\nGITFX_LRU="%s"\n' "$c1" "$c2" "${ids% }" >.gitfx
    )
}

gitfx_bare() {
    rm -rf "$2"
    git clone -q --bare "$1" "$2"
    git -C "$2" symbolic-ref HEAD refs/heads/main # even when DIR has a label checked out
}

gitfx_daemon() {
    local base=$1 port=$2 log=$3
    ${GITFX_WRAP[@]+"${GITFX_WRAP[@]}"} git daemon --export-all --enable=receive-pack --base-path="$base" --reuseaddr \
        --listen=127.0.0.1 --port="$port" "$base" >"$log" 2>&1 &
    GITFX_DAEMON_PID=$!
}

gitfx_daemon_wait() {
    local i
    for ((i = 0; i < 100; i++)); do
        git ls-remote "git://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
        # an export list of the base path is refused; any answer of the daemon will do
        if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "gitfixture.sh: git daemon on port $1 does not answer" >&2
    return 1
}
