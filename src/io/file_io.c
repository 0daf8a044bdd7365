/* Whole-file reads for the dataset loaders: regular files only (opened
 * without blocking, so a FIFO or a device is refused at once), every call
 * checked, sizes bounded, gzip files decompressed transparently; atomic
 * whole-file writes (temporary file + rename) over regular files only. */
#include "io/io.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

nn_status nn_path_join(const char *dir, const char *name, char *buf,
                       size_t size)
{
    size_t dir_len, name_len;
    int slash;
    if (!dir || !name || !buf)
        return NN_EINVAL;
    dir_len = strlen(dir);
    name_len = strlen(name);
    slash = dir_len > 0 && dir[dir_len - 1] != '/';
    if (dir_len + (size_t)slash + name_len >= size)
        return NN_EOVERFLOW;
    memcpy(buf, dir, dir_len);
    if (slash)
        buf[dir_len] = '/';
    memcpy(buf + dir_len + (size_t)slash, name, name_len + 1);
    return NN_OK;
}

/* What a file that is not a regular file is, for messages: "a
 * directory", "a FIFO", ...; NULL for a regular file. */
static const char *special_kind(mode_t mode)
{
    if (S_ISREG(mode))
        return NULL;
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* Opens path for reading without blocking (a FIFO without a writer would
 * block a plain open forever) and without following a FIFO's or device's
 * endless stream: anything but a regular file is refused with NN_EIO and a
 * message naming it, before a byte is read. *size gets the file's size. */
static nn_status open_regular(const char *path, int *fd, size_t *size,
                              char *msg, size_t msg_size)
{
    struct stat st;
    const char *kind = NULL;
    int flags;
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0) {
        nn_format_msg(msg, msg_size, "%s: cannot open (%s)", path,
                      strerror(errno));
        return NN_EIO;
    }
    if (fstat(*fd, &st) == 0 && (kind = special_kind(st.st_mode)) == NULL &&
        (flags = fcntl(*fd, F_GETFL)) != -1 &&
        fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) == 0) {
        *size = (uintmax_t)st.st_size > SIZE_MAX ? SIZE_MAX : (size_t)st.st_size;
        return NN_OK;
    }
    if (kind)
        nn_format_msg(msg, msg_size, "%s: is %s, not a regular file", path,
                      kind);
    else
        nn_format_msg(msg, msg_size, "%s: cannot read (%s)", path,
                      strerror(errno));
    close(*fd);
    *fd = -1;
    return NN_EIO;
}

int nn_file_readable(const char *path)
{
    int fd = path ? open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Reads exactly size bytes of an open file into a new buffer and checks
 * that nothing follows them (the file did not change under us). */
static nn_status read_exactly(FILE *f, const char *path, size_t size,
                              unsigned char **data, char *msg,
                              size_t msg_size)
{
    unsigned char *buf = malloc(size > 0 ? size : 1);
    if (!buf) {
        nn_format_msg(msg, msg_size, "%s: out of memory for %zu bytes", path,
                      size);
        return NN_ENOMEM;
    }
    if (fread(buf, 1, size, f) != size || fgetc(f) != EOF || ferror(f)) {
        nn_format_msg(msg, msg_size, "%s: read failed%s", path,
                      ferror(f) ? "" : " (the file changed size)");
        free(buf);
        return NN_EIO;
    }
    *data = buf;
    return NN_OK;
}

/* Replaces a gzip buffer by its decompressed contents. */
static nn_status gunzip_in_place(const char *path, size_t max_size,
                                 unsigned char **data, size_t *size,
                                 char *msg, size_t msg_size)
{
    unsigned char *plain;
    size_t plain_size;
    const char *reason;
    nn_status st =
        nn_gunzip(*data, *size, &plain, &plain_size, max_size, &reason);
    free(*data);
    *data = NULL;
    if (st == NN_EOVERFLOW) {
        nn_format_msg(msg, msg_size, "%s: gzip: inflates to more than the "
                      "limit of %zu bytes", path, max_size);
        return st;
    }
    if (st != NN_OK) {
        nn_format_msg(msg, msg_size, "%s: gzip: %s", path,
                      reason ? reason : nn_status_str(st));
        return st;
    }
    *data = plain;
    *size = plain_size;
    return NN_OK;
}

nn_status nn_read_file(const char *path, size_t max_size, size_t max_plain,
                       unsigned char **data, size_t *size, char *msg,
                       size_t msg_size)
{
    FILE *f;
    int fd;
    nn_status st;
    if (!data || !size)
        return NN_EINVAL;
    *data = NULL;
    *size = 0;
    if (!path)
        return NN_EINVAL;
    st = open_regular(path, &fd, size, msg, msg_size);
    if (st != NN_OK)
        return st;
    if (*size > max_size) {
        nn_format_msg(msg, msg_size, "%s: %zu bytes, more than the limit of %zu",
                      path, *size, max_size);
        close(fd);
        *size = 0;
        return NN_EOVERFLOW;
    }
    if (!(f = fdopen(fd, "rb"))) {
        nn_format_msg(msg, msg_size, "%s: cannot read (%s)", path,
                      strerror(errno));
        close(fd);
        *size = 0;
        return NN_EIO;
    }
    st = read_exactly(f, path, *size, data, msg, msg_size);
    fclose(f);
    if (st == NN_OK && *size >= 2 && (*data)[0] == 0x1f && (*data)[1] == 0x8b)
        st = gunzip_in_place(path, max_plain, data, size, msg, msg_size);
    if (st != NN_OK)
        *size = 0;
    return st;
}

/* A new string path + ".tmp.XXXXXX" for mkstemp, or NULL. */
static char *temp_name(const char *path)
{
    static const char suffix[] = ".tmp.XXXXXX";
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof suffix);
    if (tmp) {
        memcpy(tmp, path, len);
        memcpy(tmp + len, suffix, sizeof suffix);
    }
    return tmp;
}

nn_status nn_write_file_atomic(const char *path, const void *data, size_t size,
                               char *msg, size_t msg_size)
{
    char *tmp;
    FILE *f = NULL;
    struct stat st;
    const char *kind;
    int fd, ok, err;
    if (!path || (!data && size > 0))
        return NN_EINVAL;
    /* rename() would put a file in place of a device or a FIFO (and fails
     * late for a directory): only a regular file is ever replaced. */
    if (stat(path, &st) == 0 && (kind = special_kind(st.st_mode)) != NULL) {
        nn_format_msg(msg, msg_size, "%s: is %s, not a regular file: not "
                      "replaced", path, kind);
        return NN_EIO;
    }
    if (!(tmp = temp_name(path)))
        return NN_ENOMEM;
    fd = mkstemp(tmp);
    if (fd < 0 || !(f = fdopen(fd, "wb"))) {
        err = errno;
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        nn_format_msg(msg, msg_size, "%s: cannot create a temporary file "
                      "in its directory (%s)", path, strerror(err));
        free(tmp);
        return NN_EIO;
    }
    (void)fchmod(fd, 0644); /* mkstemp's 0600 would hide the file */
    ok = fwrite(data, 1, size, f) == size && fflush(f) == 0 && fsync(fd) == 0;
    err = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        remove(tmp);
        nn_format_msg(msg, msg_size, "%s: write failed (%s)", path,
                      strerror(err));
    }
    free(tmp);
    return ok ? NN_OK : NN_EIO;
}
