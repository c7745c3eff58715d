# dispatchd: the two commands of the quick start are `make demo` and
# `make test`. Each installs what is missing (Debian packages), builds, and
# starts its own PostgreSQL and Redis on loopback under run/.
JOBS ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo

.PHONY: all deps build build-asan up down migrate demo test test-unit bench clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDISPATCH_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

up: deps
	@scripts/up.sh

down:
	@scripts/down.sh

migrate: build up
	@build/dispatchctl migrate --dsn "host=127.0.0.1 port=55432 dbname=dispatchd user=dispatchd"

demo: build up
	@scripts/demo.sh

# Unit tests, then integration tests, in the normal and the sanitizer build.
test: build build-asan up
	@scripts/test.sh

test-unit: build
	@cd build && ctest -L unit --output-on-failure -j $(JOBS)

bench: build up
	@scripts/bench.sh

clean:
	rm -rf build build-asan
