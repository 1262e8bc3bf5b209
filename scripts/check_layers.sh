#!/bin/sh
# scripts/check_layers.sh BUILD - the library's layers, checked: run by
# `make check-layers` (and so by `make check`) on the objects of BUILD.
#
# The layers, from the bottom (ARCHITECTURE.md says what each holds):
#   base < store < cache < model < classify < feedback < report < api
# 1. A file of lib/ includes only headers of its own layer or of a lower
#    one ("base/internal.h" from lib/cache/ is fine, "report/..." is not).
# 2. The CLI includes no header of lib/ (it builds against include/ only).
# 3. No object of lib/ calls (or reads) a name defined in a higher layer.
# 4. No files call each other in a loop, and no folders (layers) do.
# 5. Public functions (tc_*) are defined in lib/api/ only, and nothing in
#    lib/ calls one: inside the library, code calls the tc__ functions
#    behind the doors, so no call clears the error slot behind its caller.
# Rules 3 to 5 read the objects' symbol tables with nm, so they see every
# call the linker sees. Prints each breach and exits 1 when there is one.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
layers="base store cache model classify feedback report api"
fail=0

rank() {
	r=0
	for l in $layers; do
		[ "$l" = "$1" ] && {
			echo $r
			return
		}
		r=$((r + 1))
	done
	echo -1
}

# ---- 1 and 2: includes ---------------------------------------------------
for f in $(find lib -name '*.[ch]' | sort); do
	own=$(echo "$f" | cut -d/ -f2)
	mine=$(rank "$own")
	if [ "$mine" -lt 0 ]; then
		echo "check-layers: $f: not in a layer's folder ($layers)"
		fail=1
		continue
	fi
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		case $inc in
		*/*) dir=$(echo "$inc" | cut -d/ -f1) ;;
		tutorcache.h) continue ;;
		*)
			echo "check-layers: $f: includes \"$inc\" without its layer's folder"
			fail=1
			continue
			;;
		esac
		theirs=$(rank "$dir")
		if [ "$theirs" -gt "$mine" ]; then
			echo "check-layers: $f ($own) includes $inc ($dir): a higher layer"
			fail=1
		fi
	done
done
for f in $(find cli -name '*.[ch]' | sort); do
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		dir=$(echo "$inc" | cut -d/ -f1)
		if [ "$dir" != "$inc" ] && [ "$(rank "$dir")" -ge 0 ]; then
			echo "check-layers: $f includes $inc: the CLI sees include/ only"
			fail=1
		fi
	done
done

# ---- 3 and 4: calls, from the symbol tables -------------------------------
# only objects of sources that exist: a build folder may keep objects of
# files since moved or deleted, which the library no longer links
objs=$(find "$build/lib" -name '*.o' 2>/dev/null | sort | while read -r o; do
	s=${o#"$build"/}
	[ ! -f "${s%.o}.c" ] || echo "$o"
done)
if [ -z "$objs" ]; then
	echo "check-layers: no objects under $build/lib (run make first)"
	exit 2
fi
# one line per (object, kind, symbol): kind D defined, U used
for o in $objs; do
	src=${o#"$build"/}
	src=${src%.o}.c
	nm -g "$o" | awk -v f="$src" '
		$1 == "U" { print f, "U", $2; next }
		NF == 3 && $2 ~ /^[BDRTV]$/ { print f, "D", $3 }'
done | awk -v layers="$layers" '
	BEGIN {
		n = split(layers, L, " ")
		for (i = 1; i <= n; i++) rank[L[i]] = i
	}
	function layer(f,   p) { split(f, p, "/"); return p[2] }
	$2 == "D" {
		def[$3] = $1
		if ($3 ~ /^tc_[a-z]/ && layer($1) != "api") {
			printf "check-layers: %s defines %s: public functions are doors of lib/api/\n", $1, $3
			bad = 1
		}
		next
	}
	{ use[++nu] = $1; sym[nu] = $3 }
	END {
		for (i = 1; i <= nu; i++) {
			a = use[i]; b = def[sym[i]]
			if (b == "" || a == b) continue
			if (sym[i] ~ /^tc_[a-z]/) {
				printf "check-layers: %s calls %s, a door: call what it calls\n", a, sym[i]
				bad = 1
			}
			if (!((a, b) in edge)) {
				edge[a, b] = sym[i]
				out[a] = out[a] " " b
				files[a]; files[b]
			}
			la = layer(a); lb = layer(b)
			if (rank[lb] > rank[la]) {
				printf "check-layers: %s (%s) calls %s of %s (%s): a higher layer\n",
				    a, la, sym[i], b, lb
				bad = 1
			}
			if (la != lb && !((la, lb) in ledge)) {
				ledge[la, lb] = a " -> " b " (" sym[i] ")"
				lout[la] = lout[la] " " lb
				layersused[la]; layersused[lb]
			}
		}
		# loops of files, then of layers: a depth-first search for a back edge
		for (f in files) state[f] = 0
		for (f in files) if (state[f] == 0) dfs(f, 0)
		for (l in layersused) lstate[l] = 0
		for (l in layersused) if (lstate[l] == 0) ldfs(l, 0)
		exit bad
	}
	function dfs(f, d,   k, m, t, j) {
		state[f] = 1; stack[d] = f
		m = split(out[f], t, " ")
		for (k = 1; k <= m; k++) {
			if (state[t[k]] == 1) {
				printf "check-layers: files calling each other in a loop:"
				for (j = d; j >= 0 && stack[j] != t[k]; j--) ;
				for (; j <= d; j++) printf " %s ->", stack[j]
				printf " %s (%s)\n", t[k], edge[f, t[k]]
				bad = 1
			} else if (state[t[k]] == 0) dfs(t[k], d + 1)
		}
		state[f] = 2
	}
	function ldfs(l, d,   k, m, t, j) {
		lstate[l] = 1; lstack[d] = l
		m = split(lout[l], t, " ")
		for (k = 1; k <= m; k++) {
			if (lstate[t[k]] == 1) {
				printf "check-layers: layers calling each other in a loop:"
				for (j = d; j >= 0 && lstack[j] != t[k]; j--) ;
				for (; j <= d; j++) printf " %s ->", lstack[j]
				printf " %s (%s)\n", t[k], ledge[l, t[k]]
				bad = 1
			} else if (lstate[t[k]] == 0) ldfs(t[k], d + 1)
		}
		lstate[l] = 2
	}' || fail=1

if [ $fail -ne 0 ]; then
	echo "check-layers: see ARCHITECTURE.md for the layers and their rules"
	exit 1
fi
echo "check-layers: $(echo "$objs" | wc -w) objects, the layers hold"
