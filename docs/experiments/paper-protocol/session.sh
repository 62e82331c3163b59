#!/usr/bin/env bash
# One session's share of the paper-protocol sweep (README here, "How a session runs it"), from the repository root
# with the project's venv active:
#
#   bash docs/experiments/paper-protocol/session.sh start WORK DATA   # early in a session
#   bash docs/experiments/paper-protocol/session.sh save WORK         # before it ends; then commit
#
# start: a worktree of HEAD beside the repository (../paper-HEAD: the code that makes the records, untouched by
#   work in progress), WORK seeded with the committed records (files already in WORK are kept: its *.pt models
#   and runs in progress), then parts a, b and c one after another in the background (nohup; log WORK.log).
#   Part c races, per arch, the survivors of its 1000-video race (part_c_lrs.py), both archs in one sweep.
# save: the records and race.json of WORK copied here, the tables of docs/results.md rewritten from them, the
#   figures redrawn and what the deferred tests saved printed (costs.py); the prose is for a person to revise.
set -euo pipefail
HERE=docs/experiments/paper-protocol
action=${1:?start or save}
work=${2:?the working folder}

if [ "$action" = save ]; then
  cp "$work"/*.json "$HERE"/
  python tools/refresh_results.py
  ttn report "$HERE" --compare-paper --paper-range all --plot docs/figures/paper-protocol-fig3.png \
    --curves docs/figures/paper-protocol-curves.png --force > /dev/null
  python "$HERE/costs.py"
  exit 0
fi

data=$(realpath "${3:?the Video-MNIST file, e.g. authors.h5}")
mkdir -p "$work"
work=$(realpath "$work")
commit=$(git rev-parse --short HEAD)
tree=$(cd .. && pwd)/paper-$commit
[ -d "$tree" ] || git worktree add --detach "$tree" "$commit" > /dev/null
cp -n "$HERE"/*.json "$work"/ 2> /dev/null || true
rm -f "$work"/val_size.json  # a cache of this folder's scripts, not a record

# The sweep and its workers must import the worktree's code. From the repository root they did not: `python -c`
# puts the current folder first on sys.path, so its ttn/ and cli/ (work in progress) shadowed PYTHONPATH. Run
# from inside the worktree, and check before starting.
imported=$(cd "$tree" && PYTHONPATH="$tree" python -c "import cli, ttn, vmnist; print(cli.__file__, ttn.__file__, vmnist.__file__)")
for path in $imported; do
  case "$path" in "$tree"/*) ;; *) echo "session.sh: the sweep would import $path, not $tree; not started" >&2; exit 1 ;; esac
done
if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
  echo "session.sh: $tree has uncommitted changes; not started" >&2; exit 1
fi

sweep() { (cd "$tree" && PYTHONPATH="$tree" python -c "from cli.ttn_cli import main; main()" sweep --data "$data" \
  --preset paper --workers 2 --out "$work" --yes "$@"); }
export -f sweep
export tree data work HERE
nohup bash -c '
  set -e
  sweep --videos 10,20,30,40,50,100
  sweep --videos 500,1000
  lrs=$(cd "$tree" && PYTHONPATH="$tree" python "$tree/$HERE/part_c_lrs.py" "$work" --lr-option)
  sweep --videos 2000,5000 --lr "$lrs"
' > "$work.log" 2>&1 &
echo "paper-protocol sweep started from $commit in the background: tail -f $work.log"
