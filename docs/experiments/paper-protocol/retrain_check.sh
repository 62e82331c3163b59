#!/usr/bin/env bash
# Train the run of a record again, exactly, from a clean worktree of COMMIT, and say whether the two agree on
# everything a run computes (config, training videos, seed, the whole history, validation and test accuracy).
# One torch thread, as a sweep worker trains. From the repository root, the venv active:
#
#   bash docs/experiments/paper-protocol/retrain_check.sh COMMIT RECORD.json DATA OUT
#
# Used on records whose `versions.git` says "-dirty" (README here, "Provenance"); a record whose test was deferred
# and never run has no test accuracy to agree on: pick tested ones.
set -euo pipefail
commit=${1:?a commit}
record=$(realpath "${2:?a record}")
data=$(realpath "${3:?the Video-MNIST file}")
mkdir -p "${4:?a folder for the retrained record}"
out=$(realpath "$4")
tree=$(cd .. && pwd)/paper-$(git rev-parse --short "$commit")
[ -d "$tree" ] || git worktree add --detach "$tree" "$commit" > /dev/null
if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
  echo "retrain_check.sh: $tree has uncommitted changes" >&2; exit 1
fi
again="$out/$(basename "$record")"
(cd "$tree" && OMP_NUM_THREADS=1 PYTHONPATH="$tree" python -c "from cli.ttn_cli import main; main()" train \
  --from-record "$record" --data "$data" --out "$out/models" --json > "$again")
python - "$record" "$again" <<'PY'
import json, sys
first, again = (json.load(open(path)) for path in sys.argv[1:])
keys = ("run_id", "config", "train_indices", "seed", "history", "val_accuracy", "test_accuracy", "params")
differ = [key for key in keys if first.get(key) != again.get(key)]
print(f"{first['run_id']}: {first['versions']['git']} and {again['versions']['git']} "
      + ("agree on " + ", ".join(keys) if not differ else "DIFFER in " + ", ".join(differ)))
sys.exit(1 if differ else 0)
PY
