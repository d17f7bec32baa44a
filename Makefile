# Makefile - the thin front door over CMake: `make train` (the main job) and `make test`.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build train test test-release test-asan test-clang clean

all: build

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build build -j$(JOBS)

# Train LeNet-5 on Fashion-MNIST (Debian's dataset-fashion-mnist) and report the test accuracy.
train: build
	./build/fovea train models/lenet5.fv

# All tests: release build (gcc), the same suite under ASan+UBSan, and a clang -Werror build.
test: test-release test-asan test-clang

test-release: build
	cd build && ctest --output-on-failure -j$(JOBS)

test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFV_SANITIZE=ON
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j$(JOBS)

test-clang:
	CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release
	cmake --build build-clang -j$(JOBS)
	cd build-clang && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf build build-asan build-clang
