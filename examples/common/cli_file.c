/* Opening and naming files for the tools (see cli_file.h). */
#include "cli_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *cli_file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
           : S_ISSOCK(mode) ? "a socket" : S_ISREG(mode) ? "a regular file"
           : "not a regular file";
}

FILE *cli_open_regular(const char *path, char *msg, size_t msg_size)
{
    struct stat st;
    FILE *f = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags;
    if (fd < 0) {
        snprintf(msg, msg_size, "%s: cannot open (%s)", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        snprintf(msg, msg_size, "%s: is %s, not a regular file", path,
                 cli_file_kind(st.st_mode));
    else if ((flags = fcntl(fd, F_GETFL)) == -1 ||
             fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
             !(f = fdopen(fd, "rb")))
        snprintf(msg, msg_size, "%s: cannot read (%s)", path, strerror(errno));
    if (!f)
        close(fd);
    return f;
}

int cli_has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcmp(path + n - k, suffix) == 0;
}
