# eventarc-retrain — build, test, run.
#
#   make            build/retrain-fcgi, build/retrainctl, build/gcp-emulator
#   make test       install missing Debian packages, check that deps.sh provides every program
#                   the scripts run, build, unit tests (plain and ASan+UBSan), fuzz corpora as
#                   regression tests, end-to-end tests through nginx over TLS
#   make run        the whole service on https://127.0.0.1:8443/ with the local Google emulator
#   make bench      benchmarks (figures printed beside their baselines)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make format / make format-check / make lint / make check-circles / make clean
#                   (make test runs the checks too)

BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CC      ?= cc
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)

CPPFLAGS += -D_GNU_SOURCE -Isrc -Ifcgi
CFLAGS   := -std=c17 -Wall -Wextra -Werror -g $(OPT) $(SAN) -MMD -MP
LDFLAGS  := $(SAN)
LIBS     := -lcurl -ljansson -lsodium -lsqlite3 -lpq -lssl -lcrypto -lpthread -lm

LIB_SRC   := $(filter-out src/retrainctl.c,$(wildcard src/*.c))
POOL_SRC  := $(filter-out fcgi/main.c fcgi/trivial.c,$(wildcard fcgi/*.c))
EMU_SRC   := $(wildcard tests/emulator/*.c)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
SUPPORT_SRC := $(wildcard tests/unit/support/*.c)
BENCH_SRC := $(wildcard bench/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB       := $(BUILD)/libretrain.a
POOL_LIB  := $(BUILD)/libpool.a
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BINS      := $(BUILD)/retrain-fcgi $(BUILD)/retrainctl $(BUILD)/gcp-emulator $(BUILD)/fcgi-trivial \
             $(BUILD)/loadgen $(BUILD)/jsonl-check

.PHONY: all unit-bins bench-bins e2e-bins fuzz-bins fuzz-seeds test unit unit-asan fuzz-regress e2e run bench fuzz chaos deps deps-bench check-deps check-circles format format-check lint clean
all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(POOL_LIB): $(call obj,$(POOL_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/retrain-fcgi: $(call obj,fcgi/main.c) $(POOL_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi $(LIBS)

$(BUILD)/fcgi-trivial: $(call obj,fcgi/trivial.c)
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi

$(BUILD)/loadgen: $(call obj,tests/tools/loadgen.c)
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl -ljansson

$(BUILD)/jsonl-check: $(call obj,tests/tools/jsonl_check.c)
	$(CC) $(LDFLAGS) -o $@ $^ -ljansson

$(BUILD)/retrainctl: $(call obj,src/retrainctl.c) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/gcp-emulator: $(call obj,$(EMU_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd $(LIBS)

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(call obj,$(SUPPORT_SRC)) $(POOL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -lfcgi $(LIBS)

unit-bins: $(UNIT_BINS) $(BINS)

# Each bench/NAME.c is the micro-benchmark build/bench/NAME (linked with libretrain.a).
$(BUILD)/bench/%: $(call obj,bench/%.c) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

bench-bins: $(BENCH_BINS)
.SECONDARY: $(call obj,$(BENCH_SRC))

# The live tests of the Vertex AI client against the emulator (tests/e2e/test_vertex_client.sh).
$(BUILD)/e2e/vertex_live: $(call obj,tests/e2e/vertex_live.c) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS)

e2e-bins: $(BUILD)/e2e/vertex_live

# ---- fuzz targets ------------------------------------------------------------------------
# Each tests/fuzz/fuzz_NAME.c is the libFuzzer target $(BUILD)/fuzz/fuzz_NAME, linked with every
# src/*.c but the programs' mains (retrainctl.c, cmd_*.c), all built with clang's fuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer instrumentation (tests/fuzz/run.sh runs them).
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -std=c17 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -MMD -MP
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_OBJS   := $(patsubst src/%.c,$(BUILD)/fuzz/obj/%.o,$(filter-out src/retrainctl.c src/cmd_%.c,$(wildcard src/*.c)))

$(BUILD)/fuzz/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(LIBS)

fuzz-bins: $(FUZZ_BINS)

# The seed corpora made of the case files (tests/data/), each target's under
# $(BUILD)/fuzz/seeds/NAME/, beside the hand-written seeds of tests/fuzz/corpus/NAME/ that no
# case file holds; the unit runners write them (their --seeds), so a seed is a case, not a copy.
FUZZ_SEEDS := $(BUILD)/fuzz/seeds
fuzz-seeds: $(addprefix $(BUILD)/tests/test_,ce_cases delivery_cases config_cases body_cases)
	rm -rf $(FUZZ_SEEDS) && mkdir -p $(FUZZ_SEEDS)/config
	$(BUILD)/tests/test_ce_cases --seeds $(FUZZ_SEEDS)
	$(BUILD)/tests/test_delivery_cases --seeds $(FUZZ_SEEDS)
	$(BUILD)/tests/test_config_cases --seeds $(FUZZ_SEEDS)
	$(BUILD)/tests/test_body_cases --seeds $(FUZZ_SEEDS)
	cp examples/config.json $(FUZZ_SEEDS)/config/example.json

# ---- tests -------------------------------------------------------------------------------
deps:
	@scripts/deps.sh

deps-bench:
	@scripts/deps.sh bench

# Every program a script under tests/, scripts/ or bench/ runs comes from a package deps.sh
# installs (or an essential one): what works here by a hand install fails on a fresh machine.
check-deps:
	scripts/check-deps.sh

# No source file calls back into one that calls it (but the ledger's factory): layers call down.
check-circles: all
	scripts/check-circles.py $(BUILD)/obj/src
	scripts/check-circles.py $(BUILD)/obj/fcgi

test: deps
	$(MAKE) check-deps
	$(MAKE) format-check lint
	$(MAKE) -j$(JOBS) all unit-bins
	$(MAKE) check-circles
	tests/run-unit.sh $(BUILD)/tests
	$(MAKE) unit-asan
	$(MAKE) fuzz-regress
	$(MAKE) e2e

unit: unit-bins
	tests/run-unit.sh $(BUILD)/tests

# The same unit tests, built again with AddressSanitizer and UndefinedBehaviorSanitizer.
unit-asan:
	$(MAKE) -j$(JOBS) BUILD=build/asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit-bins
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run-unit.sh build/asan/tests

fuzz-regress:
	tests/fuzz/run.sh regress

fuzz: deps
	tests/fuzz/run.sh fuzz $${FUZZ_SECONDS:-60}

# The unit runners of the case files also carry them to the end-to-end loops (their --emit modes).
e2e: all e2e-bins $(BUILD)/tests/test_ce_cases $(BUILD)/tests/test_delivery_cases
	tests/e2e/run.sh

chaos: deps all
	tests/chaos/chaos.sh long

run: deps all
	scripts/run.sh

bench: deps-bench all bench-bins
	rc=0; bench/run.sh || rc=1; [ -n "$$BENCH_SKIP_PROMOTE" ] || bench/promote.sh || rc=1; exit $$rc

# ---- hygiene -----------------------------------------------------------------------------
FORMAT_FILES = $(wildcard src/*.[ch] fcgi/*.[ch] tests/unit/*.[ch] tests/unit/support/*.[ch] \
                          tests/emulator/*.[ch] tests/fuzz/*.c tests/tools/*.c tests/e2e/*.c \
                          bench/*.c)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# cppcheck on the C of src/, fcgi/, tests/ (the emulator, the unit tests and their support, the
# fuzz targets, the tools, vertex_live) and bench/; shellcheck on every shell script.
SHELL_SCRIPTS = $(wildcard scripts/*.sh tests/*.sh tests/*/*.sh bench/*.sh .ci/run)
SHELLCHECK    = shellcheck --external-sources --source-path=SCRIPTDIR
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--suppress=missingIncludeSystem --inline-suppr -D_GNU_SOURCE -Isrc -Ifcgi -Itests/unit \
		src fcgi tests bench
	$(SHELLCHECK) $(SHELL_SCRIPTS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz -name '*.d' 2>/dev/null)
