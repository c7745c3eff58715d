# dispatchd: the two commands of the quick start are `make demo` and
# `make test`. Each installs what is missing (Debian packages) and builds.
# `make demo` (and `make up`) start the shared PostgreSQL and Redis on the
# fixed loopback ports of scripts/env.sh; `make test` never touches them:
# every integration test starts its own private instances on free ports.
JOBS ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo

.PHONY: all deps build build-asan build-fuzz package up down migrate demo test test-unit fault-long fuzz valgrind bench clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDISPATCH_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

# libFuzzer harnesses need clang. The target `fuzzers` builds every
# harness of tests/CMakeLists.txt (FUZZ_HARNESSES).
build-fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBUILD_FUZZERS=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers

# The Debian package build/dispatchd_VERSION_ARCH.deb (CPack DEB, packaging/).
package: build
	@cmake --build build --target package

up: deps
	@scripts/up.sh

down:
	@scripts/down.sh

migrate: build up
	@build/dispatchctl migrate --dsn "host=127.0.0.1 port=55432 dbname=dispatchd user=dispatchd"

demo: build up
	@scripts/demo.sh

# Unit and integration tests in the normal and the sanitizer build, then the
# fuzzers. No `up`: the tests neither need nor leave any shared service.
test: build build-asan build-fuzz
	@scripts/test.sh

test-unit: build
	@cd build && ctest -L unit --output-on-failure -j $(JOBS)

# The fault tests at length: 200 SIGKILL rounds instead of the 20 of `make
# test` (docs/reliability.md); figures in build/reliability.txt.
fault-long: build
	@cd build && FAULT_ROUNDS=200 ctest -L fault --output-on-failure

# Every libFuzzer harness for FUZZ_SECONDS (default an hour) each, JOBS at a
# time (scripts/fuzz.sh): new inputs in build-fuzz/fuzz-new/, crashing ones
# listed; executions per harness in build/reliability.txt (fuzz_long).
FUZZ_SECONDS ?= 3600
fuzz: build-fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) scripts/fuzz.sh

# The integration tests with dispatchd under valgrind's memcheck (hours on two
# cores: scripts/valgrind.sh); VALGRIND_TESTS=regex picks some.
valgrind: build
	@scripts/valgrind.sh

# Every benchmark, one name=value figure a line (scripts/bench.sh). Runs on
# this checkout's `make up` stack, whose ports are fixed and shared by every
# checkout on the machine: refuses to run if another checkout's holds them.
bench: build up
	@scripts/bench.sh

clean:
	rm -rf build build-asan build-fuzz
