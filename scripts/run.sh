#!/bin/sh
# The main job of `make run`: a short cache demonstration on the embedded
# default store (LMDB under $XDG_CACHE_HOME/tutorcache; no Redis needed).
# Each step is a separate process, so a hit shows the shared L2 at work.
set -u
tc=${1:-build/tutorcache}
ns=ml_model_predictions
key="student:42/lesson:7"
value='{"student":42,"next_lesson":8,"mastery":0.82}'

step() { printf '\n$ tutorcache %s\n' "$*"; }

printf 'tutorcache %s demo: store %s\n' \
	"$("$tc" --version | cut -d' ' -f2)" \
	"$("$tc" config | sed -n 's/.*"store":"\([^"]*\)".*/\1/p')"
"$tc" del "$ns" "$key" >/dev/null 2>&1 # a fresh start: the first get misses

step get "$ns" "$key"
"$tc" get "$ns" "$key"
echo "(exit $?: a miss, nothing cached yet)"

step set "$ns" "$key" "'$value'" --ttl 300
"$tc" set "$ns" "$key" "$value" --ttl 300 || exit 1
echo "(exit $?: stored for 300 s)"

step get --tier "$ns" "$key"
"$tc" get --tier "$ns" "$key" 2>&1 || exit 1
echo "(a second process: the hit came from the shared store, l2)"

step del "$ns" "$key"
"$tc" del "$ns" "$key" || exit 1
"$tc" get "$ns" "$key"
echo "(exit $?: gone)"

step get no_such_namespace "$key"
"$tc" get no_such_namespace "$key"
echo "(exit $?: an unknown namespace is an error, not a silent default)"
exit 0
