# poll.sh SECONDS [DEADLINE_EPOCH]: wait until the round is done, SECONDS pass or the deadline comes
source scripts/experiments/gpu_round/env.sh
end=$(( $(date +%s) + $1 )); [ -n "${2:-}" ] && [ "$2" -lt "$end" ] && end=$2
while [ "$(date +%s)" -lt "$end" ] && [ ! -f $ROUND/logs/round.done ]; do sleep 10; done
echo "polled until $(date +%T), $(( $(date +%s) - $(cat /tmp/t0 2>/dev/null || date +%s) )) s after setup began"
