#!/usr/bin/env bash
# Learner training throughput: the C++ learner's two engines (train.engine =
# fused, the hand-written step of learner/fused_step.h, and torch, LibTorch
# autograd) vs a plain PyTorch implementation of the same model, batch and
# data, measured in the same run (alternating rounds, medians); the machine's
# fp32 sgemm peak and each one's share of it; then the sample-wait fraction
# when fed by a real ad-store over gRPC. Bounded to about a minute for
# cpu-demo.
#
# Usage: bench/learner/run_bench.sh [preset=cpu-demo] [threads=2]
# Environment: AD_BUILD_DIR (default build), STEPS (20), WARMUP (3),
# ROUNDS (2), PYTHON (/usr/bin/python3, Debian's python3-torch), PAPER (1:
# also time the paper preset's two engines briefly; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${AD_BIN_DIR:-${AD_BUILD_DIR:-build}/bin}
PRESET=${1:-cpu-demo}
THREADS=${2:-2}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}

tmp=$(mktemp -d)
store_pid=
cleanup() {
  if [[ -n $store_pid ]]; then kill "$store_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$BIN/ad_bench_learner" --preset="$PRESET" --dump_batches="$tmp/batches.bin" \
  --dump_config="$tmp/config.cfg" --dump_count=8 2>/dev/null

field() { sed -n "s/.*[{,]\"$1\":\([0-9.]*\).*/\1/p"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# The machine's fp32 matmul peak at this thread count: a large sgemm.
line=$("$BIN/ad_bench_learner" --peak --threads="$THREADS" 2>/dev/null)
echo "$line"
peak=$(field gflops <<<"$line")

fused=()
torch=()
py=()
fused_cpu=()
torch_cpu=()
py_cpu=()
flops=
for ((r = 0; r < ROUNDS; r++)); do
  line=$("$BIN/ad_bench_learner" --preset="$PRESET" --threads="$THREADS" \
    --steps="$STEPS" --warmup="$WARMUP" --set=train.engine=fused 2>/dev/null)
  echo "$line"
  fused+=("$(field tokens_per_second <<<"$line")")
  fused_cpu+=("$(field cpu_tokens_per_second <<<"$line")")
  flops=$(field train_flops_per_token <<<"$line")
  line=$("$BIN/ad_bench_learner" --preset="$PRESET" --threads="$THREADS" \
    --steps="$STEPS" --warmup="$WARMUP" --set=train.engine=torch 2>/dev/null)
  echo "$line"
  torch+=("$(field tokens_per_second <<<"$line")")
  torch_cpu+=("$(field cpu_tokens_per_second <<<"$line")")
  line=$("$PYTHON" bench/learner/ad_model_pytorch.py --config "$tmp/config.cfg" \
    --batches "$tmp/batches.bin" --threads "$THREADS" --steps "$STEPS" \
    --warmup "$WARMUP")
  echo "$line"
  py+=("$(field tokens_per_second <<<"$line")")
  py_cpu+=("$(field cpu_tokens_per_second <<<"$line")")
done
f=$(median "${fused[@]}")
c=$(median "${torch[@]}")
p=$(median "${py[@]}")
fc=$(median "${fused_cpu[@]}")
cc=$(median "${torch_cpu[@]}")
pc=$(median "${py_cpu[@]}")
awk -v f="$f" -v c="$c" -v p="$p" -v fc="$fc" -v cc="$cc" -v pc="$pc" \
  -v peak="$peak" -v flops="$flops" -v preset="$PRESET" -v t="$THREADS" 'BEGIN {
  printf "learner %s, %d threads (medians of %d alternating rounds):\n", preset, t, '"$ROUNDS"'
  printf "  wall: C++ fused %.0f tokens/s, C++ torch %.0f tokens/s, PyTorch %.0f tokens/s\n", f, c, p
  printf "        fused/PyTorch %.2fx (goal >= 2.5x), torch/PyTorch %.2fx, fused/torch %.2fx\n", f / p, c / p, f / c
  printf "  CPU:  fused %.0f, torch %.0f, PyTorch %.0f tokens/CPU-s\n", fc, cc, pc
  printf "  peak: sgemm %.1f GFLOP/s; %.0f training FLOPs/token (3x forward matmuls + attention)\n", peak, flops
  printf "        share of peak: fused %.1f%%, torch %.1f%%, PyTorch %.1f%% (goal >= 50%%)\n",
    100 * f * flops / 1e9 / peak, 100 * c * flops / 1e9 / peak, 100 * p * flops / 1e9 / peak }'

# Briefly, the paper preset (1.1M parameters, FF 2048, batch 128): the two
# engines, a few steps each (about 30 s more). PAPER=0 skips it.
if [[ ${PAPER:-1} != 0 && $PRESET != paper ]]; then
  pf=$("$BIN/ad_bench_learner" --preset=paper --threads="$THREADS" --steps=2 \
    --warmup=1 --set=train.engine=fused 2>/dev/null)
  echo "$pf"
  pt=$("$BIN/ad_bench_learner" --preset=paper --threads="$THREADS" --steps=2 \
    --warmup=1 --set=train.engine=torch 2>/dev/null)
  echo "$pt"
  awk -v f="$(field tokens_per_second <<<"$pf")" -v c="$(field tokens_per_second <<<"$pt")" \
    -v flops="$(field train_flops_per_token <<<"$pf")" -v peak="$peak" 'BEGIN {
    printf "paper preset: fused %.0f tokens/s (%.1f%% of peak), torch %.0f tokens/s (%.1f%%), fused/torch %.2fx\n",
      f, 100 * f * flops / 1e9 / peak, c, 100 * c * flops / 1e9 / peak, f / c }'
fi

# The real data path: windows from ad-store over gRPC.
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/ad-store" --db="$tmp/db" --port="$port" --metrics_port=-1 \
  --block_cache_mb=32 --write_buffer_mb=8 >"$tmp/store.log" 2>&1 &
store_pid=$!
for _ in $(seq 100); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
line=$("$BIN/ad_bench_learner" --preset="$PRESET" --threads="$THREADS" \
  --steps="$STEPS" --warmup="$WARMUP" --store="127.0.0.1:$port" 2>/dev/null)
echo "$line"
awk -v w="$(field sample_wait_fraction <<<"$line")" -v tps="$(field tokens_per_second <<<"$line")" 'BEGIN {
  printf "fed by ad-store over gRPC: %.0f tokens/s, sample-wait fraction %.2f%% (goal < 5%%)\n", tps, 100 * w }'
