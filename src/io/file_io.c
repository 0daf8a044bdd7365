/* Whole-file reads for the dataset loaders: every call checked, sizes
 * bounded, gzip files decompressed transparently; atomic whole-file writes
 * (temporary file + rename); and the one message formatter they share. */
#include "io/io.h"
#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
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

int nn_file_readable(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* The size of an open file (positioned back at its start); NN_EIO when the
 * stream cannot seek, NN_EOVERFLOW when it exceeds max_size. */
static nn_status file_size(FILE *f, const char *path, size_t max_size,
                           size_t *size, char *msg, size_t msg_size)
{
    long end;
    if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        nn_format_msg(msg, msg_size, "%s: cannot determine the file size",
                      path);
        return NN_EIO;
    }
    if ((unsigned long)end > max_size) {
        nn_format_msg(msg, msg_size, "%s: %ld bytes, more than the limit of %zu",
                      path, end, max_size);
        return NN_EOVERFLOW;
    }
    *size = (size_t)end;
    return NN_OK;
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
    if (st != NN_OK) {
        nn_format_msg(msg, msg_size, "%s: gzip: %s", path,
                      reason ? reason : nn_status_str(st));
        return st;
    }
    *data = plain;
    *size = plain_size;
    return NN_OK;
}

nn_status nn_read_file(const char *path, size_t max_size, unsigned char **data,
                       size_t *size, char *msg, size_t msg_size)
{
    FILE *f;
    nn_status st;
    if (!data || !size)
        return NN_EINVAL;
    *data = NULL;
    *size = 0;
    if (!path)
        return NN_EINVAL;
    f = fopen(path, "rb");
    if (!f) {
        nn_format_msg(msg, msg_size, "%s: cannot open (%s)", path,
                      strerror(errno));
        return NN_EIO;
    }
    st = file_size(f, path, max_size, size, msg, msg_size);
    if (st == NN_OK)
        st = read_exactly(f, path, *size, data, msg, msg_size);
    fclose(f);
    if (st == NN_OK && *size >= 2 && (*data)[0] == 0x1f && (*data)[1] == 0x8b)
        st = gunzip_in_place(path, max_size, data, size, msg, msg_size);
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

nn_status nn_write_file_atomic(const char *path, const unsigned char *data,
                               size_t size, char *msg, size_t msg_size)
{
    char *tmp;
    FILE *f = NULL;
    int fd, ok, err;
    if (!path || (!data && size > 0))
        return NN_EINVAL;
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
                      "(%s)", path, strerror(err));
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
