#!/usr/bin/env bash
# Renders initlab's HTML reports in headless Chromium and fails on a blank page, a figure
# that does not render, or a missing image.
#
#   scripts/check-report.sh              generates a results and a signal report, checks both
#   scripts/check-report.sh DIR...       checks the reports in initlab output folders
#
# Installs Debian's chromium with apt when missing (through sudo when not root), as
# install-deps.sh does for OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "check-report: needs Chromium, and this machine has no apt-get to install it" >&2
        exit 1
    fi
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    echo "check-report: installing chromium with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium >/dev/null
    browser=$(command -v chromium)
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

folders=("$@")
if [[ ${#folders[@]} -eq 0 ]]; then
    # The test profile's binary, which `cargo test --workspace` has built: a release build
    # would take CI minutes, the runs below take seconds either way.
    initlab=(cargo run --quiet --)
    out="$scratch/out"
    "${initlab[@]}" run docs/experiments/spirals.toml --quiet --out "$out" >/dev/null
    "${initlab[@]}" signal --depth 6 --width 64 --batch 64 --input gaussian \
        --jacobian-samples 1 --quiet --out "$out" >/dev/null
    folders=("$out")
fi

# The check runs inside the page after layout; its verdict lands in the dumped DOM.
read -r -d '' probe <<'EOF' || true
<script>
(() => {
  const problems = [];
  const expected = Number(document.currentScript.dataset.figures);
  const figures = document.querySelectorAll('figure');
  if (figures.length !== expected) problems.push(`${figures.length} figures, expected ${expected}`);
  for (const figure of figures) {
    const svg = figure.querySelector('svg');
    if (!svg) { problems.push(`${figure.id}: no image`); continue; }
    const box = svg.getBoundingClientRect();
    if (box.width < 300 || box.height < 150) problems.push(`${figure.id}: drawn at ${box.width}x${box.height}`);
    const shapes = svg.querySelectorAll('path, polyline, polygon, circle, rect, line').length;
    if (shapes < 50) problems.push(`${figure.id}: ${shapes} shapes`);
  }
  for (const img of document.images) {
    if (!(img.complete && img.naturalWidth > 0)) problems.push(`image not loaded: ${img.src.slice(0, 80)}`);
  }
  const text = document.body.innerText.trim().length;
  if (text < 200) problems.push(`nearly blank: ${text} characters of text`);
  if (document.querySelectorAll('tbody tr').length === 0) problems.push('no table rows');
  document.body.dataset.check = problems.length ? `FAIL ${problems.join('; ')}` : `OK ${figures.length} figures`;
})();
</script>
EOF

failed=0
checked=0
for folder in "${folders[@]}"; do
    for report in "$folder"/report.html "$folder"/signal_report.html "$folder"/throughput_report.html; do
        [[ -f $report ]] || continue
        name=$(basename "$report")
        kind=results
        case $name in
            signal_report.html) kind=signal ;;
            throughput_report.html) kind=throughput ;;
        esac
        # As many figures as the manifest says the report's set draws (`figures`, since
        # --png may leave some out of its files), or as it lists PNG files (older sets).
        figures=$(python3 -c '
import json, sys
sets = [s for s in json.load(open(sys.argv[1]))["sets"] if s["kind"] == sys.argv[2]]
print(sum(len(s["figures"]) if "figures" in s else sum(f.endswith(".png") for f in s["files"]) for s in sets))
' "$folder/manifest.json" "$kind")
        page="$scratch/$kind.html"
        # The probe goes just before </body>, so it runs after everything it inspects.
        python3 -c '
import sys
html, probe, figures = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
probe = probe.replace("<script>", f"<script data-figures=\"{figures}\">", 1)
assert html.count("</body>") == 1, "one </body>"
open(sys.argv[4], "w").write(html.replace("</body>", probe + "\n</body>"))
' "$report" "$probe" "$figures" "$page"
        dom=$(timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
            --no-first-run --disable-background-networking --disable-component-update \
            --disable-sync --user-data-dir="$scratch/profile" --window-size=1280,2000 \
            --dump-dom "file://$page" 2>/dev/null)
        verdict=$(grep -o 'data-check="[^"]*"' <<<"$dom" | head -1 | sed 's/^data-check="//; s/"$//')
        checked=$((checked + 1))
        if [[ $verdict == OK* ]]; then
            echo "check-report: $report: $verdict"
        else
            echo "check-report: $report: ${verdict:-the page did not render (no verdict in the DOM)}" >&2
            failed=1
        fi
    done
done
if [[ $checked -eq 0 ]]; then
    echo "check-report: no report found in ${folders[*]}" >&2
    exit 1
fi
exit $failed
