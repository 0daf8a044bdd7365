/* What every command-line tool of examples/ shares about its arguments:
 * the exit codes and strict number parsing. Not part of libnn. */
#ifndef NN_CLI_ARGS_H
#define NN_CLI_ARGS_H

#include <stddef.h>

/* Exit codes: 0 success, 1 a run-time failure (data, files), 2 bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Most threads libnn runs a net on (nn_net_set_threads refuses more). */
#define CLI_MAX_THREADS 64

/* Strict number parsing: the whole string, within [min, max]. On failure
 * why says what is wrong ("negative", "garbage after the number", ...) and
 * what is accepted ("expected a whole number from 1 to 64"). */
int cli_parse_long(const char *s, long min, long max, long *out, char *why,
                   size_t why_size);
/* The same for a finite real number. */
int cli_parse_double(const char *s, double min, double max, double *out,
                     char *why, size_t why_size);

/* The name of names[0..count) closest to word: within 2 edits, or one of
 * which word is a start (or the reverse); NULL when none is that close. */
const char *cli_nearest(const char *word, const char *const *names, int count);
/* "s" unless n is 1: printf("%d epoch%s", n, cli_plural(n)). */
const char *cli_plural(long n);
/* Prints "PROGRAM (libnn VERSION)" for --version. */
void cli_print_version(const char *program);
/* Drops the slashes that end path ("out/" is "out"; "/" stays), in place,
 * so that path "/" name never doubles a slash. */
void cli_trim_slashes(char *path);

#endif
