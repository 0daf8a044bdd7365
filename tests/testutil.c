/* Helpers the test programs share: see testutil.h. */
#include "gradcheck.h"

#include <dirent.h>
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
