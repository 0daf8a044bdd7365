/* Helpers the test programs share: see testutil.h. */
#include "gradcheck.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tu_run_in_dir(const char *name, const struct CMUnitTest *tests,
                  size_t count, char *template_path)
{
    int failed;
    if (!mkdtemp(template_path)) {
        fprintf(stderr, "%s: cannot make %s\n", name, template_path);
        return 1;
    }
    failed = _cmocka_run_group_tests(name, tests, count, NULL, NULL);
    tu_remove_tree(template_path);
    return failed;
}

void tu_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    while (d && (e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(path, 0700); /* tests make read-only directories too */
            tu_remove_tree(path);
        } else {
            remove(path);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

const char *tu_path(const char *dir, const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

int tu_count_entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int count = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        count += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                 strstr(e->d_name, part) != NULL;
    closedir(d);
    return count;
}

unsigned char *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    long end;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    end = ftell(f);
    assert_true(end >= 0);
    rewind(f);
    data = malloc((size_t)end + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)end, f), (size_t)end);
    fclose(f);
    *size = (size_t)end;
    return data;
}

void tu_write_file(const char *path, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

uint32_t tu_crc32(const unsigned char *data, size_t size)
{
    uint32_t crc = 0xffffffffu;
    while (size--) {
        crc ^= *data++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

void tu_make_dataset(nn_dataset *d, int count, int side, int classes,
                     uint64_t seed)
{
    nn_rng rng;
    int band = side / classes > 0 ? side / classes : 1;
    memset(d, 0, sizeof *d);
    d->count = count;
    d->c = 1;
    d->h = d->w = side;
    d->classes = classes;
    d->std[0] = 1.0f;
    d->pixels = malloc((size_t)count * side * side);
    d->labels = malloc((size_t)count);
    assert_non_null(d->pixels);
    assert_non_null(d->labels);
    nn_rng_seed(&rng, seed);
    for (int i = 0; i < count; i++) {
        int k = (int)nn_rng_below(&rng, (uint32_t)classes);
        uint8_t *img = d->pixels + (size_t)i * side * side;
        d->labels[i] = (uint8_t)k;
        for (int p = 0; p < side * side; p++)
            img[p] = (uint8_t)(nn_rng_below(&rng, 100) +
                               ((p / side) / band == k ? 150 : 0));
    }
}

int tu_fixture_load(tu_fixture *f, const char *file)
{
    const char *root = getenv("NN_SOURCE_DIR");
    char path[4096], name[32];
    int count, capacity = 0;
    FILE *in;
    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", root ? root : ".", file);
    in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    if (fscanf(in, "%*[^\n]\n") == EOF) /* the comment line */
        goto malformed;
    while (fscanf(in, "%31s %d", name, &count) == 2) {
        tu_fixture_entry *e;
        if (count <= 0)
            goto malformed;
        if (f->count == capacity) {
            int more = capacity ? 2 * capacity : 16;
            tu_fixture_entry *grown = realloc(f->entries, sizeof *grown * (size_t)more);
            if (!grown)
                goto malformed;
            f->entries = grown;
            capacity = more;
        }
        e = &f->entries[f->count];
        strcpy(e->name, name);
        e->count = count;
        e->values = malloc(sizeof *e->values * (size_t)count);
        if (!e->values)
            goto malformed;
        f->count++;
        for (int i = 0; i < count; i++)
            if (fscanf(in, "%lf", &e->values[i]) != 1)
                goto malformed;
    }
    if (!feof(in) || f->count == 0)
        goto malformed;
    fclose(in);
    return 0;
malformed:
    fprintf(stderr, "%s: malformed (entry %d)\n", path, f->count);
    fclose(in);
    tu_fixture_free(f);
    return -1;
}

void tu_fixture_free(tu_fixture *f)
{
    for (int i = 0; i < f->count; i++)
        free(f->entries[i].values);
    free(f->entries);
    memset(f, 0, sizeof *f);
}

const tu_fixture_entry *tu_fixture_get(const tu_fixture *f, const char *name,
                                       int count)
{
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->entries[i].name, name)) {
            assert_int_equal(f->entries[i].count, count);
            return &f->entries[i];
        }
    fail_msg("fixture has no '%s'", name);
    return NULL;
}

double tu_fixture_compare(const tu_fixture *f, const char *name,
                          const float *a, int count, double tol)
{
    const tu_fixture_entry *e = tu_fixture_get(f, name, count);
    double worst = 0.0;
    for (int i = 0; i < count; i++) {
        double err = fabs(a[i] - e->values[i]) / fmax(fabs(e->values[i]), 0.01);
        if (err > worst)
            worst = err;
    }
    print_message("  %-20s %4d values, max relative difference %.2e\n", name,
                  count, worst);
    assert_true(worst < tol);
    return worst;
}

nn_optim_settings tu_sgd(float lr, float momentum, float weight_decay)
{
    nn_optim_settings s = nn_optim_defaults(NN_OPTIM_SGD);
    s.lr = lr;
    s.momentum = momentum;
    s.weight_decay = weight_decay;
    return s;
}

nn_optim *tu_optim(nn_net *net, const nn_optim_settings *s)
{
    nn_optim *opt = NULL;
    nn_status st = nn_optim_create(net, s, &opt);
    if (st != NN_OK)
        fail_msg("nn_optim_create: %s", nn_status_str(st));
    return opt;
}

nn_net *tu_net(const char *spec, int c, int h, int w, int max_batch,
               uint64_t seed)
{
    nn_net *net = NULL;
    char msg[256] = "";
    nn_status st = nn_net_create(c, h, w, &net);
    if (st == NN_OK && nn_net_add_spec(net, spec, msg, sizeof msg) != NN_OK)
        fail_msg("%s: %s", spec, msg);
    if (st == NN_OK)
        st = nn_net_build(net, max_batch, seed);
    if (st != NN_OK)
        fail_msg("%s on %dx%dx%d: %s", spec, c, h, w, nn_status_str(st));
    return net;
}

double tu_assert_outputs_close(const float *a, const float *b, size_t n,
                               double tol, const char *what)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        double scale = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
        double err = fabs(x - y) / (scale > 1.0 ? scale : 1.0);
        if (!(err <= tol))
            fail_msg("%s: output %zu is %.9g, expected %.9g (relative error "
                     "%.3g > %.3g)", what, i, x, y, err, tol);
        if (err > worst)
            worst = err;
    }
    return worst;
}
