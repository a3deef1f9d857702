#!/bin/sh
# The worked example end to end: export the 2021–2025 set, correct and verify two values (as a person would in
# Excel), import, diff, evaluate. Writes into DIR (default: a new temporary folder). MINH HỌA — illustrative.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:-$(mktemp -d)}
PY=${PYTHON:-python}
cd "$DIR"
$PY -m ntm rulesets export vn-2021-2025 --format xlsx -o bo-tieu-chi.xlsx
$PY "$HERE/verify_two_values.py" bo-tieu-chi.xlsx bo-tieu-chi-da-doi-chieu.xlsx
$PY -m ntm rulesets import bo-tieu-chi-da-doi-chieu.xlsx -o vn-2021-2025-doi-chieu.yaml
$PY -m ntm rulesets diff vn-2021-2025 vn-2021-2025-doi-chieu.yaml
$PY -m ntm evaluate "$ROOT/examples/xa-dat-chuan.yaml" --ruleset vn-2021-2025-doi-chieu.yaml \
    --overlay "$ROOT/examples/overlays/tinh-minh-hoa.yaml" | sed -n "1,6p;/^Còn thiếu — Xã đạt chuẩn nông thôn mới:/,/^$/p"
$PY -m ntm rulesets provenance vn-2021-2025-doi-chieu.yaml --format markdown | sed -n '/^## Việc cần làm/q;p'
echo "files in $DIR"
