# gather.sh [final]: the round's state to stdout and $OUT/round.tgz (logs, run records, training
# logs); final also brings back every checkpoint in 15 MB parts (a call returns 8 files of 16 MB)
source scripts/experiments/gpu_round/env.sh
: "${OUT:?OUT must name the folder that comes back}"
echo "$(( $(date +%s) - $(cat /tmp/t0 2>/dev/null || date +%s) )) s after setup began"
cat $ROUND/logs/imports.txt $ROUND/logs/gpus.txt 2>/dev/null; tail -n 2 $ROUND/logs/collect.log 2>/dev/null
for f in $ROUND/logs/*.train.log; do [ -f "$f" ] && { echo "== $f"; tail -c 400 "$f"; echo; }; done
for d in $ROUND/runs/*; do
  [ -f "$d/episodes.jsonl" ] && python3 - "$d" <<'PY'
import collections, json, sys
rows = [json.loads(line) for line in open(sys.argv[1] + "/episodes.jsonl")]
wins = collections.Counter(r["task"] for r in rows if r.get("success"))
print(sys.argv[1].split("/")[-1], f"{sum(wins.values())}/{len(rows)}", dict(wins),
      "errors", sum(bool(r.get("error")) for r in rows))
PY
done
mkdir -p $OUT
(cd $ROUND && tar czf $OUT/round.tgz logs $(ls -d serving 2>/dev/null) $(ls runs/*/summary.csv runs/*/episodes.jsonl runs/*/run.json \
  ckpt/*.log.json ckpt/*.png timing/*.txt timing/*.md timing/*.json timing/*/summary.csv timing/*/run.json \
  timing/*/episodes.jsonl 2>/dev/null))
for f in $ROUND/timing/*.txt $ROUND/serving/*.txt; do [ -f "$f" ] && { echo "== $f"; tail -n 4 "$f"; }; done
if [ "${1:-}" = final ]; then
  for f in $ROUND/ckpt/*.safetensors; do split -b 15M "$f" "$OUT/$(basename "$f" .safetensors).part."; done
  ls -la $OUT
fi
