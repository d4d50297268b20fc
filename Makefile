# Thin wrapper over CMake/Ninja/CTest. `make demo` and `make test` do all set-up.
SHELL := /bin/bash
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)

.PHONY: all deps build demo test format-check tidy test-release build-asan test-asan \
  test-asan-tidy build-tsan test-tsan build-fuzz fuzz clean

all: build

deps:
	bash deploy/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/nsmd run --config config/demo.yaml

# The whole suite: a Release build, the same tests under ASan + UBSan (with
# clang-tidy alongside), a clang build that checks the lock annotations and
# runs the tests under ThreadSanitizer, then each fuzzer for FUZZ_SECONDS on
# its seed corpus.
# Building is CPU-bound and the tests mostly wait on brokers and daemons, so
# each build after the first runs at nice 19 while the tests before it run
# (the tests keep the CPU whenever they want it); its log follows theirs.
test: format-check build
	$(call WHILE_BUILDING,build-asan,test-release)
	$(call WHILE_BUILDING,build-tsan,test-asan-tidy)
	$(call WHILE_BUILDING,build-fuzz,test-tsan)
	$(MAKE) --no-print-directory fuzz

# $(call WHILE_BUILDING,BUILD_TARGET,TEST_TARGET): makes TEST_TARGET while
# BUILD_TARGET is made at nice 19 into $(BUILD)/BUILD_TARGET.log; fails if
# either fails.
define WHILE_BUILDING
nice -n 19 $(MAKE) --no-print-directory $(1) > $(BUILD)/$(1).log 2>&1 & ahead=$$!; \
  ok=0; $(MAKE) --no-print-directory $(2) || ok=1; \
  wait $$ahead || { ok=1; echo "$(1) failed:"; }; \
  echo "--- $(1), built while $(2) ran:"; cat $(BUILD)/$(1).log; exit $$ok
endef

# The code under daemon/, benchmarks/ and tests/ is as .clang-format lays it
# out. In tests/, a statement whose multi-line raw string (a YAML config, a
# JSON event) clang-format 14 would spread apart sits between
# `// clang-format off` and `// clang-format on`.
format-check: deps
	clang-format --dry-run --Werror $$(git ls-files 'daemon/*.cc' 'daemon/*.h' \
	  'benchmarks/*.cc' 'benchmarks/*.h' 'tests/*.cc' 'tests/*.h')

# clang-tidy with the checks in .clang-tidy over daemon/ (and the headers
# it includes from there), from the Release build's compile commands; a
# finding fails it. About 4 minutes on 2 cores.
TIDY_JOBS ?= $(JOBS)
TIDY = run-clang-tidy -p $(BUILD) -j $(TIDY_JOBS) -quiet '$(CURDIR)/daemon/'
tidy: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	$(TIDY)

test-release: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNSMD_SANITIZE=ON -DNSMD_BUILD_BENCHMARKS=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Leaks fail the run too (LSan; known third-party ones go in tests/lsan.supp).
ASAN_CTEST = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)
test-asan: build-asan
	$(ASAN_CTEST)

# The ASan tests spend most of their time waiting on brokers and daemons:
# clang-tidy runs in the background meanwhile, on one core at low priority
# (its output after theirs), and either failing fails the target.
test-asan-tidy: TIDY_JOBS = 1
test-asan-tidy: build-asan
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	nice $(TIDY) > $(BUILD)/tidy.log 2>&1 & tidy=$$!; \
	  ok=0; $(ASAN_CTEST) || ok=1; \
	  wait $$tidy || { ok=1; echo "clang-tidy found problems:"; }; \
	  cat $(BUILD)/tidy.log; exit $$ok

# clang with -Wthread-safety -Wshadow (as errors) and ThreadSanitizer; every
# test runs under it (nsmd itself too, started by the end-to-end tests), and
# a race or lock-order inversion fails it.
# Debian's Abseil and librdkafka are not built for TSan:
# tests/tsan/tsan_interposers.cc tells TSan about their locks and threads.
build-tsan: deps
	CC=clang CXX=clang++ cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNSMD_TSAN=ON -DNSMD_CLANG_CHECKS=ON -DNSMD_BUILD_BENCHMARKS=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS)
test-tsan: build-tsan
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS)

# libFuzzer (clang) on the event decoder and the config loader. A crash, leak
# or sanitizer report fails the target; the input is saved in $(FUZZ_BUILD).
build-fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNSMD_FUZZ=ON -DNSMD_BUILD_TESTS=OFF -DNSMD_BUILD_BENCHMARKS=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target event_decoder_fuzzer config_loader_fuzzer
fuzz: build-fuzz
	# Both fuzzers at once (one per core), each for FUZZ_SECONDS. Each is waited
	# for by its pid: `wait -n` returns 127 when both have already ended.
	cd $(FUZZ_BUILD) && mkdir -p corpus/event_decoder corpus/config_loader && \
	  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 && \
	  (./event_decoder_fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	     -rss_limit_mb=2048 -print_final_stats=1 corpus/event_decoder \
	     $(CURDIR)/tests/fuzz/corpus/event_decoder > event_decoder_fuzzer.log 2>&1 & \
	   decoder=$$!; \
	   ./config_loader_fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	     -rss_limit_mb=2048 -print_final_stats=1 corpus/config_loader \
	     $(CURDIR)/tests/fuzz/corpus/config_loader > config_loader_fuzzer.log 2>&1 & \
	   loader=$$!; \
	   ok=0; wait $$decoder || ok=1; wait $$loader || ok=1; \
	   tail -n 12 event_decoder_fuzzer.log config_loader_fuzzer.log; exit $$ok)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
