#!/usr/bin/env bash
# Waits for the flak Indexed Job to finish, saves each pod's results (its log) as
# <out>/shard-<index>.json, and merges them exactly into <out>/merged.json.
# Usage: deploy/k8s/collect.sh [JOB] [OUT_DIR]      (kubectl's current namespace)
set -euo pipefail
job="${1:-flak-load}"
out="${2:-flak-results}"
flak="${FLAK:-flak}"
mkdir -p "$out"
completions="$(kubectl get job "$job" -o jsonpath='{.spec.completions}')"
echo "waiting for $completions shards of job/$job ..." >&2
kubectl wait --for=condition=complete "job/$job" --timeout="${TIMEOUT:-1h}" >&2
files=()
for ((i = 0; i < completions; i++)); do
  pod="$(kubectl get pods -l "job-name=$job,batch.kubernetes.io/job-completion-index=$i" \
    -o jsonpath='{.items[0].metadata.name}')"
  file="$out/shard-$i.json"
  kubectl logs "$pod" >"$file"
  files+=("$file")
done
"$flak" merge "${files[@]}" -o "$out/merged.json"
echo "merged $completions shards into $out/merged.json" >&2
