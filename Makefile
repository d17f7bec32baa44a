# Makefile - the thin front door over CMake: `make train` (the main job), `make test` and
# `make install`.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local

.PHONY: all build install train test test-release test-generic test-asan test-clang test-tsan test-fuzz clean

all: build

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build build -j$(JOBS)

# Install libfovea.a, fovea.h, the fovea CLI and fovea.pc under PREFIX (lib/, include/, bin/,
# lib/pkgconfig/); DESTDIR stages the same tree elsewhere. A program then builds with
# cc prog.c $(pkg-config --cflags --libs --static fovea)   (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig)
install: build
	cmake --install build --prefix "$(PREFIX)"

# Train LeNet-5 on Fashion-MNIST (Debian's dataset-fashion-mnist) and report the test accuracy.
train: build
	./build/fovea train models/lenet5.fv

# All tests: release build (gcc) at the CPU's best instruction-set level and again with only the
# portable kernels, the same suite under ASan+UBSan, a clang -Werror build, the thread pool and
# parallel ops under ThreadSanitizer, and a short run of every fuzz target.
test: test-release test-generic test-asan test-clang test-tsan test-fuzz

test-release: build
	cd build && ctest --output-on-failure -j$(JOBS)

# The release suite with the kernels held to portable C (FOVEA_ISA, docs/DESIGN.md); the kernel
# tests still run every level the CPU has. The valgrind leak check of the CLI is left to the
# release run (leaks do not depend on the instruction set; it is the slowest test).
test-generic: build
	cd build && FOVEA_ISA=generic ctest --output-on-failure -j$(JOBS) -E '^cli_test_cli_valgrind$$'

test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFV_SANITIZE=ON
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j$(JOBS)

test-clang:
	CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release
	cmake --build build-clang -j$(JOBS)
	cd build-clang && ctest --output-on-failure -j$(JOBS)

test-tsan:
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS=-fsanitize=thread \
		-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
	cmake --build build-tsan -j$(JOBS) --target test_threads test_model
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R '^test_(threads|model)$$'

# The libFuzzer targets (clang, ASan+UBSan) for FUZZ_SECONDS each over a copy of the committed
# corpus; any crash, leak, timeout or out-of-memory fails (tests/fuzz/README.md).
FUZZ_SECONDS ?= 15
test-fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFV_FUZZ=ON -DFV_SANITIZE=ON
	cmake --build build-fuzz -j$(JOBS) --target fuzzers
	tests/fuzz/run.sh -t $(FUZZ_SECONDS) build-fuzz

clean:
	rm -rf build build-asan build-clang build-tsan build-fuzz
