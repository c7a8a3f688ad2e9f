# Quick start: `make run` and `make test` on a fresh Debian 12 machine as root.
BUILD ?= build
JOBS ?= $(shell nproc)
# What building and running needs; the test suite needs a few more.
RUN_PACKAGES = build-essential g++ cmake pkg-config libgc-dev libunwind-dev libdw-dev zlib1g-dev
# (clang-tidy-14 and cppcheck: the lint tests, rc.lint.*, are part of `make test`; heaptrack,
# redis-server and nginx-light: the real components the over-time and daemon tests run.)
TEST_PACKAGES = $(RUN_PACKAGES) python3 libcmocka-dev check libgtest-dev chromium liblsan0 valgrind \
                clang-14 libclang-rt-14-dev clang-tidy-14 cppcheck perl git tcl sqlite3 gdb golang-go curl \
                heaptrack redis-server nginx-light
# bench/run draws its scaling table with gnuplot.
BENCH_PACKAGES = $(TEST_PACKAGES) gnuplot-nox
DEB_PACKAGES ?= $(RUN_PACKAGES)

.PHONY: all deps build run test stress bench clean
test stress: DEB_PACKAGES = $(TEST_PACKAGES)
bench: DEB_PACKAGES = $(BENCH_PACKAGES)

all: build

# Install only what is missing (dpkg-query), so a second run costs nothing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# The bundled example: a config-reloading service that leaks on one error path.
run: build
	$(BUILD)/reachcheck --json=$(BUILD)/config_reload.json --exitcode=0 -- $(BUILD)/config_reload

# The whole normal suite: every test not labelled stress (tests/CMakeLists.txt
# describes the labels; `ctest -L heap` etc. select by layer).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE stress

stress: build
	cd $(BUILD) && ctest --output-on-failure -L stress --timeout 600

bench: build
	bench/run --plot bench/scaling.svg

clean:
	rm -rf $(BUILD)
