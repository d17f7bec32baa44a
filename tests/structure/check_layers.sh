#!/bin/sh
# check_layers.sh - the folders of src/ depend downward only. Reads the declared tiers from
# docs/layers.txt, computes the link-level edges between folders from the library's object files
# (a symbol one object leaves undefined and another defines), and fails on every edge that does
# not go down, naming the symbol and both files; also fails when docs/DESIGN.md's picture lists
# the folders in another order. Prints the folder-to-folder edge table.
# Usage: check_layers.sh LAYERS_TXT DESIGN_MD OBJECT... (objects may also come as one
# ';'-separated argument, as CMake's $<TARGET_OBJECTS:fovea> gives them; the folder of an object
# is the path component after its last "/src/").
set -u
layers=$1
design=$2
shift 2
nm=${NM:-nm}
command -v "$nm" >/dev/null || { echo "skipped: no nm"; exit 0; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

for a in "$@"; do printf '%s\n' "$a" | tr ';' '\n'; done | grep -v '^$' >"$tmp/objs"
if [ ! -s "$tmp/objs" ]; then
    echo "FAIL: no object files given"
    exit 1
fi
# "object folder file" for each object; file is the source path below src/, as "nn/fit.c"
awk '{ p = $0; sub(/.*\/src\//, "", p); d = p; sub(/\/.*/, "", d); f = p; sub(/\.o(bj)?$/, "", f);
       print $0 "\t" d "\t" f }' "$tmp/objs" >"$tmp/map"
# one nm per list: POSIX lines "OBJECT: SYMBOL TYPE ..."
tr '\n' '\0' <"$tmp/objs" | xargs -0 "$nm" -A -P -g --defined-only >"$tmp/defs" 2>"$tmp/err" &&
tr '\n' '\0' <"$tmp/objs" | xargs -0 "$nm" -A -P -u >"$tmp/uses" 2>>"$tmp/err" || {
    echo "FAIL: $nm could not read the objects:"; cat "$tmp/err"; exit 1; }

awk -v layers="$layers" -v design="$design" -v mapf="$tmp/map" -v usesf="$tmp/uses" '
# an nm line "OBJECT: SYMBOL TYPE ...": sets o and sym (the object path may hold blanks)
function parse(line,   k, r) {
    k = index(line, ": "); o = substr(line, 1, k - 1)
    split(substr(line, k + 2), r, " "); sym = r[1]
}
BEGIN {
    while ((getline l < layers) > 0) {
        if (l ~ /^[ \t]*(#|$)/) continue
        tiers++
        n = split(l, w, /[ \t]+/)
        for (i = 1; i <= n; i++) if (w[i] != "") { tier[w[i]] = tiers; order[++nfold] = w[i] }
    }
    if (tiers == 0) { print "FAIL: no tiers in " layers; bad = 1 }
    while ((getline l < mapf) > 0) { split(l, w, "\t"); dir[w[1]] = w[2]; file[w[1]] = w[3] }
}
# defined symbols (global, weak and common ones): the object each lives in
FILENAME != usesf { parse($0); at[sym] = o; next }
{
    parse($0)
    if (!(sym in at)) next
    from = dir[o]; to = dir[at[sym]]
    if (from == to) next
    key = from " -> " to
    if (!(key in count)) keys[++nkeys] = key
    count[key]++
    if (!(from in tier) || !(to in tier)) next
    if (tier[to] <= tier[from]) {
        printf "FAIL: src/%s uses %s from src/%s: %s is not below %s in %s\n",
               file[o], sym, file[at[sym]], to, from, layers
        bad = 1
    }
}
END {
    for (o in dir) if (!(dir[o] in tier) && !(dir[o] in told)) {
        printf "FAIL: src/%s/ (%s) is not declared in %s\n", dir[o], file[o], layers
        told[dir[o]] = 1; bad = 1
    }
    for (o in dir) has[dir[o]] = 1
    for (i = 1; i <= nfold; i++) if (!(order[i] in has)) {
        printf "FAIL: %s declares src/%s/, which has no object files\n", layers, order[i]; bad = 1
    }
    # the picture: the first fenced block of DESIGN.md; its lines that start with src/NAME/ must
    # name every folder, once, tiers going down
    inblock = 0; last = 0
    while ((getline l < design) > 0) {
        if (l ~ /^```/) { if (inblock) break; inblock = 1; continue }
        if (!inblock || l !~ /^src\/[a-z_]+\//) continue
        f = l; sub(/^src\//, "", f); sub(/\/.*/, "", f)
        if (!(f in tier)) {
            printf "FAIL: %s draws src/%s/, not in %s\n", design, f, layers
            bad = 1; continue
        }
        if (f in drawn) { printf "FAIL: %s draws src/%s/ twice\n", design, f; bad = 1 }
        drawn[f] = 1
        if (tier[f] < last) {
            printf "FAIL: %s draws src/%s/ under src/%s/, which %s puts below it\n", design, f,
                   lastf, layers
            bad = 1
        }
        last = tier[f]; lastf = f
    }
    for (i = 1; i <= nfold; i++) if (!(order[i] in drawn)) {
        printf "FAIL: %s does not draw src/%s/ (declared in %s)\n", design, order[i], layers
        bad = 1
    }
    if (nkeys == 0) { print "FAIL: no edges between folders read from the objects"; bad = 1 }
    print "link-level edges (symbols used, counted per object):"
    for (i = 1; i <= nkeys; i++) printf "  %-20s %d\n", keys[i], count[keys[i]] | "sort"
    close("sort")
    if (!bad) printf "%d folders in %d tiers; every edge goes down\n", nfold, tiers
    exit bad
}' "$tmp/defs" "$tmp/uses"
