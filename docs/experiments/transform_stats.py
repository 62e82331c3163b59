"""The transform table of docs/results.md: how far the 3DTT transforms moved, per variant and size, from
`ttn report FOLDER --transforms --format json` of the committed records (the largest value over the selected
candidate's runs, output channels and time steps, per layer).

    python docs/experiments/transform_stats.py docs/experiments
"""
import json
import subprocess
import sys

E = sys.argv[1]
variants = [
    ("learned, lr x1", f"{E}/selected-authors", ["transform_lr_scale=1", "freeze_transforms=false"]),
    ("learned, lr x10 or x100 (selected)", f"{E}/selected-authors", ["transform_lr_scale=10,100"]),
    ("frozen", f"{E}/selected-authors", ["freeze_transforms=true"]),
    ("authors recipe, lr selected", f"{E}/authors-recipe", ["freeze_transforms=false"]),
]
print("| variant | videos | selected | rotation max (conv1 / conv2) | shift px max | abs log-scale max |")
print("|---|---:|---|---:|---:|---:|")
for name, folder, where in variants:
    args = ["ttn", "report", folder, "--format", "json"] + [x for w in where for x in ("--where", w)]
    d = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    selected = {c["videos"]: c["selected"] for c in d["cells"] if c["arch"] == "3dttn"}
    for t in d["transforms"]:
        l1, l2 = t["layers"]["conv1"], t["layers"]["conv2"]
        sel = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in (selected[t["videos"]] or {}).items()) or "-"
        print(f"| {name} | {t['videos']} | {sel} | {l1['rotation_deg_max']:.2f}° / {l2['rotation_deg_max']:.2f}° | "
              f"{l1['shift_px_max']:.2f} / {l2['shift_px_max']:.2f} | {l1['log_scale_max']:.3f} / {l2['log_scale_max']:.3f} |")
