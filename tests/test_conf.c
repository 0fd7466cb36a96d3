/* test_conf — unit tests of conf_defaults() and conf_load() on real files in
 * a temporary directory, including the exact "FILE:LINE: [section] key:"
 * form of every error message. */
#include "conf.h"
#include "hooks.h"
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/stemcap-test-conf-XXXXXX";
static char errtext[16384]; /* stderr of the last load() */

static void
path_in_tmp(char *dst, size_t dstsz, const char *name)
{
    snprintf(dst, dstsz, "%s/%s", tmpdir, name);
}

static void
write_file(const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *f;

    path_in_tmp(path, sizeof path, name);
    f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* conf_defaults() + conf_load(path) with stderr captured into errtext. */
static int
load_path(struct conf *c, const char *path)
{
    char errpath[PATH_MAX];
    int saved, fd, rc;
    ssize_t n;

    path_in_tmp(errpath, sizeof errpath, "stderr.txt");
    fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    saved = dup(STDERR_FILENO);
    if (fd < 0 || saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
        perror("capturing stderr");
        exit(1);
    }
    conf_defaults(c);
    rc = conf_load(c, path);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, errtext, sizeof errtext - 1, 0);
    errtext[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

/* Writes `text` as tmpdir/name and loads it. */
static int
load_text(struct conf *c, const char *name, const char *text)
{
    char path[PATH_MAX];

    write_file(name, text);
    path_in_tmp(path, sizeof path, name);
    return load_path(c, path);
}

/* A file that must load without any message. */
static void
good_at(struct conf *c, const char *text, const char *file, int line)
{
    int rc = load_text(c, "good.ini", text);

    unit_check_int(rc, 0, file, line, "conf_load(good.ini)", "0");
    if (!unit_check(errtext[0] == '\0', file, line, "no message from a good file"))
        fprintf(stderr, "  stderr was: %s", errtext);
}
#define GOOD(c, text) good_at((c), (text), __FILE__, __LINE__)

/* A file with exactly one problem: -1, the message contains `want` (such as
 * "bad.ini:3: [capture] sample_format:") and one error is counted. */
static void
bad_at(const char *text, const char *want, const char *file, int line)
{
    struct conf c;
    int rc = load_text(&c, "bad.ini", text);
    int ok = unit_check_int(rc, -1, file, line, "conf_load(bad.ini)", "-1");

    ok &= unit_check(strstr(errtext, want) != NULL, file, line, "message names file:line and key");
    ok &= unit_check(strstr(errtext, "bad.ini: 1 error in config") != NULL, file, line,
                     "exactly one error reported");
    if (!ok)
        fprintf(stderr, "  wanted \"%s\"; stderr was:\n%s", want, errtext);
}
#define BAD(text, want) bad_at((text), (want), __FILE__, __LINE__)

static int
registered_mask(const struct conf *c)
{
    int m = 0;
    for (int i = 0; i < CONF_MAX_STEMS; i++)
        if (c->stem[i].registered)
            m |= 1 << i;
    return m;
}

static void
test_defaults(void)
{
    struct conf c, d;

    conf_defaults(&c);
    CHECK_STR_EQ(c.path, "");
    CHECK_STR_EQ(c.jack_server, "");
    CHECK_STR_EQ(c.jack_client, "stemcap");
    CHECK_STR_EQ(c.jack_pretty_name, "stemcap");
    CHECK_INT_EQ(c.osc_port, 9951);
    CHECK_STR_EQ(c.osc_bind, "127.0.0.1");
    CHECK_STR_EQ(c.capture_dir, "takes");
    CHECK_INT_EQ(c.format, CONF_FORMAT_WAV);
    CHECK_INT_EQ(c.sample_format, CONF_SAMPLE_PCM24);
    CHECK(c.buffer_seconds == 10.0);
    CHECK_INT_EQ(c.record_mix, 1);
    CHECK_STR_EQ(c.song.title, "Untitled");
    CHECK_STR_EQ(c.mix_connect[0], "");
    CHECK_STR_EQ(c.mix_connect[1], "");
    CHECK_INT_EQ(c.osc_subscription_ttl, 30);
    CHECK_INT_EQ(c.osc_max_subscribers, 8);
    CHECK_INT_EQ(c.osc_bundle, 0);
    CHECK_INT_EQ(c.mix_offset_frames, 0);
    CHECK_INT_EQ(c.meter_window_ms, 100);
    CHECK(c.null_threshold_db == -60.0);
    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        char want[16];
        snprintf(want, sizeof want, "Stem %d", i + 1);
        CHECK_STR_EQ(c.stem[i].name, want);
        CHECK_INT_EQ(c.stem[i].registered, 1);
        CHECK_INT_EQ(c.stem[i].armed, 1);
        CHECK_STR_EQ(c.stem[i].connect[0], "");
        CHECK_STR_EQ(c.stem[i].connect[1], "");
    }
    CHECK_STR_EQ(conf_format_name(CONF_FORMAT_WAV), "wav");
    CHECK_STR_EQ(conf_format_name(CONF_FORMAT_AIFF), "aiff");
    CHECK_STR_EQ(conf_format_name(CONF_FORMAT_W64), "w64");
    CHECK_STR_EQ(conf_format_ext(CONF_FORMAT_WAV), "wav");
    CHECK_STR_EQ(conf_format_ext(CONF_FORMAT_AIFF), "aiff");
    CHECK_STR_EQ(conf_format_ext(CONF_FORMAT_W64), "w64");
    CHECK_STR_EQ(conf_sample_name(CONF_SAMPLE_PCM16), "pcm16");
    CHECK_STR_EQ(conf_sample_name(CONF_SAMPLE_PCM24), "pcm24");
    CHECK_STR_EQ(conf_sample_name(CONF_SAMPLE_PCM32), "pcm32");
    CHECK_STR_EQ(conf_sample_name(CONF_SAMPLE_FLOAT), "float");
    CHECK_STR_EQ(conf_sample_name(CONF_SAMPLE_DOUBLE), "double");

    /* conf_defaults() resets whatever was there. */
    memset(&d, 0x55, sizeof d);
    conf_defaults(&d);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
}

static void
test_full_file(void)
{
    struct conf c;

    GOOD(&c, "; every key, none at its default\n"
             "# hash comments too\n"
             "[jack]\n"
             "server = studio\n"
             "client = recorder\n"
             "pretty_name = Stem recorder\n"
             "\n"
             "[osc]\n"
             "port = 9000\n"
             "bind = 0.0.0.0\n"
             "allow = 192.168.1.0/24, 10.0.0.7\n"
             "subscription_ttl = 120\n"
             "max_subscribers = 16\n"
             "bundle = yes\n"
             "[capture]\n"
             "dir = /srv/stems/takes\n"
             "format = AIFF\n"
             "sample_format = Float\n"
             "buffer_seconds = 2.5\n"
             "record_mix = no\n"
             "[song]\n"
             "title = Bass \xe2\x80\x93 \xc3\x96l\xc3\xa9 \xe4\xbd\x8e\xe9\x9f\xb3\n"
             "[mix]\n"
             "connect_left = system:capture_1\n"
             "connect_right = system:capture_2\n"
             "offset_frames = -64\n"
             "[meter]\n"
             "window_ms = 300\n"
             "[null]\n"
             "threshold_db = -90.5\n"
             "[stem1]\n"
             "name = Drums\n"
             "connect_left = ardour:Drums/audio_out 1\n"
             "connect_right = ardour:Drums/audio_out 2\n"
             "armed = yes\n"
             "[stem2]\n"
             "name = Mix\n"
             "armed = off\n"
             "[stem8]  ; with a comment\n"
             "  name=Lead Vocal\n"
             "connect_left=a:b\n");
    CHECK_STR_EQ(c.jack_server, "studio");
    CHECK_STR_EQ(c.jack_client, "recorder");
    CHECK_STR_EQ(c.jack_pretty_name, "Stem recorder");
    CHECK_INT_EQ(c.osc_port, 9000);
    CHECK_STR_EQ(c.osc_bind, "0.0.0.0");
    CHECK_STR_EQ(c.capture_dir, "/srv/stems/takes");
    CHECK_INT_EQ(c.format, CONF_FORMAT_AIFF);
    CHECK_INT_EQ(c.sample_format, CONF_SAMPLE_FLOAT);
    CHECK(c.buffer_seconds == 2.5);
    CHECK_INT_EQ(c.record_mix, 0);
    CHECK_STR_EQ(c.song.title, "Bass \xe2\x80\x93 \xc3\x96l\xc3\xa9 \xe4\xbd\x8e\xe9\x9f\xb3");
    CHECK_STR_EQ(c.mix_connect[0], "system:capture_1");
    CHECK_STR_EQ(c.mix_connect[1], "system:capture_2");
    CHECK_INT_EQ(c.osc_subscription_ttl, 120);
    CHECK_INT_EQ(c.osc_max_subscribers, 16);
    CHECK_INT_EQ(c.osc_bundle, 1);
    CHECK_INT_EQ(c.mix_offset_frames, -64);
    CHECK_INT_EQ(c.meter_window_ms, 300);
    CHECK(c.null_threshold_db == -90.5);
    CHECK_INT_EQ(registered_mask(&c), 0x83);
    CHECK_STR_EQ(c.stem[0].name, "Drums");
    CHECK_STR_EQ(c.stem[0].connect[0], "ardour:Drums/audio_out 1");
    CHECK_STR_EQ(c.stem[0].connect[1], "ardour:Drums/audio_out 2");
    CHECK_INT_EQ(c.stem[0].armed, 1);
    CHECK_STR_EQ(c.stem[1].name, "Mix"); /* allowed: record_mix = no */
    CHECK_INT_EQ(c.stem[1].armed, 0);
    CHECK_STR_EQ(c.stem[1].connect[0], "");
    CHECK_STR_EQ(c.stem[7].name, "Lead Vocal");
    CHECK_STR_EQ(c.stem[7].connect[0], "a:b");
    CHECK_STR_EQ(c.stem[7].connect[1], "");
    CHECK_INT_EQ(c.stem[7].armed, 1);
    CHECK(strstr(c.path, "/good.ini") != NULL);
}

/* [stemN] channels: mono stems, their one connection, and a restart. */
static void
test_mono_stems(void)
{
    struct conf c, o;
    char list[512];

    conf_defaults(&c);
    for (int i = 0; i < CONF_MAX_STEMS; i++)
        CHECK_INT_EQ(c.stem[i].channels, 2);
    GOOD(&c, "[stem1]\nchannels = 1\nconnect_left = a:b\n[stem2]\nchannels = 2\n"
             "connect_left = a:c\nconnect_right = a:d\n[stem3]\n");
    CHECK_INT_EQ(c.stem[0].channels, 1);
    CHECK_STR_EQ(c.stem[0].connect[0], "a:b");
    CHECK_INT_EQ(c.stem[1].channels, 2);
    CHECK_INT_EQ(c.stem[2].channels, 2);
    BAD("[stem2]\nchannels = 3\n",
        "bad.ini:2: [stem2] channels: '3' is not a number of channels from 1 to 2");
    BAD("[stem2]\nchannels = 0\n", "bad.ini:2: [stem2] channels:");
    BAD("[stem2]\nchannels = stereo\n", "bad.ini:2: [stem2] channels:");
    /* connect_right on a mono stem, before or after channels: at its line. */
    BAD("[stem4]\nconnect_right = a:b\nchannels = 1\n", "bad.ini:2: [stem4] connect_right:");
    BAD("[stem4]\nchannels = 1\nconnect_left = a:a\nconnect_right = a:b\n",
        "bad.ini:4: [stem4] connect_right: a mono stem (channels = 1) has one port");
    /* Not live: a reload names it, per stem. */
    conf_defaults(&o);
    conf_defaults(&c);
    c.stem[2].channels = 1;
    conf_restart_keys(&o, &c, list, sizeof list);
    CHECK_STR_EQ(list, "[stem3] channels");
    /* Saved and read back. */
    char why[256];
    char *text = conf_to_ini(&c, why);
    if (CHECK(text != NULL)) {
        CHECK(strstr(text, "\n[stem3]\nname = Stem 3\nchannels = 1\n") != NULL);
        free(text);
    }
}

static void
test_empty_and_sections(void)
{
    struct conf c, d;

    GOOD(&c, "");
    conf_defaults(&d);
    memcpy(d.path, c.path, sizeof d.path);
    CHECK(memcmp(&c, &d, sizeof c) == 0);

    GOOD(&c, "; only comments\n\n   \n# and blanks\n");
    memcpy(d.path, c.path, sizeof d.path);
    CHECK(memcmp(&c, &d, sizeof c) == 0);

    /* Sections without stems keep all 8 registered. */
    GOOD(&c, "[jack]\n[osc]\n[capture]\n[song]\n[mix]\n[meter]\n[null]\n");
    CHECK_INT_EQ(registered_mask(&c), 0xFF);
    CHECK_INT_EQ(c.meter_window_ms, 100);
    CHECK(c.null_threshold_db == -60.0);

    /* Only the listed stems are registered. */
    GOOD(&c, "[stem1]\nname = Drums\n\n[stem3]\nname = Keys\n");
    CHECK_INT_EQ(registered_mask(&c), 0x05);
    CHECK_STR_EQ(c.stem[0].name, "Drums");
    CHECK_STR_EQ(c.stem[2].name, "Keys");

    /* A bare section registers its stem with the default name. */
    GOOD(&c, "[stem5]\n");
    CHECK_INT_EQ(registered_mask(&c), 0x10);
    CHECK_STR_EQ(c.stem[4].name, "Stem 5");
    CHECK_INT_EQ(c.stem[4].armed, 1);
    GOOD(&c, "[stem5]\n[stem2]\narmed = false\n[capture]\nformat = w64\n");
    CHECK_INT_EQ(registered_mask(&c), 0x12);
    CHECK_INT_EQ(c.stem[1].armed, 0);
    CHECK_STR_EQ(c.stem[1].name, "Stem 2");
    CHECK_INT_EQ(c.format, CONF_FORMAT_W64);
    GOOD(&c, "[stem8]");
    CHECK_INT_EQ(registered_mask(&c), 0x80);

    /* Stem order in the file does not matter. */
    GOOD(&c, "[stem4]\nname = D\n[stem2]\nname = B\n");
    CHECK_INT_EQ(registered_mask(&c), 0x0A);

    /* An unregistered stem's name does not collide with a registered one. */
    GOOD(&c, "[stem1]\nname = Stem 2\n");
    CHECK_INT_EQ(registered_mask(&c), 0x01);
}

static void
test_values(void)
{
    static const struct {
        const char *text;
        int value;
    } bools[] = {
        {"true", 1}, {"false", 0}, {"yes", 1},  {"no", 0}, {"on", 1}, {"off", 0},
        {"1", 1},    {"0", 0},     {"TRUE", 1}, {"No", 0}, {"oN", 1}, {"OFF", 0},
    };
    static const struct {
        const char *text;
        int value;
    } formats[] = {{"wav", CONF_FORMAT_WAV}, {"aiff", CONF_FORMAT_AIFF}, {"w64", CONF_FORMAT_W64},
                   {"WAV", CONF_FORMAT_WAV}, {"Aiff", CONF_FORMAT_AIFF}, {"W64", CONF_FORMAT_W64}};
    static const struct {
        const char *text;
        int value;
    } samples[] = {{"pcm16", CONF_SAMPLE_PCM16},   {"pcm24", CONF_SAMPLE_PCM24},
                   {"pcm32", CONF_SAMPLE_PCM32},   {"float", CONF_SAMPLE_FLOAT},
                   {"double", CONF_SAMPLE_DOUBLE}, {"PCM16", CONF_SAMPLE_PCM16},
                   {"Pcm32", CONF_SAMPLE_PCM32},   {"FLOAT", CONF_SAMPLE_FLOAT},
                   {"Double", CONF_SAMPLE_DOUBLE}};
    char text[256];
    struct conf c;

    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        snprintf(text, sizeof text, "[capture]\nrecord_mix = %s\n[stem3]\narmed = %s\n",
                 bools[i].text, bools[i].text);
        GOOD(&c, text);
        CHECK_INT_EQ(c.record_mix, bools[i].value);
        CHECK_INT_EQ(c.stem[2].armed, bools[i].value);
    }
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        snprintf(text, sizeof text, "[capture]\nformat = %s\n", formats[i].text);
        GOOD(&c, text);
        CHECK_INT_EQ(c.format, formats[i].value);
    }
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        snprintf(text, sizeof text, "[capture]\nsample_format = %s\n", samples[i].text);
        GOOD(&c, text);
        CHECK_INT_EQ(c.sample_format, samples[i].value);
    }

    GOOD(&c, "[capture]\nbuffer_seconds = 1\n");
    CHECK(c.buffer_seconds == 1.0);
    GOOD(&c, "[capture]\nbuffer_seconds = 300\n");
    CHECK(c.buffer_seconds == 300.0);
    GOOD(&c, "[capture]\nbuffer_seconds = 1.5\n");
    CHECK(c.buffer_seconds == 1.5);
    GOOD(&c, "[capture]\nbuffer_seconds = 299.999\n");
    CHECK(c.buffer_seconds == 299.999);

    GOOD(&c, "[osc]\nport = 1\n");
    CHECK_INT_EQ(c.osc_port, 1);
    GOOD(&c, "[osc]\nport = 65535\n");
    CHECK_INT_EQ(c.osc_port, 65535);
    GOOD(&c, "[osc]\nbind = ::1\n");
    CHECK_STR_EQ(c.osc_bind, "::1");

    /* Whitespace around keys and values is trimmed; inline ';' comments. */
    GOOD(&c, "[jack]\n   client   =   my client   ; a comment\n[song]\ntitle=A;B\n");
    CHECK_STR_EQ(c.jack_client, "my client");
    CHECK_STR_EQ(c.song.title, "A;B"); /* ';' only starts a comment after whitespace */
    /* An empty server or connect value means "none". */
    GOOD(&c, "[jack]\nserver =\n[mix]\nconnect_left =\n[stem1]\nconnect_right =\n");
    CHECK_STR_EQ(c.jack_server, "");
    CHECK_STR_EQ(c.mix_connect[0], "");
    CHECK_STR_EQ(c.stem[0].connect[1], "");
    /* CRLF line ends. */
    GOOD(&c, "[jack]\r\nclient = crlf\r\n[stem2]\r\nname = Bass\r\n");
    CHECK_STR_EQ(c.jack_client, "crlf");
    CHECK_STR_EQ(c.stem[1].name, "Bass");
    CHECK_INT_EQ(registered_mask(&c), 0x02);
    /* No newline at the end. */
    GOOD(&c, "[song]\ntitle = Last Line");
    CHECK_STR_EQ(c.song.title, "Last Line");

    /* Delivery metadata and transport following. */
    GOOD(&c, "[capture]\nfollow_transport = yes\n[song]\ntitle = T\nartist = The Band\n"
             "album = First\ntrack = 3/12\nisrc = US-S1Z-99-00001\nupc = 012345678905\n"
             "label = Indie\n");
    CHECK_INT_EQ(c.follow_transport, 1);
    CHECK_STR_EQ(c.song.artist, "The Band");
    CHECK_STR_EQ(c.song.album, "First");
    CHECK_STR_EQ(c.song.track, "3/12");
    CHECK_STR_EQ(c.song.isrc, "US-S1Z-99-00001");
    CHECK_STR_EQ(c.song.upc, "012345678905");
    CHECK_STR_EQ(c.song.label, "Indie");
    GOOD(&c, "[song]\nisrc = USS1Z9900001\nupc = 4006381333931\ntrack = 7\n");
    CHECK_STR_EQ(c.song.isrc, "USS1Z9900001");
    /* A UTF-8 byte order mark before the first section. */
    GOOD(&c, "\xef\xbb\xbf[stem1]\nname = Drums\n[stem2]\nname = Bass\n");
    CHECK_INT_EQ(registered_mask(&c), 0x03);
    CHECK_STR_EQ(c.stem[0].name, "Drums");
    /* The longest names that fit. */
    memset(text, 0, sizeof text);
    strcpy(text, "[stem1]\nname = ");
    memset(text + strlen(text), 'n', CONF_NAME_MAX - 1);
    strcat(text, "\n");
    GOOD(&c, text);
    CHECK_INT_EQ(strlen(c.stem[0].name), CONF_NAME_MAX - 1);
    /* Two names that differ (once sanitised) are fine, as are record_mix = off
     * and a stem called Mix. */
    GOOD(&c, "[capture]\nrecord_mix = off\n[stem1]\nname = Mix\n[stem2]\nname = Mix 2\n");
    CHECK_STR_EQ(c.stem[0].name, "Mix");
}

/* [osc] subscription_ttl, max_subscribers, bundle; [mix] offset_frames;
 * [meter] window_ms; [null] threshold_db: the ends of their ranges. */
static void
test_meter_values(void)
{
    static const char *const yes[] = {"true", "yes", "on", "1", "TRUE", "On"};
    static const char *const no[] = {"false", "no", "off", "0", "False", "NO"};
    char text[256];
    struct conf c;

    GOOD(&c, "[osc]\nsubscription_ttl = 1\nmax_subscribers = 1\n");
    CHECK_INT_EQ(c.osc_subscription_ttl, 1);
    CHECK_INT_EQ(c.osc_max_subscribers, 1);
    GOOD(&c, "[osc]\nsubscription_ttl = 86400\nmax_subscribers = 64\n");
    CHECK_INT_EQ(c.osc_subscription_ttl, 86400);
    CHECK_INT_EQ(c.osc_max_subscribers, CONF_MAX_SUBSCRIBERS);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        snprintf(text, sizeof text, "[osc]\nbundle = %s\n", yes[i]);
        GOOD(&c, text);
        CHECK_INT_EQ(c.osc_bundle, 1);
        snprintf(text, sizeof text, "[osc]\nbundle = %s\n", no[i]);
        GOOD(&c, text);
        CHECK_INT_EQ(c.osc_bundle, 0);
    }

    GOOD(&c, "[mix]\noffset_frames = 8192\n");
    CHECK_INT_EQ(c.mix_offset_frames, CONF_MAX_OFFSET);
    GOOD(&c, "[mix]\noffset_frames = -8192\n");
    CHECK_INT_EQ(c.mix_offset_frames, -CONF_MAX_OFFSET);
    GOOD(&c, "[mix]\noffset_frames = 64\n");
    CHECK_INT_EQ(c.mix_offset_frames, 64);
    GOOD(&c, "[mix]\noffset_frames = -17\n");
    CHECK_INT_EQ(c.mix_offset_frames, -17);
    GOOD(&c, "[mix]\noffset_frames = 0\n");
    CHECK_INT_EQ(c.mix_offset_frames, 0);
    GOOD(&c, "[mix]\nconnect_left = a:b\noffset_frames = +32\n");
    CHECK_INT_EQ(c.mix_offset_frames, 32);
    CHECK_STR_EQ(c.mix_connect[0], "a:b");

    GOOD(&c, "[meter]\nwindow_ms = 10\n");
    CHECK_INT_EQ(c.meter_window_ms, 10);
    GOOD(&c, "[meter]\nwindow_ms = 10000\n");
    CHECK_INT_EQ(c.meter_window_ms, 10000);
    GOOD(&c, "[meter]\nwindow_ms = 300\n");
    CHECK_INT_EQ(c.meter_window_ms, 300);

    GOOD(&c, "[null]\nthreshold_db = -150\n");
    CHECK(c.null_threshold_db == -150.0);
    GOOD(&c, "[null]\nthreshold_db = 0\n");
    CHECK(c.null_threshold_db == 0.0);
    GOOD(&c, "[null]\nthreshold_db = -90.5\n");
    CHECK(c.null_threshold_db == -90.5);
    GOOD(&c, "[null]\nthreshold_db = -120\n[meter]\nwindow_ms = 50\n");
    CHECK(c.null_threshold_db == -120.0);
    CHECK_INT_EQ(c.meter_window_ms, 50);

    /* Every new key at once, in sections in any order, with comments. */
    GOOD(&c, "[null]\nthreshold_db = -70 ; stricter\n"
             "[meter]\nwindow_ms = 250\n"
             "[mix]\noffset_frames = 128\n"
             "[osc]\nbundle = on\nsubscription_ttl = 5\nmax_subscribers = 2\n");
    CHECK(c.null_threshold_db == -70.0);
    CHECK_INT_EQ(c.meter_window_ms, 250);
    CHECK_INT_EQ(c.mix_offset_frames, 128);
    CHECK_INT_EQ(c.osc_bundle, 1);
    CHECK_INT_EQ(c.osc_subscription_ttl, 5);
    CHECK_INT_EQ(c.osc_max_subscribers, 2);
}

static void
test_meter_bad(void)
{
    /* [osc] */
    BAD("[osc]\nsubscription_ttl = 0\n",
        "bad.ini:2: [osc] subscription_ttl: '0' is not a number of seconds from 1 to 86400");
    BAD("[osc]\nsubscription_ttl = 86401\n", "bad.ini:2: [osc] subscription_ttl: '86401'");
    BAD("[osc]\nsubscription_ttl = -5\n", "bad.ini:2: [osc] subscription_ttl:");
    BAD("[osc]\nsubscription_ttl = 1.5\n", "bad.ini:2: [osc] subscription_ttl:");
    BAD("[osc]\nsubscription_ttl = 30s\n", "bad.ini:2: [osc] subscription_ttl:");
    BAD("[osc]\nsubscription_ttl =\n", "bad.ini:2: [osc] subscription_ttl:");
    BAD("[osc]\nport = 9951\nmax_subscribers = 0\n",
        "bad.ini:3: [osc] max_subscribers: '0' is not a number from 1 to 64");
    BAD("[osc]\nmax_subscribers = 65\n", "bad.ini:2: [osc] max_subscribers: '65'");
    BAD("[osc]\nmax_subscribers = many\n", "bad.ini:2: [osc] max_subscribers:");
    BAD("[osc]\nbundle = maybe\n", "bad.ini:2: [osc] bundle: 'maybe' is not a boolean");
    BAD("[osc]\nbundle = 2\n", "bad.ini:2: [osc] bundle:");
    BAD("[osc]\nbundle =\n", "bad.ini:2: [osc] bundle:");
    BAD("[osc]\nbundle = yes\nbundle = no\n", "bad.ini:3: [osc] bundle: set twice");

    /* [mix] */
    BAD("[mix]\noffset_frames = 9000\n",
        "bad.ini:2: [mix] offset_frames: '9000' is not a number of frames from -8192 to 8192");
    BAD("[mix]\noffset_frames = 8193\n", "bad.ini:2: [mix] offset_frames: '8193'");
    BAD("[mix]\noffset_frames = -8193\n", "bad.ini:2: [mix] offset_frames: '-8193'");
    BAD("[mix]\noffset_frames = 1.5\n", "bad.ini:2: [mix] offset_frames:");
    BAD("[mix]\noffset_frames = 64 frames\n", "bad.ini:2: [mix] offset_frames:");
    BAD("[mix]\noffset_frames =\n", "bad.ini:2: [mix] offset_frames:");
    BAD("[mix]\nconnect_left = a:b\noffset = 3\n", "bad.ini:3: [mix] offset: unknown key");

    /* [meter] */
    BAD("[meter]\nwindow_ms = 5\n",
        "bad.ini:2: [meter] window_ms: '5' is not a number of milliseconds from 10 to 10000");
    BAD("[meter]\nwindow_ms = 9\n", "bad.ini:2: [meter] window_ms: '9'");
    BAD("[meter]\nwindow_ms = 10001\n", "bad.ini:2: [meter] window_ms: '10001'");
    BAD("[meter]\nwindow_ms = 100ms\n", "bad.ini:2: [meter] window_ms:");
    BAD("[meter]\nwindow_ms = 0.1\n", "bad.ini:2: [meter] window_ms:");
    BAD("[meter]\nwindow_ms =\n", "bad.ini:2: [meter] window_ms:");
    BAD("[meter]\nwindow = 100\n", "bad.ini:2: [meter] window: unknown key");
    BAD("[meter]\n[meter]\n", "bad.ini:2: [meter]: section appears twice");
    BAD("[Meter]\n", "bad.ini:1: unknown section [Meter]");

    /* [null] */
    BAD("[null]\nthreshold_db = 3\n",
        "bad.ini:2: [null] threshold_db: '3' is not a level in dBFS from -150 to 0");
    BAD("[null]\nthreshold_db = 0.1\n", "bad.ini:2: [null] threshold_db: '0.1'");
    BAD("[null]\nthreshold_db = -151\n", "bad.ini:2: [null] threshold_db: '-151'");
    BAD("[null]\nthreshold_db = -60dB\n", "bad.ini:2: [null] threshold_db:");
    BAD("[null]\nthreshold_db = nan\n", "bad.ini:2: [null] threshold_db:");
    BAD("[null]\nthreshold_db = -inf\n", "bad.ini:2: [null] threshold_db:");
    BAD("[null]\nthreshold_db =\n", "bad.ini:2: [null] threshold_db:");
    BAD("[null]\nthreshold_db = -60\nthreshold_db = -70\n",
        "bad.ini:3: [null] threshold_db: set twice");
    BAD("[null]\nthreshold = -60\n", "bad.ini:2: [null] threshold: unknown key");
    BAD("[null]\n\n[null]\n", "bad.ini:3: [null]: section appears twice");
}

static void
test_line_length(void)
{
    char text[1024];
    struct conf c;
    size_t n;

    /* A 196-character line is fine. */
    strcpy(text, "[capture]\ndir = ");
    n = 196 - strlen("dir = ");
    memset(text + strlen(text), 'd', n);
    text[strlen("[capture]\ndir = ") + n] = '\0';
    strcat(text, "\n");
    GOOD(&c, text);
    CHECK_INT_EQ(strlen(c.capture_dir), n);

    /* 197 bytes is the longest line; 198 is refused. */
    strcpy(text, "[capture]\ndir = ");
    memset(text + strlen(text), 'd', 197 - strlen("dir = "));
    text[strlen("[capture]\n") + 197] = '\0';
    strcat(text, "\n");
    GOOD(&c, text);
    CHECK_INT_EQ(strlen(c.capture_dir), 197 - strlen("dir = "));
    strcpy(text, "[capture]\ndir = ");
    memset(text + strlen(text), 'd', 198 - strlen("dir = "));
    text[strlen("[capture]\n") + 198] = '\0';
    strcat(text, "\n");
    BAD(text, "bad.ini:2: line too long (198 bytes, at most 197)");

    /* Too long: refused with its line number, and the rest still parsed. */
    strcpy(text, "[song]\n; next line is too long\ntitle = ");
    memset(text + strlen(text), 'x', 300);
    text[strlen("[song]\n; next line is too long\ntitle = ") + 300] = '\0';
    strcat(text, "\n[jack]\nclient = x\n");
    BAD(text, "bad.ini:3: line too long");
}

static void
test_bad(void)
{
    /* Sections and syntax. */
    BAD("[jack]\nclient = a\n[bogus]\nkey = 1\n", "bad.ini:3: unknown section [bogus]");
    BAD("[stem0]\n", "bad.ini:1: unknown section [stem0]");
    BAD("[jack]\n[stem9]\n", "bad.ini:2: unknown section [stem9]");
    BAD("[Jack]\n", "bad.ini:1: unknown section [Jack]");
    BAD("[stem10]\n", "bad.ini:1: unknown section [stem10]");
    BAD("[jack]\nclient = a\n\n[jack]\n", "bad.ini:4: [jack]: section appears twice");
    BAD("[stem2]\nname = Bass\n[stem1]\n[stem2]\n", "bad.ini:4: [stem2]: section appears twice");
    BAD("client = a\n[jack]\n", "bad.ini:1: key 'client' outside of any section");
    BAD("; comment\n\nport = 1\n", "bad.ini:3: key 'port' outside of any section");
    BAD("[jack]\nclient = a\nthis line has no equals sign\n", "bad.ini:3: syntax error");
    BAD("[jack\n", "bad.ini:1: syntax error");
    BAD("[jack]\nclient = a\nclient = b\n", "bad.ini:3: [jack] client: set twice");
    BAD("[stem1]\nname = a\narmed = yes\nname = b\n", "bad.ini:4: [stem1] name: set twice");
    /* An indented line after a key line continues that key (inih multiline). */
    BAD("[jack]\nclient = a\n  server = b\n", "bad.ini:3: [jack] client: set twice");

    /* Unknown keys. */
    BAD("[jack]\nclinet = a\n", "bad.ini:2: [jack] clinet: unknown key");
    BAD("[osc]\n\nhost = x\n", "bad.ini:3: [osc] host: unknown key");
    BAD("[capture]\nFormat = wav\n", "bad.ini:2: [capture] Format: unknown key");
    BAD("[song]\nartists = x\n", "bad.ini:2: [song] artists: unknown key");
    BAD("[mix]\nconnect = a:b\n", "bad.ini:2: [mix] connect: unknown key");
    BAD("[stem4]\nname = x\nmute = yes\n", "bad.ini:3: [stem4] mute: unknown key");
    BAD("[mix]\nname = x\n", "bad.ini:2: [mix] name: unknown key");

    /* [jack] */
    BAD("[jack]\nclient = a:b\n", "bad.ini:2: [jack] client:");
    BAD("[jack]\nclient =\n", "bad.ini:2: [jack] client: must not be empty");
    BAD("[jack]\nclient = "
        "0123456789012345678901234567890123456789012345678901234567890123\n",
        "bad.ini:2: [jack] client: too long");

    /* [osc] */
    BAD("[osc]\nport = 0\n", "bad.ini:2: [osc] port:");
    BAD("[osc]\nport = 70000\n", "bad.ini:2: [osc] port:");
    BAD("[osc]\nport = 65536\n", "bad.ini:2: [osc] port:");
    BAD("[osc]\nport = abc\n", "bad.ini:2: [osc] port: 'abc'");
    BAD("[osc]\nport = -1\n", "bad.ini:2: [osc] port:");
    BAD("[osc]\nport = 80x\n", "bad.ini:2: [osc] port:");
    BAD("[osc]\nport =\n", "bad.ini:2: [osc] port:");
    BAD("[osc]\nport = 99999999999999999999999\n", "bad.ini:2: [osc] port:");
    BAD("[osc]\nbind =\n", "bad.ini:2: [osc] bind: must not be empty");

    /* [capture] */
    BAD("[capture]\nformat = wav\nsample_format = pcm20\n",
        "bad.ini:3: [capture] sample_format: 'pcm20'");
    BAD("[capture]\nformat = mp3\n", "bad.ini:2: [capture] format: 'mp3'");
    BAD("[capture]\nformat = rf64\n", "bad.ini:2: [capture] format:");
    BAD("[capture]\nformat =\n", "bad.ini:2: [capture] format:");
    BAD("[capture]\nbuffer_seconds = 0\n", "bad.ini:2: [capture] buffer_seconds: '0'");
    BAD("[capture]\nbuffer_seconds = 1000\n", "bad.ini:2: [capture] buffer_seconds: '1000'");
    BAD("[capture]\nbuffer_seconds = 0.5\n", "bad.ini:2: [capture] buffer_seconds:");
    BAD("[capture]\nbuffer_seconds = 300.5\n", "bad.ini:2: [capture] buffer_seconds:");
    BAD("[capture]\nbuffer_seconds = -5\n", "bad.ini:2: [capture] buffer_seconds:");
    BAD("[capture]\nbuffer_seconds = ten\n", "bad.ini:2: [capture] buffer_seconds:");
    BAD("[capture]\nbuffer_seconds = 10s\n", "bad.ini:2: [capture] buffer_seconds:");
    BAD("[capture]\nbuffer_seconds = nan\n", "bad.ini:2: [capture] buffer_seconds:");
    BAD("[capture]\nbuffer_seconds = inf\n", "bad.ini:2: [capture] buffer_seconds:");
    BAD("[capture]\nrecord_mix = maybe\n", "bad.ini:2: [capture] record_mix: 'maybe'");
    BAD("[capture]\nrecord_mix = 2\n", "bad.ini:2: [capture] record_mix:");
    BAD("[capture]\nrecord_mix =\n", "bad.ini:2: [capture] record_mix:");
    BAD("[capture]\ndir =\n", "bad.ini:2: [capture] dir: must not be empty");

    /* [song] */
    BAD("[song]\ntitle =\n", "bad.ini:2: [song] title: the title must not be empty");
    BAD("[song]\nisrc = US-ABC-26-1234\n",
        "bad.ini:2: [song] isrc: 'US-ABC-26-1234' is not an ISRC");
    BAD("[song]\nisrc = us-abc-26-12345\n", "bad.ini:2: [song] isrc:");
    BAD("[song]\nupc = 12345\n", "bad.ini:2: [song] upc: '12345' is not a UPC");
    BAD("[song]\nupc = 12345678901a\n", "bad.ini:2: [song] upc:");
    BAD("[song]\ntrack = three\n", "bad.ini:2: [song] track: 'three' is not a track number");
    BAD("[song]\ntrack = 1/2/3\n", "bad.ini:2: [song] track:");
    BAD("[capture]\nfollow_transport = sometimes\n", "bad.ini:2: [capture] follow_transport:");
    BAD("[capture]\nmin_free_mb = -1\n", "bad.ini:2: [capture] min_free_mb:");
    BAD("[osc]\nbind = 0.0.0.0\n", "[osc] allow: required when [osc] bind (0.0.0.0)");
    BAD("[osc]\nallow = 10.0.0.0/33\n", "bad.ini:2: [osc] allow: '33' is not a prefix length");
    BAD("[osc]\nallow = studio.local\n", "bad.ini:2: [osc] allow: 'studio.local' is not an IPv4");
    BAD("[song]\ntitle = a\tb\n", "bad.ini:2: [song] title: contains a control character");

    /* [mix] and [stemN] connections. */
    BAD("[mix]\nconnect_left = system\n", "bad.ini:2: [mix] connect_left: 'system'");
    BAD("[mix]\nconnect_right = capture_2\n", "bad.ini:2: [mix] connect_right:");
    BAD("[stem1]\nname = Drums\nconnect_left = ardour-drums\n", "bad.ini:3: [stem1] connect_left:");
    BAD("[stem6]\nconnect_right = x\n", "bad.ini:2: [stem6] connect_right:");

    /* [stemN] */
    BAD("[stem1]\narmed = maybe\n", "bad.ini:2: [stem1] armed: 'maybe'");
    BAD("[stem2]\nname =\n", "bad.ini:2: [stem2] name: must not be empty");
    BAD("[stem3]\nname = a\x01z\n", "bad.ini:2: [stem3] name: contains a control character");

    /* Text that is not UTF-8 (Latin-1 bytes, a lone continuation byte, an
     * overlong '/', a surrogate): refused where it enters, never written. */
    BAD("[song]\ntitle = Caf\xe9\n",
        "bad.ini:2: [song] title: is not valid UTF-8 (byte 0xE9 at offset 3)");
    BAD("[song]\nartist = \x80x\n",
        "bad.ini:2: [song] artist: is not valid UTF-8 (byte 0x80 at offset 0)");
    BAD("[stem2]\nname = a\xc0\xaf"
        "b\n",
        "bad.ini:2: [stem2] name: is not valid UTF-8 (byte 0xC0 at offset 1)");
    BAD("[capture]\ndir = /tmp/\xed\xa0\x80\n",
        "bad.ini:2: [capture] dir: is not valid UTF-8 (byte 0xED at offset 5)");
    {
        struct conf c;
        char why[256];
        conf_defaults(&c);
        CHECK(conf_song_set(&c.song, "album", "Caf\xe9", why) < 0);
        CHECK_STR_EQ(why, "is not valid UTF-8 (byte 0xE9 at offset 3)");
        CHECK(conf_song_set(&c.song, "album", "Caf\xc3\xa9", why) == 0);
        CHECK(conf_stem_name_check(&c, 1, "Ba\xdf", why) < 0);
        CHECK_STR_EQ(why, "the stem name is not valid UTF-8 (byte 0xDF at offset 2)");
        CHECK(conf_stem_name_check(&c, 1, "Ba\xc3\x9f", why) == 0);
    }
}

static void
test_too_long_values(void)
{
    char text[1024];

    strcpy(text, "[stem1]\nname = ");
    memset(text + strlen(text), 'n', CONF_NAME_MAX);
    strcat(text, "\n");
    BAD(text, "bad.ini:2: [stem1] name: too long");
}

static void
test_stem_names(void)
{
    struct conf c;

    /* Names that give the same file name. */
    BAD("[stem1]\nname = Drums\n[stem2]\nname = Drums\n", "bad.ini:4: [stem2] name:");
    BAD("[stem1]\nname = Drums\n[stem2]\nname = Drums.\n", "bad.ini:4: [stem2] name:");
    BAD("[stem1]\nname = Drums\n; comment\n[stem5]\nname = drums\n", "bad.ini:5: [stem5] name:");
    BAD("[stem1]\nname = A/B\n[stem2]\nname = A:B\n", "bad.ini:4: [stem2] name:");
    BAD("[stem1]\nname = Lead  Vocal\n[stem2]\nname = Lead Vocal \n", "bad.ini:4: [stem2] name:");
    BAD("[stem3]\nname = .Keys\n[stem4]\nname = Keys\n", "bad.ini:4: [stem4] name:");
    /* The default name of a bare section counts, at the section's line. */
    BAD("[stem1]\nname = Stem 2\n[stem2]\n", "bad.ini:3: [stem2] name:");
    BAD("[stem2]\n[stem1]\nname = Stem 2\n", "bad.ini:3: [stem1] name:");
    /* A name that sanitises to nothing becomes "Stem". */
    BAD("[stem1]\nname = ...\n[stem2]\nname = Stem\n", "bad.ini:4: [stem2] name:");
    GOOD(&c, "[stem1]\nname = ...\n[stem2]\nname = ///\n");
    /* Every colliding pair is reported. */
    CHECK_INT_EQ(
        load_text(&c, "bad.ini", "[stem1]\nname = A\n[stem2]\nname = a\n[stem3]\nname = A.\n"), -1);
    CHECK(strstr(errtext, "bad.ini:4: [stem2] name:") != NULL);
    CHECK(strstr(errtext, "bad.ini:6: [stem3] name:") != NULL);
    CHECK(strstr(errtext, "bad.ini: 3 errors in config") != NULL);

    /* A stem called Mix while the mix is recorded. */
    BAD("[stem1]\nname = Drums\n[stem2]\nname = Mix\n", "bad.ini:4: [stem2] name:");
    CHECK(strstr(errtext, "mix") != NULL);
    BAD("[capture]\nrecord_mix = yes\n[stem3]\nname = mix.\n", "bad.ini:4: [stem3] name:");
    BAD("[stem3]\nname = MIX\n[capture]\nrecord_mix = on\n", "bad.ini:2: [stem3] name:");
    GOOD(&c, "[stem3]\nname = MIX\n[capture]\nrecord_mix = false\n");
    GOOD(&c, "[stem3]\nname = Mixer\n");
}

static void
test_several_errors(void)
{
    struct conf c;
    int rc = load_text(&c, "bad.ini",
                       "[jack]\nclient = a:b\n[osc]\nport = 0\n[capture]\nformat = mp3\n"
                       "[nope]\nx = 1\n");

    CHECK_INT_EQ(rc, -1);
    CHECK(strstr(errtext, "bad.ini:2: [jack] client:") != NULL);
    CHECK(strstr(errtext, "bad.ini:4: [osc] port:") != NULL);
    CHECK(strstr(errtext, "bad.ini:6: [capture] format:") != NULL);
    CHECK(strstr(errtext, "bad.ini:7: unknown section [nope]") != NULL);
    CHECK(strstr(errtext, "bad.ini: 4 errors in config") != NULL);
}

static void
test_missing_file(void)
{
    char path[PATH_MAX];
    struct conf c;

    path_in_tmp(path, sizeof path, "does-not-exist.ini");
    CHECK_INT_EQ(load_path(&c, path), -1);
    CHECK(strstr(errtext, "does-not-exist.ini: cannot open config file") != NULL);
    /* A directory is not a config file either. */
    CHECK_INT_EQ(load_path(&c, tmpdir), -1);
    CHECK(strstr(errtext, tmpdir) != NULL);
}

/* Tests run from the repository root; allow running from tests/ as well. */
static const char *
repo_file(const char *rel, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s", rel);
    if (access(buf, R_OK) != 0)
        snprintf(buf, bufsz, "../%s", rel);
    return buf;
}

static void
test_shipped_configs(void)
{
    char path[PATH_MAX];
    struct conf c, d;

    repo_file("config/stemcap.ini", path, sizeof path);
    if (!CHECK_INT_EQ(load_path(&c, path), 0))
        fprintf(stderr, "  %s: %s", path, errtext);
    CHECK_STR_EQ(errtext, "");
    /* The example shows every default it documents. */
    conf_defaults(&d);
    CHECK_STR_EQ(c.jack_server, d.jack_server);
    CHECK_STR_EQ(c.jack_client, d.jack_client);
    CHECK_INT_EQ(c.osc_port, d.osc_port);
    CHECK_STR_EQ(c.osc_bind, d.osc_bind);
    CHECK_STR_EQ(c.capture_dir, d.capture_dir);
    CHECK_INT_EQ(c.format, d.format);
    CHECK_INT_EQ(c.sample_format, d.sample_format);
    CHECK(c.buffer_seconds == d.buffer_seconds);
    CHECK_INT_EQ(c.record_mix, d.record_mix);
    CHECK_INT_EQ(c.osc_subscription_ttl, d.osc_subscription_ttl);
    CHECK_INT_EQ(c.osc_max_subscribers, d.osc_max_subscribers);
    CHECK_INT_EQ(c.osc_bundle, d.osc_bundle);
    CHECK_INT_EQ(c.mix_offset_frames, d.mix_offset_frames);
    CHECK_INT_EQ(c.meter_window_ms, d.meter_window_ms);
    CHECK(c.null_threshold_db == d.null_threshold_db);
    CHECK_INT_EQ(registered_mask(&c), 0x03);
    CHECK_STR_EQ(c.stem[0].name, "Drums");
    CHECK_STR_EQ(c.stem[1].name, "Bass");
    CHECK_INT_EQ(c.stem[0].armed, 1);
    CHECK_INT_EQ(c.stem[1].armed, 1);

    repo_file("config/demo.ini", path, sizeof path);
    if (!CHECK_INT_EQ(load_path(&c, path), 0))
        fprintf(stderr, "  %s: %s", path, errtext);
    CHECK_STR_EQ(errtext, "");
    CHECK_STR_EQ(c.jack_server, "");
    CHECK_STR_EQ(c.jack_client, "stemcap");
    CHECK_INT_EQ(c.osc_port, 9951);
    CHECK_STR_EQ(c.osc_bind, "127.0.0.1");
    CHECK_STR_EQ(c.capture_dir, "takes");
    CHECK_INT_EQ(c.format, CONF_FORMAT_WAV);
    CHECK_INT_EQ(c.sample_format, CONF_SAMPLE_PCM24);
    CHECK_INT_EQ(c.record_mix, 1);
    CHECK_STR_EQ(c.song.title, "Demo Song");
    CHECK_INT_EQ(registered_mask(&c), 0xFF);
    static const char *const demo_names[CONF_MAX_STEMS] = {
        "Drums", "Bass", "Keys", "Lead Vocal", "Backing Vocals", "Guitars", "Synths", "FX"};
    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        CHECK_STR_EQ(c.stem[i].name, demo_names[i]);
        CHECK_INT_EQ(c.stem[i].armed, 1);
        CHECK_STR_EQ(c.stem[i].connect[0], "");
        CHECK_STR_EQ(c.stem[i].connect[1], "");
    }
    CHECK_STR_EQ(c.mix_connect[0], "");
    CHECK_STR_EQ(c.mix_connect[1], "");
}

/* The EXAMPLE of man/stemcap.ini.5 (keep in sync). */
static void
test_man_example(void)
{
    struct conf c;

    GOOD(&c, "; a band recorded from Ardour; stems 3 to 8 are not registered\n"
             "[jack]\nclient = stemcap\n\n"
             "[osc]\nport = 9951\nbind = 127.0.0.1\n\n"
             "[capture]\ndir = /srv/recordings\nformat = wav\nsample_format = pcm24\n"
             "buffer_seconds = 20\nrecord_mix = true\n\n"
             "[song]\ntitle = Opening Night\n\n"
             "[mix]\nconnect_left = ardour:Master/audio_out 1\n"
             "connect_right = ardour:Master/audio_out 2\n\n"
             "[stem1]\nname = Drums\nconnect_left = ardour:Drums/audio_out 1\n"
             "connect_right = ardour:Drums/audio_out 2\n\n"
             "[stem2]\nname = Bass\nconnect_left = ardour:Bass/audio_out 1\n"
             "connect_right = ardour:Bass/audio_out 2\narmed = yes\n");
    CHECK_INT_EQ(registered_mask(&c), 0x03);
    CHECK(c.buffer_seconds == 20.0);
    CHECK_STR_EQ(c.mix_connect[1], "ardour:Master/audio_out 2");
    CHECK_STR_EQ(c.stem[1].connect[0], "ardour:Bass/audio_out 1");
}

/* Every field conf_save() must carry, compared one by one. */
static void
same_conf_at(const struct conf *a, const struct conf *b, const char *file, int line)
{
#define SAME_STR(f) unit_check_str(a->f, b->f, file, line, "saved " #f, "loaded " #f)
#define SAME_INT(f)                                                                                \
    unit_check_int((long long)a->f, (long long)b->f, file, line, "saved " #f, "loaded " #f)
    SAME_STR(jack_server);
    SAME_STR(jack_client);
    SAME_STR(jack_pretty_name);
    SAME_INT(osc_port);
    SAME_STR(osc_bind);
    SAME_INT(osc_subscription_ttl);
    SAME_INT(osc_max_subscribers);
    SAME_INT(osc_bundle);
    SAME_STR(osc_allow);
    SAME_STR(capture_dir);
    SAME_INT(format);
    SAME_INT(sample_format);
    unit_check(a->buffer_seconds == b->buffer_seconds, file, line, "same buffer_seconds");
    SAME_INT(record_mix);
    SAME_INT(follow_transport);
    SAME_INT(min_free_mb);
    SAME_STR(song.title);
    SAME_STR(song.artist);
    SAME_STR(song.album);
    SAME_STR(song.track);
    SAME_STR(song.isrc);
    SAME_STR(song.upc);
    SAME_STR(song.label);
    SAME_STR(mix_connect[0]);
    SAME_STR(mix_connect[1]);
    SAME_INT(mix_offset_frames);
    SAME_INT(mix_auto_offset);
    SAME_INT(meter_window_ms);
    unit_check(a->null_threshold_db == b->null_threshold_db, file, line, "same threshold_db");
    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        SAME_INT(stem[i].registered);
        SAME_INT(stem[i].armed);
        SAME_STR(stem[i].name);
        SAME_STR(stem[i].connect[0]);
        SAME_STR(stem[i].connect[1]);
    }
#undef SAME_STR
#undef SAME_INT
}
#define SAME_CONF(a, b) same_conf_at((a), (b), __FILE__, __LINE__)

/* conf_save(a) to tmpdir/name, loaded back into b. */
static void
roundtrip(const struct conf *a, struct conf *b, const char *name)
{
    char path[PATH_MAX];

    path_in_tmp(path, sizeof path, name);
    CHECK_INT_EQ(conf_save(a, path), 0);
    int rc = load_path(b, path);
    if (!CHECK_INT_EQ(rc, 0))
        fprintf(stderr, "  stderr was: %s", errtext);
    CHECK_STR_EQ(errtext, "");
}

static void
test_save(void)
{
    struct conf a, b;
    char why[256];

    /* The defaults. */
    conf_defaults(&a);
    roundtrip(&a, &b, "saved-defaults.ini");
    SAME_CONF(&a, &b);

    /* Every key away from its default, over a loaded file, then changed as
     * OSC changes them (song keys, names, arm states, follow). */
    GOOD(&a, "[jack]\nserver = studio\nclient = stemcap.nABCD\npretty_name =\n"
             "[osc]\nport = 9000\nbind = 0.0.0.0\nallow = 192.168.1.0/24, 10.0.0.7\n"
             "subscription_ttl = 120\nmax_subscribers = 16\nbundle = yes\n"
             "[capture]\ndir = /srv/stems/takes\nformat = w64\nsample_format = double\n"
             "buffer_seconds = 2.3\nrecord_mix = no\nfollow_transport = yes\n"
             "min_free_mb = 0\n"
             "[song]\ntitle = Before\nartist = A;B = C\nalbum = Al\ntrack = 3/12\n"
             "isrc = US-S1Z-99-00001\nupc = 012345678905\nlabel = L\n"
             "[mix]\nconnect_left = system:capture_1\nconnect_right = x:y:z\n"
             "offset_frames = -64\nauto_offset = off\n"
             "[meter]\nwindow_ms = 300\n[null]\nthreshold_db = -90.123456789\n"
             "[stem1]\nname = Drums\nconnect_left = ardour:Drums/audio_out 1\n"
             "connect_right = ardour:Drums/audio_out 2\n"
             "[stem2]\nname = Mix\narmed = off\n[stem5]\n[stem8]\nname = Lead Vocal\n");
    CHECK_INT_EQ(conf_song_set(&a.song, "title", "Na\xc3\xafve = \"Song\" #2;", why), 0);
    CHECK_INT_EQ(conf_song_set(&a.song, "album", "", why), 0);
    snprintf(a.stem[0].name, sizeof a.stem[0].name, "Kit");
    a.stem[7].armed = 0;
    a.follow_transport = 0;
    roundtrip(&a, &b, "saved-full.ini");
    SAME_CONF(&a, &b);
    CHECK_INT_EQ(registered_mask(&b), 0x93);
    CHECK_STR_EQ(b.jack_pretty_name, "");
    CHECK_STR_EQ(b.song.title, "Na\xc3\xafve = \"Song\" #2;");

    /* A saved file saves to the same text, and defaults-only files stay so. */
    char *ta = conf_to_ini(&a, why), *tb = conf_to_ini(&b, why);
    CHECK(ta && tb && strcmp(ta, tb) == 0);
    free(ta);
    free(tb);

    /* Port 0 (any free port) is left out: it loads as the default. */
    conf_defaults(&a);
    a.osc_port = 0;
    roundtrip(&a, &b, "saved-port0.ini");
    CHECK_INT_EQ(b.osc_port, 9951);

    /* Values the INI syntax cannot carry are refused, with the key. */
    conf_defaults(&a);
    CHECK_INT_EQ(conf_song_set(&a.song, "artist", " Leading", why), 0);
    CHECK(conf_to_ini(&a, why) == NULL);
    CHECK(strstr(why, "artist = ' Leading' cannot be written") != NULL);
    conf_defaults(&a);
    snprintf(a.stem[2].name, sizeof a.stem[2].name, "Keys ;2");
    CHECK(conf_to_ini(&a, why) == NULL);
    CHECK(strstr(why, "name = 'Keys ;2'") != NULL);
    conf_defaults(&a);
    memset(a.capture_dir, 'd', 250);
    a.capture_dir[250] = '\0';
    CHECK(conf_to_ini(&a, why) == NULL);
    CHECK(strstr(why, "dir: the value is too long") != NULL);

    /* conf_save fails with the path when the folder is not there. */
    char path[PATH_MAX];
    conf_defaults(&a);
    path_in_tmp(path, sizeof path, "no-such-dir/x.ini");
    int fd = open("/dev/null", O_WRONLY), saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    CHECK_INT_EQ(conf_save(&a, path), -1);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
}

static void
cleanup(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[PATH_MAX];

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        path_in_tmp(path, sizeof path, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* The documentation names exactly the table's keys: every key of conf.c's
 * table appears in config/stemcap.ini (as "key =" or "; key =" in its
 * section) and in stemcap.ini(5) (a ".BI key" or ".BR key" item under its
 * "[section] SECTION" heading), and neither names a key the table lacks.
 * The sections [stem1]..[stem8] count as one, "stem". */
struct doc_key {
    char section[16], key[40];
    int line;
};

static int
doc_section(const char *name, char *out, size_t outsz)
{
    if (strncmp(name, "stem", 4) == 0 && name[4] >= '1' && name[4] <= '8')
        snprintf(out, outsz, "stem");
    else
        snprintf(out, outsz, "%.*s", (int)strcspn(name, "]"), name);
    return 0;
}

/* Reads the (section, key) pairs a documentation file names; INI: 1 for
 * stemcap.ini, 0 for the man page.  Returns how many. */
static size_t
doc_keys(const char *path, int ini, struct doc_key *k, size_t max)
{
    FILE *f = fopen(path, "r");
    char line[512], section[16] = "";
    size_t n = 0;
    int no = 0;

    if (!CHECK(f != NULL))
        return 0;
    while (fgets(line, sizeof line, f) && n < max) {
        const char *p = line, *name;
        size_t len;
        no++;
        if (ini && line[0] == '[') {
            doc_section(line + 1, section, sizeof section);
            continue;
        }
        if (!ini && strncmp(line, ".SH \"[", 6) == 0) {
            doc_section(line + 6, section, sizeof section);
            continue;
        }
        if (!ini && strncmp(line, ".SH", 3) == 0) {
            section[0] = '\0';
            continue;
        }
        if (!section[0])
            continue;
        if (ini) {
            if (strncmp(p, "; ", 2) == 0)
                p += 2; /* a key shown commented out, never "; <indent>" prose */
            name = p;
            len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
            p += len;
            p += strspn(p, " ");
            if (len == 0 || *p != '=')
                continue;
        } else {
            if (strncmp(p, ".BI ", 4) != 0 && strncmp(p, ".BR ", 4) != 0)
                continue;
            name = p + 4;
            len = strspn(name, "abcdefghijklmnopqrstuvwxyz_");
            if (len == 0 || strncmp(name + len, " \" = ", 5) != 0)
                continue;
        }
        snprintf(k[n].section, sizeof k[n].section, "%s", section);
        snprintf(k[n].key, sizeof k[n].key, "%.*s", (int)len, name);
        k[n].line = no;
        n++;
    }
    fclose(f);
    return n;
}

static void
test_documented_keys(void)
{
    static const char *const files[] = {"config/stemcap.ini", "man/stemcap.ini.5"};
    struct doc_key k[256];

    for (int fi = 0; fi < 2; fi++) {
        char path[PATH_MAX];
        repo_file(files[fi], path, sizeof path);
        size_t n = doc_keys(path, fi == 0, k, 256);
        CHECK(n > 20);
        /* Every table key is documented... */
        for (size_t i = 0; conf_key(i); i++) {
            const struct conf_key *t = conf_key(i);
            int found = 0;
            for (size_t j = 0; j < n; j++)
                found |= strcmp(k[j].section, t->section) == 0 && strcmp(k[j].key, t->name) == 0;
            if (!CHECK(found))
                fprintf(stderr, "  %s does not document [%s] %s\n", files[fi], t->section, t->name);
        }
        /* ...and every documented key is in the table. */
        for (size_t j = 0; j < n; j++) {
            int found = 0;
            for (size_t i = 0; conf_key(i); i++)
                found |= strcmp(k[j].section, conf_key(i)->section) == 0 &&
                         strcmp(k[j].key, conf_key(i)->name) == 0;
            if (!CHECK(found))
                fprintf(stderr, "  %s:%d: [%s] %s is not a key of conf.c's table\n", files[fi],
                        k[j].line, k[j].section, k[j].key);
        }
    }
    /* The [song] keys of the table are the protocol's, in its order. */
    int song = 0;
    for (size_t i = 0; conf_key(i); i++) {
        if (strcmp(conf_key(i)->section, "song") != 0)
            continue;
        if (CHECK(song < PROTO_SONG_KEYS))
            CHECK_STR_EQ(conf_key(i)->name, proto_song_keys[song]);
        song++;
    }
    CHECK_INT_EQ(song, PROTO_SONG_KEYS);

    /* SIGHUP: what needs a restart comes from the table too. */
    struct conf o, n;
    char list[512];
    conf_defaults(&o);
    conf_defaults(&n);
    conf_restart_keys(&o, &n, list, sizeof list);
    CHECK_STR_EQ(list, "");
    n.format = CONF_FORMAT_AIFF;
    n.osc_port = 9000;
    n.null_threshold_db = -70.0;
    snprintf(n.song.title, sizeof n.song.title, "Other");       /* live */
    n.min_free_mb = 1;                                          /* live */
    snprintf(n.stem[2].name, sizeof n.stem[2].name, "Keys");    /* live */
    snprintf(n.mix_connect[0], sizeof n.mix_connect[0], "a:b"); /* live */
    conf_restart_keys(&o, &n, list, sizeof list);
    CHECK_STR_EQ(list, "[osc] port, [capture] format, [null] threshold_db");

    /* The table's defaults are what conf_defaults() sets (it reads them). */
    struct conf d;
    char why[256];
    conf_defaults(&d);
    char *text = conf_to_ini(&d, why);
    if (CHECK(text != NULL)) {
        CHECK(strstr(text, "\nport = " PROTO_DEFAULT_PORT_STR "\n") != NULL);
        CHECK(strstr(text, "\n[stem8]\nname = Stem 8\n") != NULL);
        free(text);
    }
}

/* [hooks]: commands checked at load (quotes), split into words without any expansion. */
static void
test_hooks(void)
{
    struct conf c;
    struct hooks_argv a;
    char why[256];

    conf_defaults(&c);
    CHECK_STR_EQ(c.hooks.on_take_end, "");
    CHECK(c.hooks.timeout_s == 30.0);
    CHECK_INT_EQ(c.hooks.shell, 0);
    GOOD(&c, "[hooks]\non_take_end = /x/check 'a b' \"$HOME;x\" c\\ d\ntimeout_s = 1.5\n"
             "shell = true\n");
    CHECK_STR_EQ(c.hooks.on_take_end, "/x/check 'a b' \"$HOME;x\" c\\ d");
    CHECK(c.hooks.timeout_s == 1.5);
    CHECK_INT_EQ(c.hooks.shell, 1);
    BAD("[hooks]\non_take_end = /x/check 'a b\n",
        "bad.ini:2: [hooks] on_take_end: unterminated ' quote (from column 10)");
    BAD("[hooks]\non_error = say \"a\n",
        "bad.ini:2: [hooks] on_error: unterminated \" quote (from column 5)");
    BAD("[hooks]\non_null_fail = x\\\n", "bad.ini:2: [hooks] on_null_fail: a backslash at the");
    BAD("[hooks]\non_take_start = ''\n", "bad.ini:2: [hooks] on_take_start: no program to run");
    BAD("[hooks]\ntimeout_s = 0\n", "bad.ini:2: [hooks] timeout_s: '0' is not");
    BAD("[hooks]\ncommand = x\n", "bad.ini:2: [hooks] command: unknown key");

    CHECK_INT_EQ(hooks_split("  /bin/echo   a\tb  ", &a, why), 0);
    CHECK_INT_EQ(a.argc, 3);
    CHECK_STR_EQ(a.argv[0], "/bin/echo");
    CHECK_STR_EQ(a.argv[2], "b");
    CHECK(a.argv[3] == NULL);
    CHECK_INT_EQ(hooks_split("p 'a \"b\" $c' \"d 'e' \\\" \\$f \\n\" g\\ h\\;i '' \"\"", &a, why),
                 0);
    CHECK_INT_EQ(a.argc, 6);
    CHECK_STR_EQ(a.argv[1], "a \"b\" $c");
    CHECK_STR_EQ(a.argv[2], "d 'e' \" $f \\n");
    CHECK_STR_EQ(a.argv[3], "g h;i");
    CHECK_STR_EQ(a.argv[4], "");
    CHECK_STR_EQ(a.argv[5], "");
    CHECK_INT_EQ(hooks_split("'a'\"b\"c", &a, why), 0);
    CHECK_INT_EQ(a.argc, 1);
    CHECK_STR_EQ(a.argv[0], "abc");
    char many[2 * HOOKS_MAX_ARGS + 8] = "";
    for (int i = 0; i <= HOOKS_MAX_ARGS; i++)
        strcat(many, "x ");
    CHECK_INT_EQ(hooks_split(many, &a, why), -1);
    CHECK_STR_EQ(why, "more than 64 words");
}

int
main(void)
{
    unsetenv("JOURNAL_STREAM"); /* plain log lines */
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_full_file();
    test_empty_and_sections();
    test_mono_stems();
    test_values();
    test_meter_values();
    test_meter_bad();
    test_line_length();
    test_bad();
    test_too_long_values();
    test_stem_names();
    test_several_errors();
    test_missing_file();
    test_shipped_configs();
    test_man_example();
    test_documented_keys();
    test_hooks();
    test_save();
    cleanup();
    return unit_summary("test_conf");
}
