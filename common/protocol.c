/* protocol — the few functions behind protocol.h's addresses: building and
 * parsing the per-stem addresses, and the song keys' table. */
#include "protocol.h"

#include <stdio.h>
#include <string.h>

const char *const proto_song_keys[PROTO_SONG_KEYS] = {"title", "artist", "album", "track",
                                                      "isrc",  "upc",    "label"};

char *
proto_stem_path(char *out, unsigned long outsz, int n, const char *leaf)
{
    snprintf(out, outsz, PROTO_STEM_PREFIX "%d/%s", n, leaf);
    return out;
}

int
proto_stem_parse(const char *path, const char **leaf)
{
    const char *p = path + strlen(PROTO_STEM_PREFIX);
    int n = 0, digits = 0;

    if (strncmp(path, PROTO_STEM_PREFIX, strlen(PROTO_STEM_PREFIX)) != 0)
        return -1;
    while (*p >= '0' && *p <= '9' && digits < 3) {
        n = n * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || *p != '/')
        return -1;
    *leaf = p + 1;
    return n;
}

int
proto_song_key(const char *key)
{
    for (int i = 0; i < PROTO_SONG_KEYS; i++)
        if (strcmp(key, proto_song_keys[i]) == 0)
            return i;
    return -1;
}
