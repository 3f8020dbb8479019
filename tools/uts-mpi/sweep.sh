#!/bin/sh
# Times uts-mpi over a ranks x workers sweep on this host and prints a
# Markdown table of medians: the wall time the program reports, and the CPU
# time (user + system) of the whole mpirun job. On a shared machine the wall
# time depends on the load from other programs, so the CPU time is the
# figure that shows the cost of the MPI layer. The configurations run
# interleaved, one round after another, so that load spreads over all of
# them.
# usage: sweep.sh UTS_MPI_BINARY TREE ROUNDS [RANKSxWORKERS ...]
# example: tools/uts-mpi/sweep.sh build/tools/uts-mpi/uts-mpi T1 5 1x1 1x2 2x1
set -eu

binary=$1
tree=$2
rounds=$3
shift 3
configs=${*:-"1x1 1x2 1x4 2x1 2x2 4x1"}

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 SP_PIN=none
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# One warm-up run, then the rounds.
mpirun --oversubscribe --bind-to none --mca btl self,vader --mca oob_tcp_if_include lo \
    -np 1 "$binary" --tree "$tree" >/dev/null
round=1
while [ "$round" -le "$rounds" ]; do
    for config in $configs; do
        ranks=${config%x*}
        workers=${config#*x}
        output=$(SP_WORKERS=$workers /usr/bin/time -f "cpu: %U %S" mpirun --oversubscribe \
            --bind-to none --mca btl self,vader --mca oob_tcp_if_include lo -np "$ranks" \
            "$binary" --tree "$tree" 2>&1)
        seconds=$(echo "$output" | awk '/^time:/ { print $2 }')
        cpu=$(echo "$output" | awk '/^cpu:/ { print $2 + $3 }')
        echo "$config $ranks $workers $seconds $cpu" >>"$results"
    done
    round=$((round + 1))
done

# Median per configuration. Speedup = wall time of 1 rank with the same
# total number of workers / wall time of this configuration; CPU ratio =
# CPU time of that 1-rank configuration / CPU time of this one.
awk '
    { wall[$1, ++n[$1]] = $4; cpu[$1, n[$1]] = $5; ranks[$1] = $2; workers[$1] = $3 }
    function median(values, c, count,    i, j, t, sorted) {
        for (i = 1; i <= count; i++) sorted[i] = values[c, i]
        for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++)
            if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
        return sorted[int((count + 1) / 2)]
    }
    END {
        for (c in n) { wall_median[c] = median(wall, c, n[c]); cpu_median[c] = median(cpu, c, n[c]) }
        printf "| ranks x workers | total workers | wall time (s) | speedup vs 1 rank, same workers | CPU time (s) | CPU ratio vs 1 rank, same workers |\n"
        printf "|---|---|---|---|---|---|\n"
        for (c in n) order[++k] = c
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
            if (ranks[order[j]] * 100 + workers[order[j]] < ranks[order[i]] * 100 + workers[order[i]]) {
                t = order[i]; order[i] = order[j]; order[j] = t
            }
        for (i = 1; i <= k; i++) {
            c = order[i]; base = "1x" ranks[c] * workers[c]
            speedup = (base in n) ? sprintf("%.2f", wall_median[base] / wall_median[c]) : "n/a"
            ratio = (base in n) ? sprintf("%.2f", cpu_median[base] / cpu_median[c]) : "n/a"
            printf "| %s | %d | %.3f | %s | %.2f | %s |\n", c, ranks[c] * workers[c], wall_median[c], speedup, cpu_median[c], ratio
        }
    }' "$results"
