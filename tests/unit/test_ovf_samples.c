/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests: every real-world descriptor in testdata/ovf (a whole-folder
 * walk, so new samples are covered) parses or is refused with a message;
 * parse -> emit -> parse keeps the model for OVF 1.0 and 2.0 output; what
 * we emit from a schema-valid sample is schema-valid too.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "ovfkit/ova.h"
#include "ovfkit/ovf.h"
#include "tests/unit/harness.h"

/* Samples that are not OVF descriptors, with why, from PROVENANCE.tsv. */
static const char *const refused[] = {
    "cot__ersatz_ovf_3.0.ovf",                  /* OVF "3.0" namespace */
    "vmware-ovftool-test__neg_invalid_namespace.ovf",
    "vmware__html404_as_descriptor.ovf",        /* an HTML page */
    "ibm-openovf__ovf-environment.xml",         /* an environment doc */
    NULL,
};

static bool is_refused(const char *name)
{
    for (size_t i = 0; refused[i]; i++) {
        if (!strcmp(refused[i], name)) {
            return true;
        }
    }
    return false;
}

typedef void (*sample_fn)(const char *path, const char *name, int *fails);

static void walk(const char *top, sample_fn fn, int *fails, int *count)
{
    char path[4096], dir[4096];
    DIR *d;

    snprintf(dir, sizeof(dir), "%s", top);   /* t_data's buffer is reused */
    d = opendir(dir);
    struct dirent *e;

    if (!d) {
        (*fails)++;
        printf("  cannot open %s\n", dir);
        return;
    }
    while ((e = readdir(d))) {
        struct stat st;
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            walk(path, fn, fails, count);
        } else if ((n > 4 && !strcmp(e->d_name + n - 4, ".ovf")) ||
                   (n > 4 && !strcmp(e->d_name + n - 4, ".xml"))) {
            fn(path, e->d_name, fails);
            (*count)++;
        }
    }
    closedir(d);
}

static void parse_one(const char *path, const char *name, int *fails)
{
    ovfk_ovf_doc *d = NULL;
    int r = ovfk_ovf_parse_file(path, &d);

    if (is_refused(name)) {
        if (r >= 0 || !ovfk_last_error()[0]) {
            printf("  %s: should have been refused\n", name);
            (*fails)++;
        }
    } else if (r < 0) {
        printf("  %s: %s\n", name, ovfk_last_error());
        (*fails)++;
    }
    ovfk_ovf_free(d);
}

static void every_sample_parses_or_is_refused(void)
{
    int fails = 0, count = 0;

    walk(t_data("ovf"), parse_one, &fails, &count);
    CHECK_MSG(count > 60, "only %d samples found", count);
    CHECK_MSG(fails == 0, "%d samples misread (listed above)", fails);
}

static void round_trip_one(const char *path, const char *name, int *fails)
{
    ovfk_ovf_doc *a = NULL, *b = NULL;
    char *da = NULL, *db = NULL, *xml = NULL;
    size_t len;

    if (is_refused(name) || ovfk_ovf_parse_file(path, &a) < 0) {
        return;
    }
    da = ovfk_ovf_dump(a);
    for (int v = 10; v <= 20; v += 10) {
        if (ovfk_ovf_emit(a, v, &xml, &len) < 0 ||
            ovfk_ovf_parse_memory(xml, len, name, &b) < 0) {
            printf("  %s: emit %d / reparse: %s\n", name, v,
                   ovfk_last_error());
            (*fails)++;
        } else {
            db = ovfk_ovf_dump(b);
            if (!da || !db || strcmp(da, db) != 0) {
                size_t i = 0;
                while (da && db && da[i] && da[i] == db[i]) {
                    i++;
                }
                printf("  %s: model changed after emit %d near: %.80s | "
                       "%.80s\n", name, v, da ? da + i : "", db ? db + i : "");
                (*fails)++;
            }
            free(db);
            db = NULL;
        }
        ovfk_ovf_free(b);
        b = NULL;
        free(xml);
        xml = NULL;
    }
    free(da);
    ovfk_ovf_free(a);
}

static void round_trip_keeps_the_model(void)
{
    int fails = 0, count = 0;

    walk(t_data("ovf"), round_trip_one, &fails, &count);
    CHECK_MSG(fails == 0, "%d round trips failed (listed above)", fails);
}

static void print_problem(void *opaque, const char *msg)
{
    printf("    %s: %s\n", (const char *)opaque, msg);
}

/* Samples the DMTF 1.0 schema accepts as they are (PROVENANCE.tsv). */
static bool schema_valid_sample(const char *name)
{
    char line[8192];
    FILE *f = fopen(t_data("PROVENANCE.tsv"), "r");
    bool valid = false;

    while (f && fgets(line, sizeof(line), f)) {
        if (strstr(line, name) && strstr(line, "1.0.0-openovf: VALID")) {
            valid = true;
        }
    }
    if (f) {
        fclose(f);
    }
    return valid;
}

static int schema_checked;

static void schema_one(const char *path, const char *name, int *fails)
{
    ovfk_ovf_doc *a = NULL;
    char *xml;
    size_t len;

    if (!schema_valid_sample(name) || ovfk_ovf_parse_file(path, &a) < 0) {
        return;
    }
    schema_checked++;
    for (int v = 10; v <= 20; v += 10) {
        int n;
        if (ovfk_ovf_emit(a, v, &xml, &len) < 0) {
            (*fails)++;
            continue;
        }
        n = ovfk_ovf_schema_check(xml, len, v, print_problem, (void *)name);
        if (n != 0) {
            printf("  %s: our OVF %d.0 has %d schema problems\n", name,
                   v / 10, n);
            (*fails)++;
        }
        free(xml);
    }
    ovfk_ovf_free(a);
}

static void emitted_descriptors_are_schema_valid(void)
{
    int fails = 0, count = 0;

    walk(t_data("ovf"), schema_one, &fails, &count);
    CHECK_MSG(schema_checked >= 15, "only %d schema-valid samples found",
              schema_checked);
    CHECK_MSG(fails == 0, "%d emitted descriptors invalid (above)", fails);
}

TEST_MAIN(T(every_sample_parses_or_is_refused),
          T(round_trip_keeps_the_model),
          T(emitted_descriptors_are_schema_valid))
