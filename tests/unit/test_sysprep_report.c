/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_sysprep_report.c - sysprep's report and undo
 * (sysprep/report.c): a report written from recorded changes reads back
 * (json-c) with every value, binary ones in base64; reports that are not
 * reports, dry runs, other versions and malformed changes are refused with
 * their message before any disk is opened (the disks named here do not
 * exist: reaching them would give another message); and, where the
 * libguestfs appliance can run, a real guest edited, reported and undone
 * is byte for byte its old self under python3-guestfs (phony.py manifest).
 */
#include <json-c/json.h>

#include "sysprep/internal.h"
#include "tests/unit/harness.h"

static const char *const no_disks[] = { "missing.img" };

static int put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        return -1;
    }
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* A value of change c (NULL when absent or null). */
static const char *val(json_object *c, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(c, key, &v) && v ?
           json_object_get_string(v) : NULL;
}

static void t_write_read_back(void)
{
    /* "\xff\xfe" and a control byte: not UTF-8 text, kept as base64 */
    static char bin[] = "ab\xff\xfe\x01";
    struct ovfk_sysprep_os os = {
        .root = (char *)"/dev/sda1", .type = (char *)"linux",
        .distro = (char *)"debian", .product = (char *)"Debian 12",
        .major = 12, .minor = 4, .hostname = (char *)"old",
        .arch = (char *)"x86_64",
    };
    struct ovfk_sysprep_change ch[] = {
        { (char *)"file", (char *)"/dev/sda1", (char *)"/etc/hostname",
          (char *)"old\n", (char *)"new\n", -1 },
        { (char *)"file", (char *)"/dev/sda1", (char *)"/etc/new-file",
          NULL, (char *)"made", -1 },
        { (char *)"file-removed", (char *)"/dev/sda1",
          (char *)"/etc/ssh/key", bin, NULL, 0600 },
        { (char *)"registry-dword", (char *)"/dev/sda2",
          (char *)"/Windows/System32/config/SYSTEM|ControlSet001\\Services"
          "\\VMTools|Start", (char *)"2", (char *)"4", -1 },
        { (char *)"systemd-link", (char *)"/dev/sda1",
          (char *)"/etc/systemd/system/multi-user.target.wants/x.service",
          (char *)"/lib/systemd/system/x.service", NULL, -1 },
        { (char *)"sysv-link", (char *)"/dev/sda1", (char *)"/etc/rc2.d/S20x",
          (char *)"/etc/rc2.d/S20x", (char *)"/etc/rc2.d/K20x", -1 },
    };
    ovfk_sysprep s = { .os = &os, .n_os = 1, .changes = ch,
                    .n_changes = sizeof(ch) / sizeof(ch[0]), .mounted = -1 };
    const char *disks[] = { "a.vhd", "b.vhd" };
    json_object *o, *v, *a, *c;
    size_t restored = 7;

    CHECK_OK(ovfk_sysprep_note(&s, "disk bus %s: %d", "virtio", 1),
             ovfk_sysprep_error(&s));
    CHECK_OK(ovfk_sysprep_note(&s, "NIC model e1000"), ovfk_sysprep_error(&s));
    CHECK_OK(ovfk_sysprep_report_write(&s, disks, 2, false, "r.json"),
             ovfk_sysprep_error(&s));
    for (size_t i = 0; i < s.n_notes; i++) {
        free(s.notes[i]);
    }
    free(s.notes);
    o = json_object_from_file("r.json");
    CHECK(o);
    CHECK(json_object_object_get_ex(o, "version", &v) &&
          json_object_get_int(v) == 1);
    CHECK(json_object_object_get_ex(o, "dry_run", &v) &&
          !json_object_get_boolean(v));
    CHECK(json_object_object_get_ex(o, "disks", &a) &&
          json_object_array_length(a) == 2 &&
          !strcmp(json_object_get_string(json_object_array_get_idx(a, 1)),
                  "b.vhd"));
    CHECK(json_object_object_get_ex(o, "os", &a) &&
          json_object_array_length(a) == 1);
    c = json_object_array_get_idx(a, 0);
    CHECK(!strcmp(val(c, "distro"), "debian") &&
          !strcmp(val(c, "product"), "Debian 12") &&
          !strcmp(val(c, "hostname"), "old"));
    CHECK(json_object_object_get_ex(c, "major", &v) &&
          json_object_get_int(v) == 12);
    CHECK(json_object_object_get_ex(o, "changes", &a) &&
          json_object_array_length(a) == 6);
    /* the choices of issue 17 (bus, NIC), in the order made */
    CHECK(json_object_object_get_ex(o, "notes", &v) &&
          json_object_array_length(v) == 2 &&
          !strcmp(json_object_get_string(json_object_array_get_idx(v, 0)),
                  "disk bus virtio: 1") &&
          !strcmp(json_object_get_string(json_object_array_get_idx(v, 1)),
                  "NIC model e1000"));
    c = json_object_array_get_idx(a, 0);
    CHECK(!strcmp(val(c, "kind"), "file") &&
          !strcmp(val(c, "path"), "/etc/hostname") &&
          !strcmp(val(c, "old"), "old\n") && !strcmp(val(c, "new"), "new\n"));
    CHECK(!json_object_object_get_ex(c, "mode", &v));
    c = json_object_array_get_idx(a, 1);
    CHECK(json_object_object_get_ex(c, "old", &v) && v == NULL);
    c = json_object_array_get_idx(a, 2);
    /* base64 of 61 62 ff fe 01 (RFC 4648) */
    CHECK(val(c, "old") == NULL && val(c, "old_base64") &&
          !strcmp(val(c, "old_base64"), "YWL//gE="));
    CHECK(json_object_object_get_ex(c, "mode", &v) &&
          json_object_get_int(v) == 0600);
    c = json_object_array_get_idx(a, 3);
    CHECK(!strcmp(val(c, "root"), "/dev/sda2") &&
          !strcmp(val(c, "old"), "2") && !strcmp(val(c, "new"), "4"));
    json_object_put(o);
    /* what we write, we take back: the refusal comes from the disk */
    CHECK_ERR(ovfk_sysprep_undo("r.json", no_disks, 1, &restored), -ENOENT,
              ovfk_last_error(), "cannot open 'missing.img'");
    CHECK_EQ(restored, 0);
}

static void t_write_dry_run(void)
{
    ovfk_sysprep s = { .mounted = -1 };
    size_t restored;

    CHECK_OK(ovfk_sysprep_report_write(&s, no_disks, 1, true, "r.json"),
             ovfk_sysprep_error(&s));
    CHECK_ERR(ovfk_sysprep_undo("r.json", no_disks, 1, &restored), -EINVAL,
              ovfk_last_error(), "'r.json' is the report of a dry run: "
              "nothing was changed");
}

static void t_write_error(void)
{
    ovfk_sysprep s = { .mounted = -1 };

    /* on the handle it was given (common.h), not in ovfk_last_error() */
    CHECK_ERR(ovfk_sysprep_report_write(&s, no_disks, 1, false, "nodir/r.json"),
              -ENOENT, ovfk_sysprep_error(&s), "cannot write the report "
              "'nodir/r.json'");
}

static void t_not_a_report(void)
{
    size_t restored;

    CHECK_ERR(ovfk_sysprep_undo("gone.json", no_disks, 1, &restored), -ENOENT,
              ovfk_last_error(), "'gone.json' is not an ovfkit sysprep "
              "report");
    CHECK(put("a.json", "not json at all") == 0);
    CHECK_ERR(ovfk_sysprep_undo("a.json", no_disks, 1, &restored),
              OVFK_ECORRUPT,
              ovfk_last_error(), "'a.json' is not an ovfkit sysprep report");
    CHECK(put("b.json", "{\"version\": 1, \"os\": []}") == 0);
    CHECK_ERR(ovfk_sysprep_undo("b.json", no_disks, 1, &restored),
              OVFK_ECORRUPT,
              ovfk_last_error(), "'b.json' is not an ovfkit sysprep report");
    CHECK(put("c.json", "{\"changes\": {\"kind\": \"file\"}}") == 0);
    CHECK_ERR(ovfk_sysprep_undo("c.json", no_disks, 1, &restored),
              OVFK_ECORRUPT,
              ovfk_last_error(), "'c.json' is not an ovfkit sysprep report");
}

static void t_other_version(void)
{
    size_t restored;

    CHECK(put("r.json", "{\"version\": 2, \"changes\": []}") == 0);
    CHECK_ERR(ovfk_sysprep_undo("r.json", no_disks, 1, &restored),
              OVFK_EUNSUPPORTED,
              ovfk_last_error(), "'r.json': report version '2' is not "
              "supported (1 is)");
}

/*
 * Each malformed change, last in a report whose first change is good:
 * refused as a whole with the change's number and what is wrong, before
 * the (missing) disk is looked at.  Before, the disks were opened first
 * and the changes after it undone until the bad one stopped the undo.
 */
static void t_malformed_changes(void)
{
    static const struct {
        const char *change, *why;
    } bad[] = {
        { "42", "change 2 is not an object" },
        { "{\"path\": \"/etc/x\", \"old\": \"a\"}", "change 2 has no kind" },
        { "{\"kind\": \"format-disk\", \"path\": \"/\", \"old\": \"a\"}",
          "change 2 is of a kind ovfkit does not make" },
        { "{\"kind\": \"file\", \"old\": \"a\", \"new\": \"b\"}",
          "change 2 has no path" },
        { "{\"kind\": \"file\", \"path\": \"\", \"old\": \"a\"}",
          "change 2 has no path" },
        { "{\"kind\": \"file\", \"path\": 7, \"old\": \"a\"}",
          "change 2 has no path" },
        { "{\"kind\": \"file\", \"path\": \"/x\", \"root\": [], "
          "\"old\": \"a\"}", "change 2 has a root that is not text" },
        { "{\"kind\": \"file\", \"path\": \"/x\", \"old\": 5, \"new\": \"b\"}",
          "change 2 has a value that is neither text nor null" },
        /* a damaged base64 value once read as "did not exist": the undo
         * would have removed the file */
        { "{\"kind\": \"file\", \"path\": \"/x\", \"old_base64\": \"!!!\", "
          "\"new\": \"b\"}", "change 2 has base64 that does not decode" },
        { "{\"kind\": \"file\", \"path\": \"/x\", \"old\": \"a\", "
          "\"old_base64\": \"YQ==\", \"new\": \"b\"}",
          "change 2 has a value given twice" },
        { "{\"kind\": \"file\", \"path\": \"/x\", \"old\": null, "
          "\"new\": null}", "change 2 has neither an old nor a new value" },
        { "{\"kind\": \"file-removed\", \"path\": \"/x\", \"old\": \"a\", "
          "\"mode\": \"rw\"}", "change 2 has a mode that is not a file mode" },
        { "{\"kind\": \"file-removed\", \"path\": \"/x\", \"old\": \"a\", "
          "\"mode\": 70000}", "change 2 has a mode that is not a file mode" },
        { "{\"kind\": \"file-removed\", \"path\": \"/x\", \"old\": null}",
          "change 2 is a removed file without its old content" },
        { "{\"kind\": \"registry-dword\", \"path\": \"/SYSTEM|Key\", "
          "\"old\": \"2\", \"new\": \"4\"}",
          "change 2 is a registry change without 'HIVE|KEY|VALUE'" },
        { "{\"kind\": \"registry-dword\", \"path\": \"/S|K|V\", "
          "\"new\": \"4\"}", "change 2 is a registry change without" },
        { "{\"kind\": \"systemd-link\", \"path\": \"/etc/l\"}",
          "change 2 is a removed link without its target" },
        { "{\"kind\": \"sysv-link\", \"path\": \"/etc/rc2.d/S1x\", "
          "\"old\": \"/etc/rc2.d/S1x\"}",
          "change 2 is a renamed link without its new name" },
        /* issue 17's kinds: an initramfs rebuilt, a driver added, a key
         * made */
        { "{\"kind\": \"file-backup\", \"path\": \"/boot/initrd.img-6\", "
          "\"new\": \"rebuilt with virtio\"}", "change 2 is a rebuilt file "
          "without the name of its kept original" },
        { "{\"kind\": \"registry-key\", \"path\": \"/SYSTEM\", "
          "\"new\": \"created\"}",
          "change 2 is a registry key without 'HIVE|KEY'" },
        { "{\"kind\": \"file-added\", \"path\": \"/x.sys\"}",
          "change 2 has neither an old nor a new value" },
    };
    char text[1024], want[256];
    size_t restored;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"version\": 1, \"dry_run\": false, "
                 "\"changes\": [{\"kind\": \"file\", \"path\": "
                 "\"/etc/hostname\", \"old\": \"a\", \"new\": \"b\"}, %s]}",
                 bad[i].change);
        CHECK(put("r.json", text) == 0);
        snprintf(want, sizeof(want), "'r.json' is not a valid sysprep "
                 "report: %s", bad[i].why);
        CHECK_ERR(ovfk_sysprep_undo("r.json", no_disks, 1, &restored),
                  OVFK_ECORRUPT, ovfk_last_error(), want);
        CHECK_MSG(strstr(ovfk_last_error(), "nothing was undone"),
                  "case %zu: %s", i, ovfk_last_error());
    }
}

/* --- with the appliance -------------------------------------------------- */

/*
 * A phony Debian guest (tests/cli/phony.py, python3-guestfs) edited by
 * three operations, reported, undone from the report: its manifest (every
 * file, link and directory under /etc and /var/lib, with sha256) is the
 * one it had.  Four appliance launches (build, edit, undo, manifest).
 */
static void t_undo_round_trip(void)
{
    const char *top = getenv("OVFK_SRCDIR");
    const char *disks[] = { "g.img" };
    size_t restored = 0, changes;
    ovfk_sysprep *s = NULL;

    if (system("/usr/bin/python3 -c 'import guestfs' 2> /dev/null") != 0) {
        SKIP("needs python3-guestfs");
    }
    if (system("ls /boot/vmlinuz-* > /dev/null 2>&1") != 0) {
        SKIP("needs a kernel for the libguestfs appliance "
             "(linux-image-amd64)");
    }
    setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0);
    {
        char cmd[4096];
        snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/cli/phony.py'"
                 " linux g.img orig.json", top ? top : ".");
        CHECK(system(cmd) == 0);
    }
    CHECK_OK(ovfk_sysprep_open(disks, 1, false, &s), ovfk_last_error());
    CHECK_EQ(ovfk_sysprep_os_count(s), 1);
    CHECK_OK(ovfk_sysprep_op_machine_id(s, false), ovfk_sysprep_error(s));
    CHECK_OK(ovfk_sysprep_op_hostname(s, "newname", false),
             ovfk_sysprep_error(s));
    CHECK_OK(ovfk_sysprep_op_net_mac_pins(s, false), ovfk_sysprep_error(s));
    changes = ovfk_sysprep_change_count(s);
    CHECK(changes >= 3);
    CHECK_OK(ovfk_sysprep_report_write(s, disks, 1, false, "r.json"),
             ovfk_sysprep_error(s));
    ovfk_sysprep_close(s);
    CHECK_OK(ovfk_sysprep_undo("r.json", disks, 1, &restored),
             ovfk_last_error());
    CHECK_EQ(restored, changes);
    {
        char cmd[4096];
        snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/cli/phony.py'"
                 " manifest g.img now.json && cmp -s orig.json now.json",
                 top ? top : ".");
        CHECK_MSG(system(cmd) == 0, "the guest after undo is not the guest "
                  "before (diff orig.json now.json)");
    }
}

TEST_MAIN(T(t_write_read_back), T(t_write_dry_run), T(t_write_error),
          T(t_not_a_report), T(t_other_version), T(t_malformed_changes),
          T(t_undo_round_trip))
