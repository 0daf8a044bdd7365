/* Strict number parsing for the tools' options (see cli_args.h). */
#include "cli_args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* What is wrong with s before a number is read from it; NULL if nothing. */
static const char *leading_problem(const char *s)
{
    if (!s || !*s)
        return "empty";
    return isspace((unsigned char)*s) ? "blank before the number" : NULL;
}

/* What is wrong with what strtol or strtod left unread at end; NULL if
 * nothing. */
static const char *trailing_problem(const char *s, const char *end, int whole)
{
    if (end == s)
        return "not a number";
    if (whole && (*end == '.' || *end == 'e' || *end == 'E'))
        return "not a whole number";
    return *end ? "garbage after the number" : NULL;
}

/* "negative", "zero", "too small" or "too large" for v outside [min, max]. */
static const char *range_problem(double v, double min)
{
    if (v < 0 && min >= 0)
        return "negative";
    if (v == 0 && min > 0)
        return "zero";
    return v < min ? "too small" : "too large";
}

int cli_parse_long(const char *s, long min, long max, long *out, char *why,
                   size_t why_size)
{
    const char *problem = leading_problem(s);
    char *end;
    long v = 0;
    if (!problem) {
        errno = 0;
        v = strtol(s, &end, 10);
        problem = trailing_problem(s, end, 1);
        if (!problem && errno == ERANGE)
            problem = *s == '-' ? "too small" : "too large";
        else if (!problem && (v < min || v > max))
            problem = range_problem((double)v, (double)min);
    }
    if (problem) {
        snprintf(why, why_size, "%s; expected a whole number from %ld to %ld",
                 problem, min, max);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_double(const char *s, double min, double max, double *out,
                     char *why, size_t why_size)
{
    const char *problem = leading_problem(s);
    char *end;
    double v = 0;
    if (!problem) {
        errno = 0;
        v = strtod(s, &end);
        problem = trailing_problem(s, end, 0);
        if (!problem && (!isfinite(v) || errno == ERANGE))
            problem = isfinite(v) ? "out of range" : "not finite";
        else if (!problem && (v < min || v > max))
            problem = range_problem(v, min);
    }
    if (problem) {
        snprintf(why, why_size, "%s; expected a number from %g to %g", problem,
                 min, max);
        return 0;
    }
    *out = v;
    return 1;
}
