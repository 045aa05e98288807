#!/usr/bin/env bash
# check-layout.sh — checks the shape of the tree (ctest `layout_check`, label unit, so CI runs it
# with every test run; by hand: scripts/check-layout.sh [BUILD_DIR]). It fails, naming each
# offender, when:
#  1. top level: a file or folder outside the layout (docs/design.md §2, README "Layout") is tracked or
#     about to be (untracked and not ignored). Allowed: CMakeLists.txt README.md LICENSE Dockerfile
#     .gitignore .dockerignore .clang-format .ci/ cmake/ common/ kafka-model/ config-server/
#     customer-service/ order-service/ config-repo/ helm/ tests/ scripts/ bench/ docs/.
#  2. size: any file of the tree (same selection) is over 1 MB (1,048,576 bytes): large
#     binaries do not belong in git.
#  3. lines: a C source or header (.c/.h) is over 600 lines and its header comment (the first
#     40 lines) has no line containing "Over 600 lines:" followed by the reason.
#  4. cycles between source files, two ways:
#     a. symbols (needs BUILD_DIR, built): from the object files (nm), source A depends on B
#        when A's object references a global symbol B's object defines. Any dependency that
#        lies on a cycle (A → … → A over two or more files) fails, with the symbols.
#     b. includes (always): module(file) = its path without .c/.h and without a trailing
#        "_int" (X_int.h is X's private header); module A depends on B when a file of A
#        #includes "…" a file of B. Any such dependency on a cycle fails.
#  5. docs/architecture.md: every row naming a `path/file.c` and a `function()` is true —
#     the file exists and defines (or declares, for a .h) that function.
#  6. layers (customer-service/ and order-service/): an include or a symbol reference between
#     two layers that the table under "## Layers" in docs/architecture.md does not allow
#     (domain → nothing; application → domain; dataaccess, messaging, http → application,
#     domain; main → all); libpq (directly or through a header) outside dataaccess/ and main;
#     an SQL statement outside dataaccess/.
# Without BUILD_DIR (or when it holds no objects) check 4a is skipped with a note.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
fail=0
bad() {
    echo "layout: $*" >&2
    fail=1
}

# ---- the files of the tree: tracked or about to be (git), else everything but build output
cd "$root" || exit 2
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files --cached --others --exclude-standard | sort -u |
        while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done)
else
    mapfile -t files < <(find . -path ./.git -prune -o -path './build*' -prune -o -path ./.stack -prune \
        -o -type f -print | sed 's|^\./||' | sort)
fi

# ---- 1. top level
allowed=" CMakeLists.txt README.md LICENSE Dockerfile .gitignore .dockerignore .clang-format .ci cmake common
 kafka-model config-server customer-service order-service config-repo helm tests scripts bench docs "
allowed=$(echo $allowed)
declare -A seen_top=()
for f in "${files[@]}"; do
    top=${f%%/*}
    [ -n "${seen_top[$top]:-}" ] && continue
    seen_top[$top]=1
    case " $allowed " in
    *" $top "*) ;;
    *) bad "'$top' at the top level is not part of the layout (docs/design.md §2; README \"Layout\")" ;;
    esac
done

# ---- 2. size
for f in "${files[@]}"; do
    sz=$(stat -c %s -- "$f" 2>/dev/null || echo 0)
    [ "$sz" -gt 1048576 ] && bad "'$f' is $sz bytes (over 1 MB): large binaries do not belong in the tree"
done

# ---- 3. lines
csrc=()
for f in "${files[@]}"; do
    case $f in *.c | *.h) csrc+=("$f") ;; esac
done
for f in "${csrc[@]}"; do
    n=$(wc -l <"$f")
    if [ "$n" -gt 600 ] && ! head -n 40 -- "$f" | grep -q 'Over 600 lines:'; then
        bad "'$f' has $n lines (over 600) and its header gives no reason ('Over 600 lines: …')"
    fi
done

# Reads "from<TAB>to<TAB>label" edges on stdin; prints every edge that lies on a cycle
# (the target reaches the source back), with its labels.
cycles() {
    awk -F'\t' '
    function reach(a, b,    k, n, i, stack, top, x, y, seen) {
        # iterative DFS from a; 1 when b is reachable
        top = 1; stack[1] = a; seen[a] = 1
        while (top > 0) {
            x = stack[top--]
            if (x == b) return 1
            n = nout[x]
            for (i = 1; i <= n; i++) {
                y = out[x, i]
                if (!(y in seen)) { seen[y] = 1; stack[++top] = y }
            }
        }
        return 0
    }
    $1 != $2 {
        if (!(($1, $2) in lab)) { out[$1, ++nout[$1]] = $2; lab[$1, $2] = $3 }
        else if (index(" " lab[$1, $2] " ", " " $3 " ") == 0) lab[$1, $2] = lab[$1, $2] " " $3
    }
    END {
        for (e in lab) {
            split(e, p, SUBSEP)
            if (reach(p[2], p[1])) print p[1] " -> " p[2] " (" lab[e] ")"
        }
    }' | sort
}

# ---- 4a. symbol dependencies between object files
if [ -n "$build" ] && [ -d "$build" ]; then
    build=$(cd "$build" && pwd)
    mapfile -t objs < <(find "$build" -path '*/CMakeFiles/*.dir/*' -name '*.o' | sort)
    if [ "${#objs[@]}" -eq 0 ]; then
        echo "layout: note: no object files under $build; symbol cycles not checked" >&2
    else
        edges=$(for o in "${objs[@]}"; do
            rel=${o#"$build"/}
            dir=${rel%%/CMakeFiles/*}
            [ "$dir" = "$rel" ] && continue
            [ "${rel%%/*}" = CMakeFiles ] && dir=.
            src=${rel#*/CMakeFiles/*.dir/}
            src=${src%.o}
            src=${src//__\//..\/}
            path=$(realpath -m --relative-to="$root" "$root/$dir/$src")
            # objects of deleted or renamed sources linger in a build dir: skip them
            [ -e "$root/$path" ] || [ -e "$build/$dir/$src" ] || continue
            nm -- "$o" 2>/dev/null | awk -v s="$path" '
                NF == 2 && $1 == "U" { print "U\t" s "\t" $2 }
                NF == 3 && $2 ~ /^[TDBRCGSVW]$/ && $3 != "main" { print "D\t" s "\t" $3 }'
        done | awk -F'\t' '
            $1 == "D" { def[$3] = (($3 in def) ? def[$3] SUBSEP : "") $2; next }
            { use[++n] = $2; usym[n] = $3 }
            END {
                for (i = 1; i <= n; i++) {
                    if (!(usym[i] in def)) continue
                    k = split(def[usym[i]], d, SUBSEP)
                    for (j = 1; j <= k; j++) if (d[j] != use[i]) print use[i] "\t" d[j] "\t" usym[i]
                }
            }')
        while IFS= read -r line; do
            [ -n "$line" ] && bad "symbol cycle: $line"
        done < <(printf '%s\n' "$edges" | cycles)
    fi
else
    echo "layout: note: no build dir given; symbol cycles not checked (scripts/check-layout.sh BUILD_DIR)" >&2
fi

# ---- 4b. include dependencies between modules
# Every #include "…" resolved to a tree file: "from<TAB>to" (the file ending in /name, or equal
# to it, that shares the longest prefix with the including file).
incedges=$(for f in "${csrc[@]}"; do
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' -- "$f" |
        while IFS= read -r inc; do printf '%s\t%s\n' "$f" "$inc"; done
done | awk -F'\t' -v list="$(printf '%s\n' "${csrc[@]}")" '
    function common(a, b,    n) { n = 0; while (n < length(a) && substr(a, 1, n + 1) == substr(b, 1, n + 1)) n++; return n }
    BEGIN { nf = split(list, all, "\n") }
    {
        best = ""; bl = -1
        for (i = 1; i <= nf; i++) {
            f = all[i]
            if (f == $2 || substr(f, length(f) - length($2)) == "/" $2) {
                l = common(f, $1)
                if (l > bl) { bl = l; best = f }
            }
        }
        if (best != "") print $1 "\t" best
    }')
while IFS= read -r line; do
    [ -n "$line" ] && bad "include cycle: $line"
done < <(printf '%s\n' "$incedges" | awk -F'\t' '
    function module(p) { sub(/\.[ch]$/, "", p); sub(/_int$/, "", p); return p }
    NF == 2 && module($1) != module($2) { print module($1) "\t" module($2) "\t" $1 "→" $2 }' | cycles)

# ---- 5. docs/architecture.md names real files and functions
doc=docs/architecture.md
if [ ! -f "$doc" ]; then
    bad "$doc is missing"
else
    rows=0
    while IFS= read -r row; do
        file=$(printf '%s' "$row" | grep -o '`[A-Za-z0-9_./-]*\.[ch]`' | head -n1 | tr -d '`')
        fn=$(printf '%s' "$row" | grep -o '`[A-Za-z_][A-Za-z0-9_]*()`' | head -n1 | tr -d '`()')
        [ -z "$file" ] || [ -z "$fn" ] && continue
        rows=$((rows + 1))
        if [ ! -f "$file" ]; then
            bad "$doc names $file, which does not exist"
        elif ! grep -Eq "^[A-Za-z_].*[^A-Za-z0-9_]$fn\(" -- "$file"; then
            bad "$doc names $fn() in $file, which does not define it"
        fi
    done < <(grep '^|' "$doc")
    [ "$rows" -eq 0 ] && bad "$doc names no \`file\` + \`function()\` rows"
fi

# ---- 6. the layers of the services and the edges allowed between them
# The table under "## Layers" in docs/architecture.md: "| `layer` | `dep`, `dep` |" ("—": none).
# In customer-service/ and order-service/, a file's layer is its folder under src/ (a file
# directly in src/ — main.c, config.c — is `main`). An include (4b's resolution) or a symbol
# reference (4a's, with BUILD_DIR) from one layer to another that the table does not allow
# fails. So does libpq — <libpq-fe.h>, or a tree header that includes it, however deeply —
# outside dataaccess/ and main, and an SQL statement (a string literal starting with an SQL
# command word) outside dataaccess/.
# layer(file) in awk: "" outside the two services' src/
layer_awk='function layer(f,    r) {
    if (f !~ /^(customer|order)-service\/src\//) return ""
    r = f; sub(/^[^\/]*\/src\//, "", r)
    if (index(r, "/") == 0) return "main"
    sub(/\/.*/, "", r); return r
}'
allow_tsv=""
[ -f "$doc" ] && allow_tsv=$(awk '
    /^## / { inside = ($0 ~ /^## Layers/); next }
    inside && /^\| *`[a-z]+` *\|/ {
        split($0, cell, "|")
        name = cell[2]; gsub(/[ `]/, "", name)
        deps = cell[3]; gsub(/`/, "", deps); gsub(/,/, " ", deps); gsub(/—/, "", deps)
        gsub(/^ +| +$/, "", deps); gsub(/ +/, " ", deps)
        print name "\t" deps
    }' "$doc")
if [ -z "$allow_tsv" ]; then
    bad "$doc has no layer table under '## Layers' (| \`layer\` | \`may depend on\`, … |)"
else
    for l in domain application dataaccess messaging http main; do
        printf '%s\n' "$allow_tsv" | cut -f1 | grep -qx "$l" || bad "$doc: the layer table has no row for \`$l\`"
    done
    while IFS= read -r line; do
        [ -n "$line" ] && bad "$line"
    done < <({
        printf '%s\n' "$incedges" | awk -F'\t' 'NF == 2 { print $1 "\t" $2 "\t#include" }'
        printf '%s\n' "${edges:-}" | awk -F'\t' 'NF == 3 { print $1 "\t" $2 "\tsymbol " $3 }'
    } | awk -F'\t' -v allow="$allow_tsv" -v doc="$doc" "$layer_awk"'
        BEGIN { n = split(allow, rows, "\n"); for (i = 1; i <= n; i++) { split(rows[i], c, "\t"); ok[c[1]] = " " c[2] " " } }
        {
            a = layer($1); b = layer($2)
            if (a == "" || b == "" || a == b) next
            split($1, x, "/"); split($2, y, "/")
            if (x[1] != y[1]) print "layer edge: " $1 " → " $2 " (" $3 "): across services"
            else if (index(ok[a], " " b " ") == 0)
                print "layer edge: " $1 " (" a ") → " $2 " (" b ") by " $3 ", which " doc " does not allow"
        }' | sort -u)
fi
# libpq outside dataaccess/ and main: <libpq-fe.h> included directly, or a tree header that
# includes it, however deeply
while IFS= read -r line; do
    [ -n "$line" ] && bad "$line"
done < <({
    grep -El '^[[:space:]]*#[[:space:]]*include[[:space:]]*<libpq-fe\.h>' -- "${csrc[@]}" | sed 's/$/\t<libpq-fe.h>\tdirect/'
    printf '%s\n' "$incedges" | awk -F'\t' 'NF == 2 { print $1 "\t" $2 "\tedge" }'
} | awk -F'\t' "$layer_awk"'
    $3 == "direct" { via[$1] = $2; next }
    { from[++n] = $1; to[n] = $2 }
    END {
        do {
            changed = 0
            for (i = 1; i <= n; i++)
                if ((to[i] in via) && !(from[i] in via)) { via[from[i]] = to[i]; changed = 1 }
        } while (changed)
        for (f in via) {
            l = layer(f)
            if (l != "" && l != "dataaccess" && l != "main")
                print "libpq outside dataaccess/: " f " includes it (via " via[f] ")"
        }
    }' | sort)
# SQL outside dataaccess/: a string literal that starts with an SQL command word
sqlre='"(SELECT|INSERT INTO|UPDATE|DELETE FROM|LISTEN|NOTIFY|LOCK TABLE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|ALTER TABLE|CREATE|DROP|SET [a-z_]+ (TO|=))( |;|")'
mapfile -t nonda < <(printf '%s\n' "${csrc[@]}" | grep -E '^(customer|order)-service/src/' | grep -v '/src/dataaccess/')
if [ "${#nonda[@]}" -gt 0 ]; then
    while IFS= read -r line; do
        [ -n "$line" ] && bad "SQL outside dataaccess/: $line"
    done < <(grep -EHo "$sqlre" -- "${nonda[@]}" | sort -u)
fi

[ "$fail" -eq 0 ] && echo "layout: ok (${#files[@]} files, ${#csrc[@]} C files)"
exit "$fail"
