#!/usr/bin/env bash
# Runs every fuzz target for a fixed budget (seconds, default 60) and prints one summary
# line per target. Needs a nightly toolchain and `cargo install cargo-fuzz`.
#   fuzz/run.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")"
budget="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(callback_query user_me token_response jwks id_token)
fi
cargo +nightly fuzz build -O
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    if cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$budget" -print_final_stats=1 >"$log" 2>&1; then
        runs="$(grep -a -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
        echo "$target: $runs executions in ${budget}s, 0 crashes"
    else
        echo "$target: FAILED (see below)"
        tail -n 60 "$log"
        exit 1
    fi
    rm -f "$log"
done
