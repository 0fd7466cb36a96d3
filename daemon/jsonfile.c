/* jsonfile — atomic JSON documents (manifest.json) for the take folders.
 *
 * Temporary file beside the target, O_NOFOLLOW so a planted symlink is
 * refused, fsync before the rename, fsync of the folder after it.  The
 * temporary name is fixed: one writer per folder at a time (the control
 * thread, or recovery before anything else runs). */
#include "jsonfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int
jsonfile_save(int dirfd, const char *dirpath, const char *name, json_t *root)
{
    char tmp[256];
    int fd = -1, rc = -1;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", name) >= (int)sizeof tmp) {
        log_error("%s/%s: name too long", dirpath, name);
        return -1;
    }
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_error("%s/%s: cannot create: %s", dirpath, tmp, strerror(errno));
        return -1;
    }
    if (json_dumpfd(root, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) < 0 ||
        write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
        log_error("%s/%s: cannot write: %s", dirpath, tmp, strerror(errno));
        goto out;
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        log_error("%s/%s: cannot rename into place: %s", dirpath, name, strerror(errno));
        goto out;
    }
    fsync(dirfd); /* the rename itself; a failure here loses nothing written */
    rc = 0;
out:
    close(fd);
    return rc;
}
