# fuzz.mk — libFuzzer harnesses (clang), included by the top Makefile:
#   include tests/fuzz.mk
#
#   make fuzz           build the fuzzers and run each for FUZZ_SECONDS;
#                       skipped (not failed) when clang's libFuzzer is missing
#   make fuzz-build     only build $(B)/fuzz/fuzz_osc, fuzz_conf, fuzz_hdr and
#                       fuzz_recover
#   make fuzz-check     exit 0 when $(FUZZ_CC) can link a libFuzzer program
#
#   fuzz_osc   tests/fuzz_osc.c: osc_dispatch_datagram() (validation, the
#              dispatch table, every handler) on a JACK-less control state
#   fuzz_conf  tests/fuzz_conf.c: conf_load() on arbitrary INI text
#   fuzz_hdr   tests/fuzz_hdr.c: audiohdr_parse() on arbitrary files (the
#              header codec stemcap-check and the recovery share), and the
#              recovery's rewrite of what it parsed, sparse past 4 GiB too
#   fuzz_recover  tests/fuzz_recover.c: recover_takes() on a take of two
#              arbitrary files (the input, and the input cut short) whose
#              manifest says "recording", in $FUZZ_TMPDIR (default /dev/shm);
#              seeds: tests/corpus/hdr/
#
# The daemon's sources are compiled again here with clang and
# -fsanitize=fuzzer,address,undefined into $(B)/fuzz/obj/.  Seeds live in
# tests/corpus/{osc,conf,hdr}/ and are only read (tests/corpus/hdr/README
# says how its real takes were made); what the fuzzers learn goes to
# $(B)/fuzz/corpus/{osc,conf,hdr}/ (kept between runs), crash files to
# $(B)/fuzz/ (crash-*, leak-*, timeout-*).  A crash replays with
#   $(B)/fuzz/fuzz_osc $(B)/fuzz/crash-...
# Needs Debian's clang and libclang-rt-14-dev (the libFuzzer runtime
# libclang_rt.fuzzer-x86_64.a; clang only recommends it).

# Defaults for use without the top Makefile (make -f tests/fuzz.mk).
B          ?= build
FUZZ_PKGS  := jack liblo sndfile inih jansson fftw3f libebur128 nettle
PKG_CFLAGS ?= $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
PKG_LIBS   ?= $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null)

# Keep the including Makefile's default goal (standalone: `fuzz`), and how
# to call make again on the same makefile.
FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)
FUZZ_STANDALONE := $(filter 1,$(words $(MAKEFILE_LIST)))
FUZZ_TOP_MK     := $(firstword $(MAKEFILE_LIST))

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SAN     ?= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  ?= -g -O1
FUZZ_VERSION := $(if $(VERSION),$(VERSION),fuzz)
FUZZ_ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSTEMCAP_VERSION='"$(FUZZ_VERSION)"' -pthread \
                  -Wall -Wextra $(FUZZ_CFLAGS) $(FUZZ_SAN) $(PKG_CFLAGS) -Icommon -Idaemon
# libFuzzer flags of `make fuzz`: -close_fd_mask=2 silences the daemon's log
# on stderr while libFuzzer and the sanitizers keep reporting there.
FUZZ_RUN_FLAGS ?= -timeout=10 -close_fd_mask=2 -print_final_stats=1
FUZZ_OSC_MAX_LEN  ?= 4200
FUZZ_CONF_MAX_LEN ?= 16384
FUZZ_HDR_MAX_LEN  ?= 16384
FUZZ_RECOVER_MAX_LEN ?= 16384

FUZZ_DIR := $(B)/fuzz
FUZZ_OBJ := $(FUZZ_DIR)/obj
# Everything of the daemon but main(): osc.c reaches ctl.c, which reaches
# the take, the writer, the engine, the meters and the manifest.
FUZZ_DAEMON_SRC := $(filter-out daemon/main.c,$(if $(DAEMON_SRC),$(DAEMON_SRC),$(wildcard daemon/*.c)))
# The floor of common/ the daemon links (not the client OSC library).
FUZZ_COMMON_OBJ := $(addprefix $(FUZZ_OBJ)/common/,naming.o protocol.o audiohdr.o)
FUZZ_OSC_OBJ  := $(FUZZ_OBJ)/tests/fuzz_osc.o $(FUZZ_DAEMON_SRC:%.c=$(FUZZ_OBJ)/%.o) \
                 $(FUZZ_COMMON_OBJ)
FUZZ_CONF_OBJ := $(FUZZ_OBJ)/tests/fuzz_conf.o $(FUZZ_COMMON_OBJ) \
                 $(addprefix $(FUZZ_OBJ)/daemon/,conf.o log.o acl.o hooks.o)
FUZZ_HDR_OBJ  := $(FUZZ_OBJ)/tests/fuzz_hdr.o $(FUZZ_OBJ)/common/audiohdr.o
FUZZ_RECOVER_OBJ := $(FUZZ_OBJ)/tests/fuzz_recover.o $(FUZZ_COMMON_OBJ) \
                    $(addprefix $(FUZZ_OBJ)/daemon/,recover.o jsonfile.o log.o)
FUZZERS := $(FUZZ_DIR)/fuzz_osc $(FUZZ_DIR)/fuzz_conf $(FUZZ_DIR)/fuzz_hdr $(FUZZ_DIR)/fuzz_recover

# Every header as a prerequisite too: the -MMD files name the objects as the
# build that wrote them did (build/... or /abs/build/...), so a run with the
# other spelling of B would not see them and link stale objects.
$(FUZZ_OBJ)/%.o: %.c $(wildcard daemon/*.h common/*.h tests/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/fuzz_osc: $(FUZZ_OSC_OBJ)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS) -lm -pthread

$(FUZZ_DIR)/fuzz_conf: $(FUZZ_CONF_OBJ)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS) -lm -pthread

$(FUZZ_DIR)/fuzz_hdr: $(FUZZ_HDR_OBJ)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ -lm

$(FUZZ_DIR)/fuzz_recover: $(FUZZ_RECOVER_OBJ)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS) -lm -pthread

# Probes whether $(FUZZ_CC) links a libFuzzer program; prints why not.
fuzz-check:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz: $(FUZZ_CC) not found"; exit 1; }
	@mkdir -p $(FUZZ_DIR)
	@printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	    >$(FUZZ_DIR)/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $(FUZZ_DIR)/probe $(FUZZ_DIR)/probe.c \
	    >$(FUZZ_DIR)/probe.log 2>&1 || { \
	    echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer (install libclang-rt-14-dev):"; \
	    head -3 $(FUZZ_DIR)/probe.log; exit 1; }

fuzz-build: $(FUZZERS)

# Runs one fuzzer: $(call fuzz_run,NAME,MAX_LEN[,SEEDS]) (SEEDS: tests/corpus/NAME)
define fuzz_run
	@mkdir -p $(FUZZ_DIR)/corpus/$(1)
	@echo "  FUZZ    $(1) for $(FUZZ_SECONDS) s (corpus $(FUZZ_DIR)/corpus/$(1))"
	@$(FUZZ_DIR)/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) -max_len=$(2) $(FUZZ_RUN_FLAGS) \
	    -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus/$(1) tests/corpus/$(or $(3),$(1)) \
	    >$(FUZZ_DIR)/$(1).log 2>&1 || { \
	    tail -40 $(FUZZ_DIR)/$(1).log; \
	    echo "fuzz: $(1) FAILED; log $(FUZZ_DIR)/$(1).log"; exit 1; }
	@grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units' $(FUZZ_DIR)/$(1).log \
	    | sed 's/^/    /'
endef

fuzz-run: $(FUZZERS)
	$(call fuzz_run,osc,$(FUZZ_OSC_MAX_LEN))
	$(call fuzz_run,conf,$(FUZZ_CONF_MAX_LEN))
	$(call fuzz_run,hdr,$(FUZZ_HDR_MAX_LEN))
	$(call fuzz_run,recover,$(FUZZ_RECOVER_MAX_LEN),hdr)

fuzz:
	@if $(MAKE) -f $(FUZZ_TOP_MK) --no-print-directory -s fuzz-check 2>/dev/null; then \
	    $(MAKE) -f $(FUZZ_TOP_MK) --no-print-directory fuzz-run; \
	else \
	    echo "fuzz: skipped: no usable clang libFuzzer (apt-get install clang libclang-rt-14-dev)"; \
	fi

.PHONY: fuzz fuzz-build fuzz-run fuzz-check

# The objects' header dependencies (-MMD): the top Makefile includes every
# .d file under $(B); on its own (tests/it_fuzz.sh), this file must, or an
# object built against an older header is linked with newer ones.
ifneq ($(FUZZ_STANDALONE),)
-include $(shell find $(FUZZ_OBJ) -name '*.d' 2>/dev/null)
endif

.DEFAULT_GOAL := $(if $(FUZZ_STANDALONE),fuzz,$(FUZZ_SAVED_GOAL))
