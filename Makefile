# tutorcache - build, test, install.  `make help` lists the targets.

VERSION_MAJOR := $(shell sed -n 's/^\#define TC_VERSION_MAJOR \([0-9]*\)/\1/p' include/tutorcache.h)
VERSION_MINOR := $(shell sed -n 's/^\#define TC_VERSION_MINOR \([0-9]*\)/\1/p' include/tutorcache.h)
VERSION_PATCH := $(shell sed -n 's/^\#define TC_VERSION_PATCH \([0-9]*\)/\1/p' include/tutorcache.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
WERROR ?= 1
BUILD ?= build

# Project flags live apart from the user's CFLAGS/LDFLAGS.
TC_WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
TC_WARN += -Werror
endif
# The library and the tests see lib/ (includes name the layer:
# "base/internal.h"); the CLI sees the public header only.
TC_INC = -Iinclude -Ilib
TC_CFLAGS = -std=c11 -D_GNU_SOURCE $(TC_INC) $(TC_WARN) \
	-fPIC -fvisibility=hidden -pthread -MMD -MP
TC_LIBS := -lhiredis -lssl -lcrypto -lcjson -lxxhash -llmdb -lutf8proc -lsodium -lpthread -lm
TC_TEST_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

SONAME := libtutorcache.so.$(VERSION_MAJOR)

LIB_SRC := $(sort $(shell find lib -name '*.c'))
CLI_SRC := $(sort $(shell find cli -name '*.c'))
TEST_SRC := $(wildcard tests/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

STATIC := $(BUILD)/libtutorcache.a
SHARED := $(BUILD)/libtutorcache.so.$(VERSION)
CLI := $(BUILD)/tutorcache
TESTS := $(BUILD)/check_tutorcache

.PHONY: all deps run check test asan tsan valgrind bench bench-normalize \
	bench-suite bench-corrections bench-hotpath bench-instr examples install uninstall \
	clean help header-check

all: $(STATIC) $(SHARED) $(CLI) $(BUILD)/tutorcache.pc
	@ln -sf $(BUILD)/tutorcache tutorcache 2>/dev/null || true

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TC_CFLAGS) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

$(CLI_OBJ): TC_INC = -Iinclude -Icli
# check_cli_perf.c tests the CLI's latency histogram from its source.
$(BUILD)/tests/check_cli_perf.o: TC_INC = -Iinclude -Ilib -Icli

# The Redis store's Lua scripts, lib/store/redis/lua/NAME.lua, embedded at
# build time: each becomes $(BUILD)/gen/store/redis/lua/NAME.lua.h
# (static const char NAME_lua[]), which redis_script.c includes, so a
# changed script rebuilds it.
LUA_GEN := $(patsubst lib/%,$(BUILD)/gen/%.h,\
	$(wildcard lib/store/redis/lua/*.lua))
$(LIB_OBJ): TC_INC += -I$(BUILD)/gen
$(BUILD)/lib/store/redis/redis_script.o: $(LUA_GEN)
$(BUILD)/gen/%.lua.h: lib/%.lua scripts/lua2c.sh
	@mkdir -p $(dir $@)
	sh scripts/lua2c.sh $< > $@.tmp && mv $@.tmp $@

$(STATIC): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -pthread $(CFLAGS) $(LDFLAGS) -o $@ $^ $(TC_LIBS)
	ln -sf libtutorcache.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libtutorcache.so

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) -pthread $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(TC_LIBS)

$(TESTS): $(TEST_OBJ) $(STATIC)
	$(CC) -pthread $(CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJ) $(STATIC) $(TC_LIBS) $(TC_TEST_LIBS)

# Filled again at install time, so that the installed file names the
# PREFIX/LIBDIR/INCLUDEDIR given to `make install`.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|'

$(BUILD)/tutorcache.pc: pkgconfig/tutorcache.pc.in include/tutorcache.h
	@mkdir -p $(BUILD)
	$(PC_SED) $< > $@

deps:
	@scripts/deps.sh build

# The main job, on the embedded default store (no Redis needed).
run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	@scripts/run.sh $(BUILD)/tutorcache

# Every test; the suites start their own redis-server on loopback and stop it.
check:
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory all examples $(TESTS) header-check
	@$(MAKE) --no-print-directory check-layers format-check
	scripts/install_check.sh $(BUILD)
	tests/install_docs.sh $(BUILD)
	TC_BUILD=$(BUILD) $(TESTS)
	@$(MAKE) --no-print-directory fuzz-replay
	@$(MAKE) --no-print-directory check-readme

test: check

# The layers of lib/ hold: no include or call runs up, no loops, public
# functions only in lib/api/ (ARCHITECTURE.md, scripts/check_layers.sh).
.PHONY: check-layers
check-layers: $(STATIC)
	scripts/check_layers.sh $(BUILD)

# One style, applied by clang-format (.clang-format) to every C file but
# examples/readme/, whose files are the README's blocks verbatim.
FORMAT_FILES := $(filter-out examples/readme/%,$(wildcard include/*.h \
	lib/*/*.[ch] lib/*/*/*.[ch] cli/*.[ch] cli/*/*.[ch] tests/*.[ch] \
	tests/*/*.[ch] bench/*.[ch] examples/*.[ch]))
.PHONY: format format-check
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@command -v clang-format >/dev/null || scripts/deps.sh check
	@clang-format --dry-run -Werror $(FORMAT_FILES)
	@echo "format-check: $(words $(FORMAT_FILES)) files as clang-format writes them"

# Every example in README.md built or run (tests/readme.sh).
.PHONY: check-readme
check-readme: all examples
	@scripts/deps.sh check
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" TC_LIBS="$(TC_LIBS)" tests/readme.sh $(BUILD)

# The header alone, as C99 and as C++.
header-check:
	@mkdir -p $(BUILD)
	printf '#include <tutorcache.h>\nint main(void){return tc_version()==0;}\n' > $(BUILD)/hc.c
	$(CC) -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only $(BUILD)/hc.c
	printf '#include <tutorcache.h>\nint main(){return tc_version()==0;}\n' > $(BUILD)/hc.cc
	$${CXX:-g++} -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only $(BUILD)/hc.cc

# AddressSanitizer (leaks included) and UBSan with no report recovered,
# built twice: by $(CC) in build-asan and by clang in build-asan-clang,
# whose UBSan checks more (pointer arithmetic on NULL, among others). Each
# build runs the whole test binary (the CLI suites run its tutorcache, the
# service suites its intent_service) and its cache_demo once.
# ASAN_CCS=clang (or $(CC)) runs one of them. Check's per-case timeouts
# are stretched (CK_TIMEOUT_MULTIPLIER, 4 unless set): a sanitized build
# runs several times slower, and a timeout there is the machine's load,
# not a finding.
ASAN_CCS ?= $(CC) clang
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
ASAN_LDFLAGS := -fsanitize=address,undefined

asan:
	@scripts/deps.sh check
	@scripts/deps.sh examples
	@set -e; for cc in $(ASAN_CCS); do \
	  case $$cc in *clang*) b=build-asan-clang ;; *) b=build-asan ;; esac; \
	  echo "== make asan: $$cc in $$b"; \
	  $(MAKE) --no-print-directory BUILD=$$b CC=$$cc \
	    CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" \
	    $$b/check_tutorcache $$b/tutorcache; \
	  $(MAKE) --no-print-directory -C examples CC=$$cc \
	    BUILD=$(abspath .)/$$b OUT=$(abspath .)/$$b \
	    CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)" \
	    $(abspath .)/$$b/intent_service $(abspath .)/$$b/cache_demo; \
	  export ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-4}; \
	  $$b/cache_demo memory: >/dev/null; \
	  TC_BUILD=$$b TC_SERVICE=$$b/intent_service $$b/check_tutorcache; \
	done

# The suites (or suite:case) whose threads ThreadSanitizer watches.
TSAN_SUITES ?= concurrency l1 cache_ns model_memory:concurrency coherence:race classify_hit \
	shadow:shadow served

tsan:
	@scripts/deps.sh check
	$(MAKE) --no-print-directory BUILD=build-tsan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" \
	  build-tsan/check_tutorcache build-tsan/tutorcache
	for s in $${CK_RUN_SUITE:-$(TSAN_SUITES)}; do \
	  c=$${s#*:}; [ "$$c" != "$$s" ] || c=; \
	  env TC_BUILD=build-tsan CK_RUN_SUITE=$${s%%:*} $${c:+CK_RUN_CASE=$$c} \
	    CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-4} \
	    build-tsan/check_tutorcache || exit 1; done

valgrind: all examples $(TESTS)
	@scripts/deps.sh check
	@command -v valgrind >/dev/null || scripts/deps.sh valgrind
	TC_BUILD=$(BUILD) TC_VALGRIND=1 CK_FORK=no valgrind --error-exitcode=1 --child-silent-after-fork=yes \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --suppressions=tests/valgrind.supp $(TESTS)

# ---- fuzzing (tests/fuzz/) ------------------------------------------------
# One libFuzzer harness per parser of outside input, built by clang with
# ASan and UBSan against a copy of the library compiled for coverage in
# $(FUZZ_BUILD). `make fuzz-replay` (part of check) runs every seed corpus
# once; `make fuzz` fuzzes each harness for FUZZ_SECONDS on a copy of its
# corpus (FUZZ_MERGE=1 merges new inputs back into tests/fuzz/corpus/;
# FUZZ_FLAGS adds libFuzzer flags; FUZZ_NAMES picks harnesses).
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_MERGE ?= 0
# UBSan recovers here so that tests/fuzz/ubsan.supp can silence a known
# finding; run.sh sets halt_on_error=1, so any other report still fails.
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_NAMES := $(filter-out common,$(patsubst tests/fuzz/fuzz_%.c,%,\
	$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_DEPS := tests/fuzz/fuzz_common.c tests/fuzz/fuzz_common.h \
	$(FUZZ_BUILD)/libtutorcache.a $(shell find include lib -name "*.h")
# What some harnesses need beyond the library: the URL harness sees each
# message's arguments through a wrapped tc__errf; the service harness
# links the example service's files (all but its main) and answers
# through two wrapped libmicrohttpd calls.
FUZZ_LDFLAGS_url := -Wl,--wrap=tc__errf
FUZZ_SRC_service := $(wildcard examples/service_*.c)
FUZZ_CFLAGS_service := -Iexamples $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
FUZZ_LDFLAGS_service := -Wl,--wrap=MHD_queue_response \
	-Wl,--wrap=MHD_create_response_from_buffer_with_free_callback \
	$(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-findings fuzz-clean

# The library first, by its own rules in a sub-make; then the harnesses.
# Objects built with other flags than these are built again.
fuzz-build:
	@scripts/deps.sh check
	@mkdir -p $(FUZZ_BUILD)
	@echo '$(FUZZ_CC) $(FUZZ_SAN)' | cmp -s - $(FUZZ_BUILD)/flags || { \
	  rm -rf $(FUZZ_BUILD)/lib $(FUZZ_BUILD)/libtutorcache.a $(FUZZ_BINS); \
	  echo '$(FUZZ_CC) $(FUZZ_SAN)' > $(FUZZ_BUILD)/flags; }
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	  CFLAGS="-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_BUILD)/libtutorcache.a
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_service: $(FUZZ_SRC_service) examples/service.h

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -Itests/fuzz $(TC_WARN) \
	  -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -pthread $(FUZZ_CFLAGS_$*) \
	  -o $@ $< tests/fuzz/fuzz_common.c $(FUZZ_SRC_$*) \
	  $(FUZZ_BUILD)/libtutorcache.a $(FUZZ_LDFLAGS_$*) $(TC_LIBS)

fuzz-replay: fuzz-build
	tests/fuzz/run.sh replay $(FUZZ_BUILD) $(FUZZ_NAMES)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_MERGE=$(FUZZ_MERGE) FUZZ_FLAGS="$(FUZZ_FLAGS)" \
	  tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_NAMES)

# Which known findings (tests/fuzz/findings/) still reproduce.
fuzz-findings: fuzz-build
	tests/fuzz/run.sh findings $(FUZZ_BUILD) $(FUZZ_NAMES)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

bench: all examples
	@scripts/deps.sh bench
	bench/run.sh $(BUILD)/tutorcache
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/model.sh $(BUILD)/tutorcache
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/feedback.sh $(BUILD)/tutorcache
	bench/perf.sh $(BUILD)/tutorcache
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/suite.sh $(BUILD)/tutorcache
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/corrections.sh $(BUILD)/tutorcache

# Instructions per text of normalization (the cache-hit path), by callgrind.
bench-normalize: $(STATIC)
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/normalize.sh $(BUILD)

# Instructions per call of the hot paths (callgrind), beside a bare hash
# table and, with HOTPATH_BEFORE=DIR, another build of the library.
bench-hotpath: all
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/hotpath.sh $(BUILD)

# The same, named for what it prints: each hot path beside its bare
# baseline, in instructions (HOTPATH_BEFORE=DIR adds a before column),
# then the paths that go to Redis: a feedback submit, mget of 16 and 256.
bench-instr: bench-hotpath
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/instr_redis.sh $(BUILD)

# L1 coherence across processes: invalidation latency between two
# processes, and an L1 hit, L2 read and set with tracking on and off.
.PHONY: bench-coherence
bench-coherence: all
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/coherence.sh $(BUILD)

# Encryption at rest: an L2 get and set with sealing on and off, in one
# run, on Redis and LMDB, and an L2 get's instructions (callgrind).
.PHONY: bench-seal
bench-seal: all
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/seal.sh $(BUILD)

# Shadow checks: an L1 hit with shadow_rate 0 and 0.01, in one run.
.PHONY: bench-shadow
bench-shadow: all
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/shadow.sh $(BUILD)

# The feedback report over many records, against their export.
.PHONY: bench-report
bench-report: all
	bench/report.sh $(BUILD)

# Cache warming: `tutorcache warm` in texts/s on Redis and LMDB, beside
# classify of the same file and the model alone.
.PHONY: bench-warm
bench-warm: all
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/warm.sh $(BUILD)/tutorcache

# docs/feedback-report.png: `tutorcache feedback report` of a small
# history from examples/, rendered by headless Chromium.
.PHONY: bench-report-png
bench-report-png: all
	@scripts/deps.sh report
	bench/report_png.sh $(BUILD)/tutorcache

# The classifier against fastText on many shapes of intent set.
bench-suite: all
	@scripts/deps.sh bench
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/suite.sh $(BUILD)/tutorcache

# Corrections remembered (tc_model_update) against a full retrain, on
# every set of the suite.
bench-corrections: all
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/corrections.sh $(BUILD)/tutorcache

# Faults, measured (RELIABILITY.md): a mixed load while a private Redis is
# killed, paused, slept, filled, flushed and restarted, then an import
# killed half way and rerun; CHAOS_SECONDS (60) of load.
.PHONY: bench-chaos
bench-chaos: all
	CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" bench/chaos.sh $(BUILD)/tutorcache

examples: all
	@scripts/deps.sh examples
	@$(MAKE) --no-print-directory -C examples BUILD=$(abspath $(BUILD))

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/tutorcache.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libtutorcache.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libtutorcache.so
	$(PC_SED) pkgconfig/tutorcache.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/tutorcache.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/tutorcache.pc
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 man/tutorcache.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/libtutorcache.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 completion/tutorcache.bash $(DESTDIR)$(BASHCOMPDIR)/tutorcache

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/tutorcache.h $(DESTDIR)$(LIBDIR)/libtutorcache.* \
	  $(DESTDIR)$(PKGCONFIGDIR)/tutorcache.pc $(DESTDIR)$(BINDIR)/tutorcache \
	  $(DESTDIR)$(MANDIR)/man1/tutorcache.1 $(DESTDIR)$(MANDIR)/man3/libtutorcache.3 \
	  $(DESTDIR)$(BASHCOMPDIR)/tutorcache

clean:
	rm -rf build build-asan build-asan-clang build-tsan tutorcache

help:
	@echo "make            build libtutorcache.a, libtutorcache.so and tutorcache"
	@echo "make run        install what is missing, build, run the demo (LMDB store)"
	@echo "make check      install what is missing, build, run every test (own redis-server)"
	@echo "make format     apply clang-format (.clang-format); make check runs format-check"
	@echo "make check-readme  build or run every example of README.md (tests/readme.sh)"
	@echo "make check-layers  the layers of lib/ hold (ARCHITECTURE.md)"
	@echo "make asan       tests under AddressSanitizer + UBSan, built by cc and by clang (ASAN_CCS)"
	@echo "make tsan       concurrency tests under ThreadSanitizer (CK_RUN_SUITE=suite[:case] to pick)"
	@echo "make valgrind   tests under valgrind"
	@echo "make bench      benchmarks (see BENCHMARKS.md)"
	@echo "make bench-normalize  instructions per text of normalization (callgrind)"
	@echo "make bench-hotpath  instructions per call of the hot paths (callgrind; HOTPATH_BEFORE=DIR)"
	@echo "make bench-instr  the same, each beside its bare baseline, and the Redis paths"
	@echo "make bench-suite  the classifier against fastText, set by set (bench/suite.sh)"
	@echo "make bench-corrections  corrections remembered against retrained (bench/corrections.sh)"
	@echo "make bench-seal  the cost of encryption at rest on L2 gets and sets (bench/seal.sh)"
	@echo "make bench-shadow  the cost of shadow checks on an L1 hit (bench/shadow.sh)"
	@echo "make bench-report  the feedback report over REPORT_N records, against their export (bench/report.sh)"
	@echo "make bench-warm  tutorcache warm in texts/s on Redis and LMDB (bench/warm.sh)"
	@echo "make bench-report-png  docs/feedback-report.png, the feedback report by headless Chromium"
	@echo "make bench-chaos  errors, slow calls and lost feedback under Redis faults (CHAOS_SECONDS=60)"
	@echo "make examples   build the examples"
	@echo "make install    install (PREFIX, DESTDIR, LIBDIR, INCLUDEDIR, BINDIR, PKGCONFIGDIR, MANDIR, BASHCOMPDIR)"
	@echo "make uninstall  remove what install put"
	@echo "make clean      remove build outputs"

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
