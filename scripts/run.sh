#!/bin/sh
# The main job of `make run`, on the embedded default store (LMDB under
# $XDG_CACHE_HOME/tutorcache; no Redis needed): train the example intent
# model, classify the example questions twice (the second time every
# answer comes from the shared cache), then show the plain cache calls.
# Each step is a separate process, as a shell script would run them.
set -u
tc=${1:-build/tutorcache}
dir=$(dirname "$tc")
model="$dir/intents.tcm"

step() { printf '\n$ tutorcache %s\n' "$*"; }

printf 'tutorcache %s, store %s\n' \
	"$("$tc" --version | cut -d' ' -f2)" \
	"$("$tc" config | sed -n 's/.*"store":"\([^"]*\)".*/\1/p')"

step train examples/intents.jsonl -o "$model"
"$tc" train examples/intents.jsonl -o "$model" || exit 1

# Answers are cached under the model's fingerprint; training on two
# threads is not bit-reproducible, so each run's model starts uncached.
step classify --model "$model" --format table '< examples/questions.txt'
"$tc" classify --model "$model" --format table <examples/questions.txt ||
	exit 1
echo "(first time: every answer computed by the model)"

step classify --model "$model" --format table '< examples/questions.txt'
"$tc" classify --model "$model" --format table <examples/questions.txt ||
	exit 1
echo "(a new process: every answer from the shared store, l2)"

step classify --model "$model" '"How do I fix a segfault in my C program?"'
"$tc" classify --model "$model" "How do I fix a segfault in my C program?" ||
	exit 1

ns=ml_model_predictions
key="student:42/lesson:7"
value='{"student":42,"next_lesson":8,"mastery":0.82}'
"$tc" del "$ns" "$key" >/dev/null 2>&1
step get "$ns" "$key"
"$tc" get "$ns" "$key"
echo "(exit $?: a miss)"
step set "$ns" "$key" "'$value'" --ttl 300
"$tc" set "$ns" "$key" "$value" --ttl 300 || exit 1
step get "$ns" "$key"
"$tc" get "$ns" "$key" || exit 1
echo "(a hit from a second process)"
exit 0
