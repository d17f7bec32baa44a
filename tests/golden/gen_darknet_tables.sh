#!/bin/sh
# gen_darknet_tables.sh - the layer tables Debian's darknet binary prints when it loads each cfg
# that fovea builds, as golden files for tests/cli/test_darknet.sh (which also runs without the
# binary). Darknet prints the table on stderr while `partial` loads the cfg; its notes
# ("batch: Using default '1'", "Unused field ...", the weights lines) are removed.
# Usage: sh tests/golden/gen_darknet_tables.sh FOVEA  (from the source root)
FV=$1
OUT=tests/golden/darknet
for cfg in /usr/share/darknet/cfg/*.cfg tests/data/darknet/*.cfg; do
    name=$(basename "$cfg" .cfg)
    "$FV" darknet table "$cfg" >/dev/null 2>&1 || continue # only the cfgs fovea builds
    darknet partial "$cfg" /dev/null /dev/null 0 2>&1 >/dev/null |
        perl -0pe "s/[A-Za-z_0-9]+: Using default '[^']*'\n//g" |
        grep -v '^Loading weights\|^Saving weights\|^Unused field' >"$OUT/$name.txt"
done
