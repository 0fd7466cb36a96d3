/* verify — stemcap-check --verify DIR: a stemcap take folder against its
 * manifest.json.  For each entry of its "files" array, the MD5 (nettle) of
 * the file's audio bytes as they are on disk (the WAV/RF64/W64 data chunk's
 * payload, AIFF's SSND after its offset/blockSize header, no pad byte; found
 * by audiohdr_parse) against the entry's "audio_md5", and the take's "umid"
 * against the first 32 bytes of each WAV file's bext UMID; a split take's
 * parts 2, 3, ... (its "parts" array) the same way in their part-NN folders.  One PASS/WARN/FAIL
 * line per file; exit 1 on any mismatch, 0 otherwise (a take with no
 * checksums recorded is a warning), 2 when the manifest cannot be read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <nettle/md5.h>
#include <sndfile.h>

#include "audiohdr.h"
#include "check.h"
#include "naming.h"

#define UMID_BYTES 32
#define READ_BYTES 65536

/* The MD5 of the audio bytes of PATH, as 32 lowercase hex digits into HEX.  Returns 0, or -1
 * with *WHY set. */
static int
audio_md5(const char *path, char hex[2 * MD5_DIGEST_SIZE + 1], char *why, size_t whylen)
{
    static unsigned char buf[READ_BYTES];
    struct md5_ctx ctx;
    struct audiohdr h;
    uint8_t d[MD5_DIGEST_SIZE];
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = -1;

    if (fd < 0) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (audiohdr_parse(fd, &h) != 0) {
        snprintf(why, whylen, "%s", h.why);
        goto out;
    }
    md5_init(&ctx);
    for (uint64_t off = 0; off < h.present;) {
        size_t want = h.present - off < sizeof buf ? (size_t)(h.present - off) : sizeof buf;
        ssize_t got = pread(fd, buf, want, (off_t)(h.data_off + off));

        if (got <= 0) {
            snprintf(why, whylen, "read error at byte %llu: %s",
                     (unsigned long long)(h.data_off + off),
                     got < 0 ? strerror(errno) : "unexpected end of file");
            goto out;
        }
        md5_update(&ctx, (size_t)got, buf);
        off += (uint64_t)got;
    }
    md5_digest(&ctx, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

/* The first 32 bytes of PATH's bext UMID as hex into HEX; 1 when the file has no bext chunk
 * (AIFF, or a WAV without one), 0 found, -1 unreadable (WHY). */
static int
bext_umid(const char *path, char hex[2 * UMID_BYTES + 1], char *why, size_t whylen)
{
    SF_INFO info = {0};
    SF_BROADCAST_INFO bi;
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    int got;

    if (!sf) {
        snprintf(why, whylen, "%s", sf_strerror(NULL));
        return -1;
    }
    memset(&bi, 0, sizeof bi);
    got = sf_command(sf, SFC_GET_BROADCAST_INFO, &bi, sizeof bi) == SF_TRUE;
    sf_close(sf);
    if (!got) {
        return 1;
    }
    for (size_t i = 0; i < UMID_BYTES; i++) {
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)bi.umid[i]);
    }
    return 0;
}

/* The "file" (its name in the take folder) of one entry of "files"; NULL when it is not a plain
 * file name. */
static const char *
entry_name(json_t *e)
{
    const char *name = json_string_value(json_object_get(e, "file"));

    if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
        return NULL;
    }
    return name;
}

struct tally {
    size_t fail, warn, sums;
};

/* The MD5 check of one file. */
static void
check_md5(struct tally *t, const char *path, const char *name, json_t *e)
{
    const char *want = json_string_value(json_object_get(e, "audio_md5"));
    char hex[2 * MD5_DIGEST_SIZE + 1], why[AUDIOHDR_WHY_MAX + 64];

    if (!json_object_get(e, "audio_md5")) {
        return;
    }
    t->sums++;
    if (!want || strlen(want) != 2 * MD5_DIGEST_SIZE || strspn(want, "0123456789abcdef") != 32) {
        printf("FAIL md5      %s: \"audio_md5\" is not 32 lowercase hex digits\n", name);
        t->fail++;
    } else if (audio_md5(path, hex, why, sizeof why) < 0) {
        printf("FAIL md5      %s: %s\n", name, why);
        t->fail++;
    } else if (strcmp(hex, want)) {
        printf("FAIL md5      %s: audio MD5 %s, the manifest says %s\n", name, hex, want);
        t->fail++;
    } else {
        printf("PASS md5      %s: audio MD5 %s\n", name, hex);
    }
}

/* The UMID check of one file against the take's (NULL: none recorded). */
static void
check_umid(struct tally *t, const char *path, const char *name, const char *umid)
{
    char hex[2 * UMID_BYTES + 1], why[256];
    int rc;

    if (!umid) {
        return;
    }
    rc = bext_umid(path, hex, why, sizeof why);
    if (rc < 0) {
        printf("FAIL umid     %s: %s\n", name, why);
        t->fail++;
    } else if (rc > 0) {
        printf("PASS umid     %s: no bext chunk (AIFF or plain WAV): UMID not checked\n", name);
    } else if (strcmp(hex, umid)) {
        printf("FAIL umid     %s: bext UMID %s, the take's is %s\n", name, hex, umid);
        t->fail++;
    } else {
        printf("PASS umid     %s: the take's UMID\n", name);
    }
}

/* The take's "umid": NULL when absent; *BAD when present but not 64 lowercase hex digits. */
static const char *
take_umid(json_t *root, int *bad)
{
    json_t *u = json_object_get(root, "umid");
    const char *s = json_string_value(u);

    *bad =
        u && (!s || strlen(s) != 2 * UMID_BYTES || strspn(s, "0123456789abcdef") != 2 * UMID_BYTES);
    return *bad ? NULL : s;
}

/* The files of one folder: the take's (SUB NULL) or a part's (SUB "part-NN"). */
static int
verify_files(const char *dir, const char *sub, json_t *files, const char *umid, struct tally *t)
{
    size_t i;
    json_t *e;

    json_array_foreach(files, i, e)
    {
        const char *name = entry_name(e);
        char *path, *label;

        if (!name) {
            printf("FAIL file     %s%sfiles[%zu]: no plain file \"name\"\n", sub ? sub : "",
                   sub ? ": " : "", i);
            t->fail++;
            continue;
        }
        if (asprintf(&label, "%s%s%s", sub ? sub : "", sub ? "/" : "", name) < 0) {
            check_err("out of memory");
            return -1;
        }
        if (asprintf(&path, "%s/%s", dir, label) < 0) {
            free(label);
            check_err("out of memory");
            return -1;
        }
        check_md5(t, path, label, e);
        check_umid(t, path, label, umid);
        free(path);
        free(label);
    }
    return 0;
}

/* A split take's parts 2, 3, ...: each "part-NN" folder's "files" (part 1's
 * are the take's "files", checked already). */
static int
verify_parts(const char *dir, json_t *parts, const char *umid, struct tally *t)
{
    size_t i;
    json_t *p;

    json_array_foreach(parts, i, p)
    {
        const char *folder = json_string_value(json_object_get(p, "folder"));
        json_t *files = json_object_get(p, "files");

        if (folder && !strcmp(folder, ".")) {
            continue;
        }
        if (!folder || naming_part_number(folder) < 0 || !json_is_array(files)) {
            printf("FAIL part     parts[%zu]: no \"part-NN\" \"folder\" or no \"files\"\n", i);
            t->fail++;
            continue;
        }
        if (verify_files(dir, folder, files, umid, t) < 0) {
            return -1;
        }
    }
    return 0;
}

int
verify_take(const char *dir)
{
    struct tally t = {0};
    json_error_t err;
    json_t *root, *files;
    char *mpath;
    const char *umid;
    int bad_umid, rc = EXIT_USAGE;

    if (asprintf(&mpath, "%s/manifest.json", dir) < 0) {
        check_err("out of memory");
        return EXIT_USAGE;
    }
    root = json_load_file(mpath, JSON_REJECT_DUPLICATES, &err);
    files = root ? json_object_get(root, "files") : NULL;
    if (!root) {
        check_err("%s:%d: %s", mpath, err.line, err.text);
        goto out;
    }
    if (!json_is_array(files)) {
        check_err("%s: no \"files\" array: not a stemcap take manifest", mpath);
        goto out;
    }
    printf(PROG " " STEMCAP_VERSION ": verifying %s (%zu files%s)\n\n", mpath,
           json_array_size(files),
           json_array_size(json_object_get(root, "parts")) > 1 ? " in every part" : "");
    umid = take_umid(root, &bad_umid);
    if (bad_umid) {
        printf("FAIL umid     the take's \"umid\" is not 64 lowercase hex digits\n");
        t.fail++;
    }
    if (verify_files(dir, NULL, files, umid, &t) < 0 ||
        verify_parts(dir, json_object_get(root, "parts"), umid, &t) < 0) {
        goto out;
    }
    if (t.sums == 0) {
        printf("WARN md5      no checksums recorded (an older or recovered take)\n");
        t.warn++;
    }
    if (!umid && !bad_umid) {
        printf("WARN umid     no take UMID recorded\n");
        t.warn++;
    }
    printf("\nresult: %s", t.fail ? "FAILED" : "OK");
    if (t.fail) {
        printf(", %zu check%s failed", t.fail, t.fail == 1 ? "" : "s");
    }
    if (t.warn) {
        printf(", %zu warning%s", t.warn, t.warn == 1 ? "" : "s");
    }
    putchar('\n');
    rc = t.fail ? EXIT_FAILED : 0;
out:
    json_decref(root);
    free(mpath);
    return rc;
}
