/* nn_compare: runs made separately (yesterday's and today's) compared on
 * one page, the same page as a sweep's --report DIR/index.html:
 *   nn_compare DIR... [-o OUT]
 * Each DIR is a run's report directory (mnist_train --report DIR, or a run
 * of a sweep), holding its metrics.json. OUT (default: compare) is the
 * directory the page goes into: OUT/index.html and OUT/curves.svg, with
 * links to each run's own report relative to it. */
#define _XOPEN_SOURCE 700 /* realpath */

#include "cli_args.h"
#include "compare.h"
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROGRAM "nn_compare"

static void usage(FILE *f)
{
    fprintf(f, "usage: %s DIR... [-o OUT]\n"
               "  DIR      a run's report directory (from --report, or one run of a\n"
               "           sweep): its metrics.json is read\n"
               "  -o OUT   the directory to write index.html and curves.svg into\n"
               "           (compare; made when it does not exist)\n",
            PROGRAM);
}

/* The path from directory `from` to `to` (both absolute and canonical),
 * "." when they are the same; 0 when it does not fit. */
static int relative_path(const char *from, const char *to, char *out,
                         size_t size)
{
    size_t used = 0, from_len, to_len;
    for (;;) { /* past the components both share */
        while (*from == '/')
            from++;
        while (*to == '/')
            to++;
        from_len = strcspn(from, "/");
        to_len = strcspn(to, "/");
        if (!from_len || from_len != to_len || memcmp(from, to, from_len))
            break;
        from += from_len;
        to += to_len;
    }
    out[0] = '\0';
    for (; *from; from += strspn(from, "/")) { /* up from what is left */
        used += (size_t)snprintf(out + used, used < size ? size - used : 0,
                                 "%s..", used ? "/" : "");
        from += strcspn(from, "/");
    }
    if (*to)
        used += (size_t)snprintf(out + used, used < size ? size - used : 0,
                                 "%s%s", used ? "/" : "", to);
    if (!used)
        used = (size_t)snprintf(out, size, ".");
    return used < size;
}

/* OUT exists as a directory that is no run's report, or is made; its
 * canonical path into real. 0 after printing why not. */
static int prepare_out(const char *out, char *real)
{
    char msg[PATH_MAX + 64], metrics[PATH_MAX + 16];
    struct stat st;
    if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: -o %s: is not a directory\n", PROGRAM, out);
        return 0;
    }
    snprintf(metrics, sizeof metrics, "%s/metrics.json", out);
    if (stat(metrics, &st) == 0) {
        fprintf(stderr, "%s: -o %s: holds a run's report (metrics.json), which "
                "the comparison would replace; choose another directory\n",
                PROGRAM, out);
        return 0;
    }
    if (!report_prepare(out, msg, sizeof msg) || !realpath(out, real)) {
        fprintf(stderr, "%s: -o %s: %s\n", PROGRAM, out,
                msg[0] ? msg : strerror(errno));
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *out = "compare";
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    char (*real)[PATH_MAX] = calloc((size_t)argc, sizeof *real);
    char (*href)[PATH_MAX] = calloc((size_t)argc, sizeof *href);
    char out_real[PATH_MAX], path[PATH_MAX + 16], msg[PATH_MAX + 256];
    run_metrics *metrics = calloc((size_t)argc, sizeof *metrics);
    compare_entry *entries = calloc((size_t)argc, sizeof *entries);
    compare_page page = {"comparison", 0, NULL, NULL, 0, 1};
    int n = 0, read = 0, rc = CLI_FAIL;
    if (!dirs || !real || !href || !metrics || !entries) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM);
        goto done;
    }
    rc = CLI_USAGE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            rc = CLI_OK;
            goto done;
        } else if (!strcmp(argv[i], "--version")) {
            cli_print_version(PROGRAM);
            rc = CLI_OK;
            goto done;
        } else if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "%s: -o needs a directory\n", PROGRAM);
                goto done;
            }
            out = argv[++i];
            cli_trim_slashes(argv[i]); /* "out/" + "/index.html" */
        } else if (argv[i][0] == '-') {
            static const char *const known[] = {"-o", "--help", "--version"};
            const char *near = cli_nearest(argv[i], known, 3);
            fprintf(stderr, "%s: unknown option '%s'%s%s%s\nsee %s --help\n",
                    PROGRAM, argv[i], near ? "; did you mean " : "",
                    near ? near : "", near ? "?" : "", PROGRAM);
            goto done;
        } else {
            cli_trim_slashes(argv[i]); /* "today/" is the run "today" */
            dirs[n++] = argv[i];
        }
    }
    if (n == 0 || n > COMPARE_MAX_RUNS) {
        if (n)
            fprintf(stderr, "%s: %d runs; at most %d\n", PROGRAM, n, COMPARE_MAX_RUNS);
        usage(stderr);
        goto done;
    }
    rc = CLI_FAIL;
    for (int i = 0; i < n; i++, read++) {
        snprintf(path, sizeof path, "%s/metrics.json", dirs[i]);
        if (!metrics_read(path, &metrics[i], msg, sizeof msg)) {
            fprintf(stderr, "%s: %s\n", PROGRAM, msg);
            goto done;
        }
        if (!realpath(dirs[i], real[i])) {
            fprintf(stderr, "%s: %s: %s\n", PROGRAM, dirs[i], strerror(errno));
            goto done;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(real[i], real[j])) {
                fprintf(stderr, "%s: %s and %s are the same run\n", PROGRAM,
                        dirs[j], dirs[i]);
                rc = CLI_USAGE;
                goto done;
            }
    }
    if (!prepare_out(out, out_real))
        goto done;
    for (int i = 0; i < n; i++) {
        if (!strcmp(real[i], out_real)) {
            fprintf(stderr, "%s: -o %s is the run %s\n", PROGRAM, out, dirs[i]);
            goto done;
        }
        if (!relative_path(out_real, real[i], href[i], sizeof href[i])) {
            fprintf(stderr, "%s: %s: path too long\n", PROGRAM, dirs[i]);
            goto done;
        }
        entries[i] = (compare_entry){dirs[i], href[i], &metrics[i], NULL};
    }
    if (!report_compare_write(out, entries, n, &page, msg, sizeof msg)) {
        fprintf(stderr, "%s: %s\n", PROGRAM, msg);
        goto done;
    }
    printf("%d run%s compared in %s/index.html\n", n, n == 1 ? "" : "s", out);
    rc = CLI_OK;
done:
    for (int i = 0; i < read; i++)
        metrics_free(&metrics[i]);
    free(dirs);
    free(real);
    free(href);
    free(metrics);
    free(entries);
    return rc;
}
