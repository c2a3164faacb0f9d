#!/usr/bin/env bash
# The kit on a GPU, to run when one is at hand (no GPU has been lent to this project yet).
# Prints what it measured: the kit check, the mistake gallery and the chapter's pipeline on CUDA.
#   bash bench/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
python - <<'PY' || { echo "gpu_check: no CUDA device visible to torch; nothing to measure"; exit 2; }
import sys, torch
if not torch.cuda.is_available():
    sys.exit(1)
print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
PY
status=0
step() {  # step NAME COMMAND...: run it, print its exit status and wall time
  local name=$1; shift
  local started=$SECONDS
  "$@" > "/tmp/gpu_check.$name.log" 2>&1
  local code=$?
  printf '%-10s exit %d in %4d s  (log: /tmp/gpu_check.%s.log)\n' "$name" "$code" $((SECONDS - started)) "$name"
  [ "$code" -eq 0 ] || status=1
}
step check python -m grader check --device cuda
step gallery env GRADER_TEST_DEVICE=cuda python -m pytest -q tests/test_gallery.py tests/test_kit.py
step train python -m grader train --solutions --device cuda --model both --epochs 2 --out "$(mktemp -d)/run"
grep -h -E "passed|failed" /tmp/gpu_check.gallery.log | tail -1
exit $status
