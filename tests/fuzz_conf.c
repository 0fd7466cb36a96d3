/* fuzz_conf — libFuzzer harness over the configuration parser: each input
 * is the text of a stemcap.ini, loaded with conf_load() over the defaults.
 *
 * The input is written to a memfd and read back through /proc/self/fd/N, so
 * conf_load() runs exactly as for a file (fopen, getline, inih).  When the
 * parser accepts a file, what it accepted must hold up: every [song] value
 * and every registered stem's name passes the same checks OSC applies at run
 * time, enumerations and ranges are in bounds, and a bind beyond loopback
 * has a parsable allow list.  A violation aborts (a crash to libFuzzer).
 *
 * Build and run: `make fuzz` (tests/fuzz.mk).  Run with -close_fd_mask=2:
 * every rejected file logs its errors on stderr; libFuzzer's own output and
 * sanitizer reports still go to the original stderr. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzzfile.h"
#include "acl.h"
#include "conf.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];
static struct conf conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_LEVEL_ERROR);
    memfd = memfd_create("stemcap-fuzz.ini", MFD_CLOEXEC);
    if (memfd < 0) {
        perror("fuzz_conf: memfd_create");
        abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    return 0;
}

static void
fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_conf: accepted config breaks an invariant: %s: %s\n", what,
            detail ? detail : "");
    abort();
}

/* What an accepted configuration guarantees to the rest of the daemon. */
static void
fuzz_check(const struct conf *c)
{
    static const char *const keys[] = {"title", "isrc", "upc", "track", "artist", "album", "label"};
    struct conf_song song;
    char why[256];

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = conf_song_get(&c->song, keys[i]);
        memset(&song, 0, sizeof song);
        if (!v || conf_song_set(&song, keys[i], v, why) < 0)
            fuzz_fail(keys[i], why);
    }
    for (int s = 0; s < CONF_MAX_STEMS; s++) {
        if (c->stem[s].registered && conf_stem_name_check(c, s + 1, c->stem[s].name, why) < 0)
            fuzz_fail(c->stem[s].name, why);
        if (c->stem[s].armed != 0 && c->stem[s].armed != 1)
            fuzz_fail("armed", "not 0 or 1");
    }
    if ((unsigned)c->format > CONF_FORMAT_W64 || (unsigned)c->sample_format > CONF_SAMPLE_DOUBLE)
        fuzz_fail("format", "out of range");
    (void)conf_format_name(c->format);
    (void)conf_sample_name(c->sample_format);
    if (c->osc_port < 1 || c->osc_port > 65535)
        fuzz_fail("[osc] port", "out of range");
    if (c->osc_max_subscribers < 1 || c->osc_max_subscribers > CONF_MAX_SUBSCRIBERS)
        fuzz_fail("[osc] max_subscribers", "out of range");
    if (c->osc_subscription_ttl < 1 || c->osc_subscription_ttl > 86400)
        fuzz_fail("[osc] subscription_ttl", "out of range");
    if (!(c->buffer_seconds >= 1.0 && c->buffer_seconds <= 300.0))
        fuzz_fail("[capture] buffer_seconds", "out of range");
    if (c->meter_window_ms < 10 || c->meter_window_ms > 10000)
        fuzz_fail("[meter] window_ms", "out of range");
    if (!(c->null_threshold_db >= -150.0 && c->null_threshold_db <= 0.0))
        fuzz_fail("[null] threshold_db", "out of range");
    if (c->mix_offset_frames < -CONF_MAX_OFFSET || c->mix_offset_frames > CONF_MAX_OFFSET)
        fuzz_fail("[mix] offset_frames", "out of range");
    if (!c->jack_client[0] || strchr(c->jack_client, ':'))
        fuzz_fail("[jack] client", c->jack_client);
    if (!acl_is_loopback(c->osc_bind)) {
        struct acl acl;
        if (!c->osc_allow[0] || acl_parse(&acl, c->osc_allow, why) < 0)
            fuzz_fail("[osc] allow", c->osc_allow);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzzfile_fill(memfd, data, size);
    conf_defaults(&conf);
    if (conf_load(&conf, path) == 0)
        fuzz_check(&conf);
    return 0;
}
