#!/bin/bash
# test_report_html.sh - the training report opens in a browser: headless Chromium loads
# OUT/report.html without failing, its DOM has every section and figure, and a screenshot of the
# page is drawn. Runs where Chromium is installed (FV_SETUP_EXTRA=chromium sh scripts/setup.sh);
# skipped elsewhere. Usage: test_report_html.sh FOVEA SRC_DIR
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ] || [ ! -d "${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}" ]; then
    echo "skipped: no Chromium or no Fashion-MNIST"
    finish
    exit
fi
expect_ok train "$FV" train models/lenet5.fv --epochs 1 --limit 500 --out "$TMP/run" --quiet
check report-path grep -q "^Report: $TMP/run/report.html" "$TMP/out"
CH="timeout 120 $CHROME --headless --no-sandbox --disable-gpu --user-data-dir=$TMP/profile"
$CH --dump-dom "file://$TMP/run/report.html" >"$TMP/dom.html" 2>"$TMP/chrome.err"
check chromium-loads test $? -eq 0
for h in Settings "Test metrics" "Training history" Figures Model; do
    check "section-$h" grep -q "<h2>$h</h2>" "$TMP/dom.html"
done
check figures test "$(grep -o '<img' "$TMP/dom.html" | wc -l)" -ge 9
$CH --window-size=1000,2000 --screenshot="$TMP/page.png" "file://$TMP/run/report.html" \
    >/dev/null 2>&1
check screenshot sh -c "head -c 8 '$TMP/page.png' | od -An -tx1 | grep -q '89 50 4e 47'"
finish
