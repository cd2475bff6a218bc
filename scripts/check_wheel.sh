#!/usr/bin/env bash
# The package works installed as users install it (`pip install .`, not editable), without the notebooks or the repo:
# build a wheel, install it into a fresh virtualenv whose dependencies come from the current one (no download), then
# run a short `bn-course compare` from an empty folder and check that bn_course was imported from the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
deps=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python -m pip wheel -q --no-deps --no-build-isolation . -w "$tmp/dist"
python -m venv "$tmp/venv"
site=$("$tmp/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$deps" > "$site/_deps_from_dev_env.pth"   # torch & co. from the dev env; its editable bn_course is not activated
"$tmp/venv/bin/python" -m pip install -q --no-deps --no-index "$tmp"/dist/bn_course-*.whl
mkdir "$tmp/empty" && cd "$tmp/empty"
where=$("$tmp/venv/bin/python" -c "import bn_course; print(bn_course.__file__)")
case "$where" in "$site"/*) ;; *) echo "bn_course was imported from $where, not from the wheel"; exit 1;; esac
BN_COURSE_OFFLINE=1 "$tmp/venv/bin/bn-course" compare --dataset digits --epochs 1 --out run --quiet
test -s run/metrics.json && test -s run/curves.png
test "$(ls -A)" = run || { echo "the run left more than its folder behind: $(ls -A)"; exit 1; }   # no lock file
echo "wheel install OK: bn-course compare ran from $where"
