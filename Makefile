# stemcap — build, install, test, demo.
#   make            build build/stemcapd, build/stemcap and the test tools
#   make deps       install the Debian packages the build and tests need (the
#                   other targets never install anything: make deps test)
#   make demo       record a demo take (private jackd -d dummy when none runs)
#   make test       unit + integration tests against a real jackd -d dummy
#   make deps-pipewire test-pipewire  the integration tests on PipeWire's JACK
#   make deps-daw test-daw            a stock Ardour bounce
#   make bench      performance benchmark against jack_capture, then the
#                   hour-long soak (bench/README.md; BENCH_SOAK_MINUTES=0 skips it)
#   make install    PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined   sanitizer build (into build/ as well)

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   := $(PREFIX)/bin
SBINDIR  := $(PREFIX)/bin
MANDIR   := $(PREFIX)/share/man
DOCDIR   := $(PREFIX)/share/doc/stemcap
HOOKDIR  := $(PREFIX)/share/stemcap/hooks
APPDIR   := $(PREFIX)/share/applications
CONFDIR  ?= /etc/stemcap
UNITDIR  ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user

CC       ?= cc
# pkg-config packages: every object compiles against all of them (cheap);
# each program links only the ones it uses (LINK_PKGS below).
PKGS     := jack liblo sndfile inih jansson fftw3f libebur128 nettle
# Expanded on first use, not when the Makefile is read: `make deps test` on a
# fresh machine installs pkg-config and the libraries before they are asked.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)

WARN     := -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wshadow -Wpointer-arith \
            -Wmissing-prototypes -Wvla
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) -D_GNU_SOURCE -DSTEMCAP_VERSION='"$(VERSION)"' -pthread
ifneq ($(WERROR),0)
CFLAGS   += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

B := build

# common/: the floor daemon and clients share (protocol, naming, the audio
# header codec, the client OSC library), linked as an archive so that each
# program takes only the objects it uses.
COMMON_SRC := $(wildcard common/*.c)
COMMON_LIB := $(B)/libstemcap-common.a
DAEMON_SRC := $(wildcard daemon/*.c)
CHECK_SRC  := $(wildcard clients/check/*.c)
METER_SRC  := $(wildcard clients/meter/*.c)
objs = $(patsubst %.c,$(B)/%.o,$(1))

PROGS := $(B)/stemcapd $(B)/stemcap $(B)/stemcap-meter $(B)/stemcap-check
TOOLS := $(addprefix $(B)/tests/,stemcap-testsrc stemcap-testdaw checktake oscraw mkstems \
           notifylisten wavcmp nsmserver stampcheck xrunhog)
UNITS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))

all: $(PROGS) $(TOOLS) $(UNITS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -Icommon -Idaemon -Iclients -c -o $@ $<

$(COMMON_LIB): $(call objs,$(COMMON_SRC))
	@echo "  AR      $@"
	@rm -f $@ && $(AR) rcs $@ $^

# What each program is made of; one link recipe for all of them below.
$(B)/stemcapd:      $(call objs,$(DAEMON_SRC))
$(B)/stemcap:       $(B)/clients/stemcap.o
$(B)/stemcap-meter: $(call objs,$(METER_SRC))
$(B)/stemcap-check: $(call objs,$(CHECK_SRC))
$(B)/tests/stemcap-testsrc: $(B)/tests/testsrc.o $(B)/tests/testsig.o $(B)/tests/srcclient.o
$(B)/tests/stemcap-testdaw: $(B)/tests/testdaw.o $(B)/tests/testsig.o $(B)/tests/srcclient.o
$(B)/tests/checktake:       $(B)/tests/testsig.o
$(B)/tests/stampcheck:      $(B)/tests/testsig.o
$(B)/tests/test_conf:     $(call objs,daemon/conf.c daemon/log.c daemon/acl.c daemon/hooks.c)
$(B)/tests/test_lag:      $(call objs,daemon/lag.c daemon/ring.c daemon/meter.c daemon/log.c)
$(B)/tests/test_meter:    $(B)/daemon/meter.o
$(B)/tests/test_pcm:      $(B)/daemon/pcm.o
$(B)/tests/test_recover:  $(call objs,daemon/recover.c daemon/jsonfile.c daemon/log.c)
$(B)/tests/test_ring:     $(B)/daemon/ring.o
$(B)/tests/test_timeline: $(B)/daemon/timeline.o

# The libraries each program links (pkg-config names); -lm and -pthread for all.
$(B)/stemcapd:      LINK_PKGS := jack liblo sndfile inih jansson fftw3f libebur128 nettle
$(B)/stemcap:       LINK_PKGS := liblo
$(B)/stemcap-meter: LINK_PKGS := liblo ncursesw
$(B)/stemcap-check: LINK_PKGS := sndfile jansson libebur128 nettle inih
$(B)/tests/stemcap-testsrc: LINK_PKGS := jack sndfile
$(B)/tests/stemcap-testdaw: LINK_PKGS := jack
$(B)/tests/oscraw $(B)/tests/nsmserver: LINK_PKGS := liblo
$(B)/tests/checktake $(B)/tests/mkstems $(B)/tests/wavcmp: LINK_PKGS := sndfile
$(B)/tests/stampcheck $(B)/tests/test_recover: LINK_PKGS := sndfile jansson
$(B)/tests/test_audiohdr $(B)/tests/test_pcm: LINK_PKGS := sndfile
$(B)/tests/test_conf: LINK_PKGS := inih
$(B)/tests/test_lag:  LINK_PKGS := fftw3f

# Tools and unit tests: tests/NAME.c (test tools: stemcap-NAME from NAME.c).
$(filter $(B)/tests/stemcap-%,$(TOOLS)): $(B)/tests/stemcap-%: $(B)/tests/%.o
$(filter-out $(B)/tests/stemcap-%,$(TOOLS)) $(UNITS): $(B)/tests/%: $(B)/tests/%.o

$(PROGS) $(TOOLS) $(UNITS): $(COMMON_LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(COMMON_LIB) \
	    $(if $(strip $(LINK_PKGS)),$(shell pkg-config --libs $(LINK_PKGS))) -lm -pthread

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Debian packages for building and testing.
DEB_PKGS := build-essential pkg-config libjack-jackd2-dev jackd2 liblo-dev libsndfile1-dev \
            libinih-dev libjansson-dev libfftw3-dev libncurses-dev libebur128-dev nettle-dev \
            ffmpeg sox liblo-tools procps psmisc clang-format \
            clang libclang-rt-14-dev desktop-file-utils
# and for make test-pipewire
PW_DEB_PKGS := pipewire pipewire-jack pipewire-bin wireplumber dbus-daemon
deps:
	@sh tests/deps.sh $(DEB_PKGS)

test: all
	bash tests/run.sh

# A stock Ardour 7 bounce end to end (tests/daw/ardour.sh; heavy, not in `make test`;
# needs Debian's ardour package, `make deps-daw`).
DAW_DEB_PKGS := ardour python3
deps-daw:
	@sh tests/deps.sh $(DAW_DEB_PKGS)

test-daw: all
	bash tests/run-heavy.sh tests/daw/ardour.sh

# The record, null (meter) and transport tests against PipeWire's JACK, and
# what PipeWire does that jackd does not (tests/it_pwrate.sh); each test on
# its own private PipeWire stack (tests/pipewire.sh).
deps-pipewire:
	@sh tests/deps.sh $(PW_DEB_PKGS)

test-pipewire: all
	bash tests/run-pipewire.sh

demo: all
	bash tests/demo.sh

# The performance benchmark (not part of `make test`): see bench/README.md.
bench: all
	bash bench/run.sh
	bash bench/features.sh
	bash bench/soak.sh

FORMAT_SRC = $(wildcard daemon/*.[ch] common/*.[ch] clients/*.[ch] clients/*/*.[ch] tests/*.[ch] \
                        bench/*.c)
format:
	clang-format -i $(FORMAT_SRC)

check-format:
	clang-format --dry-run --Werror $(FORMAT_SRC)

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	           $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 644 man/stemcap.1 man/stemcap-meter.1 man/stemcap-check.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/stemcap.ini.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/stemcapd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 config/stemcap.ini $(DESTDIR)$(DOCDIR)/stemcap.ini.example
	install -d $(DESTDIR)$(HOOKDIR)
	install -m 755 config/hooks/check-take $(DESTDIR)$(HOOKDIR)/
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR) $(DESTDIR)$(CONFDIR)
	sed 's#/usr/local/bin/#$(BINDIR)/#' systemd/stemcapd.service >$(DESTDIR)$(UNITDIR)/stemcapd.service
	sed 's#/usr/local/bin/#$(BINDIR)/#' systemd/stemcapd.user.service \
	    >$(DESTDIR)$(USERUNITDIR)/stemcapd.service
	install -d $(DESTDIR)$(APPDIR)
	install -m 644 desktop/stemcapd.desktop $(DESTDIR)$(APPDIR)/
	[ -e $(DESTDIR)$(CONFDIR)/stemcap.ini ] || \
	    install -m 644 config/stemcap.ini $(DESTDIR)$(CONFDIR)/stemcap.ini

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/stemcapd $(DESTDIR)$(BINDIR)/stemcap $(DESTDIR)$(BINDIR)/stemcap-meter \
	      $(DESTDIR)$(BINDIR)/stemcap-check
	rm -f $(DESTDIR)$(MANDIR)/man1/stemcap.1 $(DESTDIR)$(MANDIR)/man1/stemcap-meter.1 \
	      $(DESTDIR)$(MANDIR)/man1/stemcap-check.1 $(DESTDIR)$(MANDIR)/man5/stemcap.ini.5 \
	      $(DESTDIR)$(MANDIR)/man8/stemcapd.8
	rm -rf $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(HOOKDIR)/check-take
	-rmdir $(DESTDIR)$(HOOKDIR) $(DESTDIR)$(PREFIX)/share/stemcap 2>/dev/null
	rm -f $(DESTDIR)$(UNITDIR)/stemcapd.service $(DESTDIR)$(USERUNITDIR)/stemcapd.service
	rm -f $(DESTDIR)$(APPDIR)/stemcapd.desktop

clean:
	rm -rf $(B)

.PHONY: all deps deps-daw deps-pipewire test test-daw test-pipewire demo bench format check-format install uninstall clean

# libFuzzer harnesses (clang): make fuzz, make fuzz-build; tests/it_fuzz.sh runs them.
include tests/fuzz.mk
