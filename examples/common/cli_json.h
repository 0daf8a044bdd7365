/* JSON text as the command-line tools of examples/ write it. Not part of
 * libnn. */
#ifndef NN_CLI_JSON_H
#define NN_CLI_JSON_H

#include <stdio.h>

/* s as a JSON string: quoted, with quotes and backslashes escaped and
 * control bytes dropped. */
void cli_json_string(FILE *f, const char *s);

#endif
