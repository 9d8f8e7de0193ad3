# tongban: the two commands are `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
  CMAKE_FLAGS += -DTONGBAN_WERROR=ON
endif

.PHONY: all deps configure web build run test test-unit test-integration bench clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

# The web apps (Vue + Element Plus, built by Vite): admin console, approval workbench, hall.
web: deps
	bash scripts/build-web.sh

build: configure web
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Builds, then starts the server on the embedded default (SQLite in ./var, in-memory tickets).
run: build
	bash scripts/run.sh ./$(BUILD_DIR)/tongban $(ARGS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

test-unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L unit -j $(JOBS)

test-integration: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L integration

bench: build
	bash bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) web/admin/dist web/approval/dist web/hall/dist
