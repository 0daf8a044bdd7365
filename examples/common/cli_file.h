/* Files as the command-line tools of examples/ open and name them. Not
 * part of libnn. */
#ifndef NN_CLI_FILE_H
#define NN_CLI_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* What a file of the given st_mode is, for messages ("a directory",
 * "a FIFO", "a regular file", ...). */
const char *cli_file_kind(mode_t mode);
/* Opens path for reading when it is a regular file, without blocking on a
 * FIFO; NULL otherwise, with msg naming the file and what it is. */
FILE *cli_open_regular(const char *path, char *msg, size_t msg_size);
/* 1 when path ends with suffix (".onnx"). */
int cli_has_suffix(const char *path, const char *suffix);

#endif
