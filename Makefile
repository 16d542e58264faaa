# vfiokit: the README's commands. Each target installs what it needs first.
BUILD ?= build
MESON_ARGS ?=

.PHONY: all deps build demo check test bench fuzz check-peers clean

all: build

deps:
	@scripts/install-deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_ARGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	@scripts/demo.sh $(BUILD)

check:
	@scripts/install-deps.sh build check
	@$(MAKE) --no-print-directory build
	@scripts/run-tests.sh $(BUILD)

clean:
	rm -rf $(BUILD)
