/* Time for the command-line tools of examples/: a monotonic clock and
 * durations in words. Not part of libnn. */
#ifndef NN_CLI_TIME_H
#define NN_CLI_TIME_H

#include <stddef.h>

/* Seconds on the monotonic clock (CLOCK_MONOTONIC), from an unspecified
 * start: only differences mean something. */
double cli_wall_seconds(void);
/* Seconds as "m:ss" or "h:mm:ss". */
void cli_format_duration(char *buf, size_t size, double seconds);

#endif
