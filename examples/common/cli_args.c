/* Strict number parsing for the tools' options (see cli_args.h). */
#include "cli_args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

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

/* Edits (insert, delete, replace one character, or swap two neighbours)
 * from a to b, counted up to a cap; for suggestions, not for long text. */
static int edit_distance(const char *a, const char *b)
{
    enum { CAP = 64 };
    int n = (int)strlen(a), m = (int)strlen(b);
    int d[CAP + 1][CAP + 1];
    if (n > CAP || m > CAP)
        return CAP;
    for (int i = 0; i <= n; i++)
        for (int j = 0; j <= m; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = i + j;
                continue;
            }
            d[i][j] = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < d[i][j])
                d[i][j] = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < d[i][j])
                d[i][j] = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    return d[n][m];
}

const char *cli_nearest(const char *word, const char *const *names, int count)
{
    const char *best = NULL;
    int best_distance = 3;
    size_t len = strlen(word);
    for (int i = 0; i < count; i++) {
        size_t other = strlen(names[i]);
        int distance = edit_distance(word, names[i]);
        int prefix = len >= 3 && other >= 3 &&
                     !strncmp(word, names[i], len < other ? len : other);
        if (prefix && distance > 2)
            distance = 2;
        if (distance < best_distance) {
            best = names[i];
            best_distance = distance;
        }
    }
    return best;
}

const char *cli_plural(long n)
{
    return n == 1 ? "" : "s";
}

void cli_print_version(const char *program)
{
    printf("%s (libnn %s)\n", program, nn_version());
}

void cli_trim_slashes(char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
}
