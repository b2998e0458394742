#!/usr/bin/env python3
"""The command of every committed set, one line each: its folder under docs/, the
OPENBLAS_CORETYPE its manifest records (or -), and the arguments after `initlab` with
@OUT@ for its output folder. For scripts/compare-sets.sh and scripts/regenerate-sets.sh.

    scripts/set-commands.py [FOLDER...]      (default: every docs/*/manifest.json)
"""
import glob, json, shlex, sys

folders = sys.argv[1:] or [m.split("/")[1] for m in sorted(glob.glob("docs/*/manifest.json"))]
for folder in folders:
    for s in json.load(open(f"docs/{folder}/manifest.json"))["sets"]:
        args = shlex.split(s["command"])
        assert args[0] == "initlab", s["command"]
        out = args.index("--out")
        assert args[out + 1] == f"docs/{folder}", s["command"]
        args[out + 1] = "@OUT@"
        print(folder, s["machine"].get("openblas_coretype") or "-", shlex.join(args[1:]))
