#!/bin/sh
# check_symbols.sh - every symbol libfovea.a defines for other objects carries the fv_ prefix
# (internal ones too: a host program links the archive whole and must not meet a viz_x).
# Usage: check_symbols.sh LIBFOVEA.a
set -u
lib=$1
command -v nm >/dev/null || { echo "skipped: no nm"; exit 0; }
# (AddressSanitizer's ODR indicators, __odr_asan.<global>, are the compiler's, not ours)
bad=$(nm -g --defined-only "$lib" 2>/dev/null |
      awk 'NF == 3 && $3 !~ /^fv_/ && $3 !~ /^__odr_asan[._]/ {print $3}' | sort -u)
total=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 && $3 !~ /^__odr_asan[._]/' | wc -l)
if [ "$total" -eq 0 ]; then
    echo "FAIL: no symbols read from $lib"
    exit 1
fi
if [ -n "$bad" ]; then
    echo "FAIL: symbols without the fv_ prefix:" $bad
    exit 1
fi
echo "$total exported symbols, all prefixed fv_"
