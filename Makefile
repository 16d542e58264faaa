# vfiokit: the README's commands. Each target installs what it needs first.
BUILD ?= build
MESON_ARGS ?=
# The clang ASan+UBSan build, which also holds the libFuzzer targets.
ASAN_BUILD ?= build-asan
# The clang ThreadSanitizer build: suite threads only.
TSAN_BUILD ?= build-tsan
# Seconds of fuzzing per target: 20 by default, 60 in CI.
FUZZ_SECONDS ?= $(if $(filter true,$(CI)),60,20)
# Every run of `make check` summed into its final line; fuzzing only in CI.
CHECK_LOGS = $(ASAN_BUILD)/meson-logs/testlog-asan.json \
	$(TSAN_BUILD)/meson-logs/testlog-tsan.json \
	$(BUILD)/meson-logs/testlog-valgrind.json \
	$(BUILD)/meson-logs/testlog-peers.json \
	$(if $(filter true,$(CI)),$(ASAN_BUILD)/meson-logs/testlog.json)

.PHONY: all deps build demo check check-asan check-tsan check-valgrind test bench fuzz check-peers clean

all: build

deps:
	@scripts/install-deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_ARGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	@scripts/install-deps.sh demo
	@scripts/demo.sh $(BUILD)

# The plain run, the ASan+UBSan run, the ThreadSanitizer run (suite
# threads), the valgrind run (and fuzzing in CI): a failure in any of them
# is counted in run-tests.sh's one summary line.
check:
	@scripts/install-deps.sh build check
	@$(MAKE) --no-print-directory build
	@scripts/sanitize-check.sh asan $(ASAN_BUILD) || true
	@scripts/sanitize-check.sh tsan $(TSAN_BUILD) || true
	@scripts/sanitize-check.sh valgrind $(BUILD) || true
	@$(if $(filter true,$(CI)),FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(ASAN_BUILD) || true)
	@scripts/peers/check.sh $(BUILD) || true
	@VFK_EXTRA_TESTLOGS="$(CHECK_LOGS)" scripts/run-tests.sh $(BUILD)

check-asan:
	@scripts/install-deps.sh build check
	@scripts/sanitize-check.sh asan $(ASAN_BUILD); \
		python3 scripts/test-summary.py $(ASAN_BUILD)/meson-logs/testlog-asan.json

check-tsan:
	@scripts/install-deps.sh build check
	@scripts/sanitize-check.sh tsan $(TSAN_BUILD); \
		python3 scripts/test-summary.py $(TSAN_BUILD)/meson-logs/testlog-tsan.json

check-valgrind: build
	@scripts/install-deps.sh build check
	@scripts/sanitize-check.sh valgrind $(BUILD); \
		python3 scripts/test-summary.py $(BUILD)/meson-logs/testlog-valgrind.json

fuzz:
	@scripts/install-deps.sh build fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(ASAN_BUILD) --summary

# Measured speed against this machine's floor: table, bench/results/, plots.
bench:
	@scripts/install-deps.sh build bench
	@$(MAKE) --no-print-directory build
	@python3 bench/run.py $(BUILD)

# Real peers (QEMU 11 vfio-user-pci, kernel VFIO in guests): docs/peers.md.
check-peers: build
	@scripts/peers/check.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
