# stemcap — build, install, test, demo.
#   make            build build/stemcapd, build/stemcap and the test tools
#   make deps       install the Debian packages the build and tests need
#   make demo       record a demo take (private jackd -d dummy when none runs)
#   make test       unit + integration tests against a real jackd -d dummy
#   make test-pipewire  the integration tests that run on PipeWire's JACK
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
APPDIR   := $(PREFIX)/share/applications
CONFDIR  ?= /etc/stemcap
UNITDIR  ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user

CC       ?= cc
PKGS     := jack liblo sndfile inih jansson fftw3f
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

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
LDLIBS   += $(PKG_LIBS) -lm -pthread

B := build

DAEMON_SRC := daemon/main.c daemon/conf.c daemon/engine.c daemon/ring.c daemon/writer.c \
              daemon/take.c daemon/osc.c daemon/log.c daemon/names.c \
              daemon/ctl.c daemon/meter.c daemon/monitor.c daemon/process.c daemon/manifest.c daemon/acl.c daemon/notify.c \
              daemon/recover.c daemon/audiohdr.c daemon/pcm.c daemon/jsonfile.c daemon/lag.c daemon/align.c daemon/nsm.c \
              daemon/timeline.c
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(B)/%.o)

CLIENT_COMMON := clients/oscclient.c
STEMCAP_OBJ := $(B)/clients/stemcap.o $(CLIENT_COMMON:%.c=$(B)/%.o)

# Test tools and unit tests.
TESTSIG_OBJ := $(B)/tests/testsig.o
TOOLS := $(B)/tests/stemcap-testsrc $(B)/tests/stemcap-testdaw $(B)/tests/checktake \
         $(B)/tests/oscraw $(B)/tests/mkstems $(B)/tests/notifylisten $(B)/tests/wavcmp \
         $(B)/tests/nsmserver $(B)/tests/stampcheck $(B)/tests/xrunhog
UNITS := $(B)/tests/test_conf $(B)/tests/test_ring $(B)/tests/test_names $(B)/tests/test_meter \
         $(B)/tests/test_recover $(B)/tests/test_pcm $(B)/tests/test_lag $(B)/tests/test_timeline \
         $(B)/tests/test_audiohdr

PROGS := $(B)/stemcapd $(B)/stemcap $(B)/stemcap-meter $(B)/stemcap-check

all: $(PROGS) $(TOOLS) $(UNITS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -Idaemon -Iclients -c -o $@ $<

$(B)/stemcapd: $(DAEMON_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/stemcap: $(STEMCAP_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/stemcap-meter: $(B)/clients/stemcap-meter.o $(CLIENT_COMMON:%.c=$(B)/%.o)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs ncursesw)

$(B)/stemcap-check: $(B)/clients/stemcap-check.o $(B)/daemon/audiohdr.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/notifylisten: $(B)/tests/notifylisten.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^

$(B)/tests/mkstems: $(B)/tests/mkstems.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/stemcap-testsrc: $(B)/tests/testsrc.o $(TESTSIG_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/stemcap-testdaw: $(B)/tests/testdaw.o $(TESTSIG_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/wavcmp: $(B)/tests/wavcmp.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/checktake: $(B)/tests/checktake.o $(TESTSIG_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/stampcheck: $(B)/tests/stampcheck.o $(TESTSIG_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/xrunhog: $(B)/tests/xrunhog.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ -pthread

$(B)/tests/nsmserver: $(B)/tests/nsmserver.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/oscraw: $(B)/tests/oscraw.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_conf: $(B)/tests/test_conf.o $(B)/daemon/conf.o $(B)/daemon/log.o $(B)/daemon/names.o $(B)/daemon/acl.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_ring: $(B)/tests/test_ring.o $(B)/daemon/ring.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_names: $(B)/tests/test_names.o $(B)/daemon/names.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_meter: $(B)/tests/test_meter.o $(B)/daemon/meter.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_lag: $(B)/tests/test_lag.o $(B)/daemon/lag.o $(B)/daemon/ring.o $(B)/daemon/meter.o $(B)/daemon/log.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_recover: $(B)/tests/test_recover.o $(B)/daemon/recover.o $(B)/daemon/audiohdr.o $(B)/daemon/jsonfile.o $(B)/daemon/log.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_timeline: $(B)/tests/test_timeline.o $(B)/daemon/timeline.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_audiohdr: $(B)/tests/test_audiohdr.o $(B)/daemon/audiohdr.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/test_pcm: $(B)/tests/test_pcm.o $(B)/daemon/pcm.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Debian packages for building and testing.
DEB_PKGS := build-essential pkg-config libjack-jackd2-dev jackd2 liblo-dev libsndfile1-dev \
            libinih-dev libjansson-dev libfftw3-dev libncurses-dev sox procps psmisc clang-format \
            clang libclang-rt-14-dev desktop-file-utils
# and for make test-pipewire
PW_DEB_PKGS := pipewire pipewire-jack pipewire-bin wireplumber dbus-daemon
deps:
	@sh tests/deps.sh $(DEB_PKGS)

test: deps
	$(MAKE) all
	bash tests/run.sh

# A stock Ardour 7 bounce end to end (tests/daw/ardour.sh; heavy, not in `make test`;
# needs Debian's ardour package, `make deps-daw`).
DAW_DEB_PKGS := ardour python3
deps-daw:
	@sh tests/deps.sh $(DAW_DEB_PKGS)

test-daw: deps-daw
	$(MAKE) all
	bash tests/run-heavy.sh tests/daw/ardour.sh

# The record, null (meter) and transport tests against PipeWire's JACK, and
# what PipeWire does that jackd does not (tests/it_pwrate.sh); each test on
# its own private PipeWire stack (tests/pipewire.sh).
test-pipewire: deps
	@sh tests/deps.sh $(PW_DEB_PKGS)
	$(MAKE) all
	bash tests/run-pipewire.sh

demo: deps
	$(MAKE) all
	bash tests/demo.sh

# The performance benchmark (not part of `make test`): see bench/README.md.
bench: deps
	$(MAKE) all
	bash bench/run.sh
	bash bench/soak.sh

format:
	clang-format -i daemon/*.[ch] clients/*.[ch] tests/*.[ch] bench/*.c

check-format:
	clang-format --dry-run --Werror daemon/*.[ch] clients/*.[ch] tests/*.[ch] bench/*.c

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	           $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 644 man/stemcap.1 man/stemcap-meter.1 man/stemcap-check.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/stemcap.ini.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/stemcapd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 config/stemcap.ini $(DESTDIR)$(DOCDIR)/stemcap.ini.example
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
	rm -f $(DESTDIR)$(UNITDIR)/stemcapd.service $(DESTDIR)$(USERUNITDIR)/stemcapd.service
	rm -f $(DESTDIR)$(APPDIR)/stemcapd.desktop

clean:
	rm -rf $(B)

.PHONY: all deps deps-daw test test-daw test-pipewire demo bench format check-format install uninstall clean

# libFuzzer harnesses (clang): make fuzz, make fuzz-build; tests/it_fuzz.sh runs them.
include tests/fuzz.mk
