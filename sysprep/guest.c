/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysprep/guest.c - the libguestfs side of sysprep: launching the
 * appliance (falling back to TCG when KVM fails), inspecting the guest,
 * mounting its file systems inside the appliance, and the change log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysprep/internal.h"
#include "ovfkit/image.h"
#include "ovfkit/vhd.h"
#include "vmm/kvm.h"
#include "vmm/nbdkit.h"

static void quiet(guestfs_h *g, void *opaque, const char *msg)
{
    (void)g;
    (void)opaque;
    (void)msg;      /* errors are read back with guestfs_last_error */
}

/* libguestfs's warnings ("libguestfs: warning: ..." on stderr when nobody
 * listens) become ours: one line, naming the disk they concern. */
static void on_warning(guestfs_h *g, void *opaque, uint64_t event,
                       int handle, int flags, const char *buf,
                       size_t len, const uint64_t *array, size_t alen)
{
    const ovfk_sysprep *s = opaque;
    char line[512];
    size_t n = 0;

    (void)g;
    (void)event;
    (void)handle;
    (void)flags;
    (void)array;
    (void)alen;
    for (size_t i = 0; i < len && n < sizeof(line) - 1; i++) {
        line[n++] = buf[i] == '\n' || buf[i] == '\r' ? ' ' : buf[i];
    }
    while (n > 0 && line[n - 1] == ' ') {
        n--;
    }
    line[n] = '\0';
    ovfk_warn("'%s': libguestfs: %s", s->disk[0] ? s->disk : "guest",
              line);
}

/*
 * A handle that prints nothing itself: the environment (LIBGUESTFS_*) is
 * read only once our handlers are in place, so a bad LIBGUESTFS_BACKEND is
 * our error rather than a raw "libguestfs: error:" line.
 */
static int new_handle(ovfk_sysprep *s, const char *disk)
{
    snprintf(s->disk, sizeof(s->disk), "%s", disk ? disk : "");
    s->g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);
    if (!s->g) {
        return ovfk_err_set(&s->err, -ENOMEM, "cannot create a "
                            "libguestfs handle");
    }
    guestfs_set_error_handler(s->g, quiet, NULL);
    guestfs_set_event_callback(s->g, on_warning, GUESTFS_EVENT_WARNING, 0,
                               s);
    if (guestfs_parse_environment(s->g) < 0) {
        int r = sp_guest_error(s, "cannot set up libguestfs from the "
                               "environment (LIBGUESTFS_*)");
        guestfs_close(s->g);
        s->g = NULL;
        return r;
    }
    return 0;
}

int sp_guest_error(ovfk_sysprep *s, const char *what)
{
    const char *e = s->g ? guestfs_last_error(s->g) : NULL;

    return ovfk_err_set(&s->err, -EIO, "%s: %s", what,
                        e ? e : "libguestfs error");
}

/*
 * qemu's name for the format of disk, from the one probe table
 * (convert/input.c), which also refuses a file that claims a format it
 * does not hold (a damaged .vhd): guest edits must never write into such
 * a file as if it were a raw disk.  0 or negative errno (message on s).
 */
static int format_of(ovfk_sysprep *s, const char *disk, const char **fmt)
{
    ovfk_source *src;
    int r = ovfk_open_source(disk, NULL, &src);

    if (r < 0) {
        return ovfk_err_set(&s->err, r, "%s", ovfk_last_error());
    }
    *fmt = !strcmp(src->format, "vhd") ? "vpc" : src->format;
    ovfk_source_free(src);  /* formats are static strings */
    return 0;
}

/* A differencing VHD: qemu's vpc driver would open it without its parent
 * (reading zeros where the parent has data, and shadowing the parent's
 * data with zeros in every block it writes), so it goes to the appliance
 * through our nbdkit plugin, which reads and writes the whole chain. */
static bool is_chain(const char *disk)
{
    ovfk_vhd *h;
    bool diff = false;

    if (ovfk_vhd_probe(disk) > 0 &&
        ovfk_vhd_open(disk, OVFK_VHD_OPEN_NO_PARENT, &h) == 0) {
        diff = ovfk_vhd_type(h) == OVFK_VHD_TYPE_DIFF;
        ovfk_vhd_close(h);
    }
    return diff;
}

static void stop_nbd(ovfk_sysprep *s)
{
    char path[128];

    for (size_t i = 0; i < s->n_nbd; i++) {
        snprintf(path, sizeof(path), "%s/%zu.pid", s->nbd_dir, i);
        ovfk_nbdkit_stop(path);
        snprintf(path, sizeof(path), "%s/%zu.sock", s->nbd_dir, i);
        unlink(path);
    }
    s->n_nbd = 0;
    if (s->nbd_dir[0]) {
        rmdir(s->nbd_dir);
        s->nbd_dir[0] = '\0';
    }
}

/* Add disk to the handle: directly, or a chain over NBD. */
static int add_disk(ovfk_sysprep *s, const char *disk)
{
    char sock[128], pid[128], server[140];
    int r;

    if (!is_chain(disk)) {
        const char *fmt = "raw";
        r = format_of(s, disk, &fmt);
        if (r < 0) {
            return r;
        }
        return guestfs_add_drive_opts(s->g, disk, GUESTFS_ADD_DRIVE_OPTS_FORMAT,
                                      fmt, GUESTFS_ADD_DRIVE_OPTS_READONLY,
                                      s->readonly ? 1 : 0, -1) < 0 ?
               sp_guest_error(s, disk) : 0;
    }
    if (!s->nbd_dir[0]) {
        snprintf(s->nbd_dir, sizeof(s->nbd_dir), "/tmp/ovfkit-nbd-XXXXXX");
        if (!mkdtemp(s->nbd_dir)) {
            s->nbd_dir[0] = '\0';
            return ovfk_err_set(&s->err, -errno, "cannot make a directory "
                                "for nbdkit's socket: %s", strerror(errno));
        }
    }
    snprintf(sock, sizeof(sock), "%s/%zu.sock", s->nbd_dir, s->n_nbd);
    snprintf(pid, sizeof(pid), "%s/%zu.pid", s->nbd_dir, s->n_nbd);
    r = ovfk_nbdkit_serve(disk, sock, pid, NULL, s->readonly);
    if (r < 0) {
        return ovfk_err_set(&s->err, r, "'%s' is a differencing VHD, which "
                            "libguestfs reads only through nbdkit: %s", disk,
                            r == -ENOENT ? "nbdkit is not installed "
                            "(Debian package nbdkit)" : "nbdkit failed to "
                            "start our plugin");
    }
    s->n_nbd++;
    snprintf(server, sizeof(server), "unix:%s", sock);
    char *servers[] = { server, NULL };
    if (guestfs_add_drive_opts(s->g, "", GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw",
                               GUESTFS_ADD_DRIVE_OPTS_PROTOCOL, "nbd",
                               GUESTFS_ADD_DRIVE_OPTS_SERVER, servers,
                               GUESTFS_ADD_DRIVE_OPTS_READONLY,
                               s->readonly ? 1 : 0, -1) < 0) {
        return sp_guest_error(s, disk);
    }
    return 0;
}

/*
 * Launch, with TCG when KVM is absent or does not work (vmm/kvm.c: some
 * hosts expose /dev/kvm yet guests hang or qemu aborts on an MSR write);
 * a failed KVM launch is retried once under TCG.  A user's
 * LIBGUESTFS_BACKEND_SETTINGS wins.
 */
static int launch(ovfk_sysprep *s, const char *const *disks, size_t n)
{
    static int kvm_broken = -1;     /* learned once per process */
    const char *user = getenv("LIBGUESTFS_BACKEND_SETTINGS");
    int r = sp_gfs_load(&s->err);

    if (r < 0) {
        return r;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        bool tcg = (user && strstr(user, "force_tcg")) || kvm_broken == 1 ||
                   !ovfk_kvm_works() || attempt == 1;
        r = new_handle(s, n ? disks[0] : NULL);
        if (r < 0) {
            return r;
        }
        if (tcg && !user) {
            char *settings[] = { (char *)"force_tcg", NULL };
            guestfs_set_backend_settings(s->g, settings);
        }
        for (size_t i = 0; i < n; i++) {
            r = add_disk(s, disks[i]);
            if (r < 0) {
                guestfs_close(s->g);
                s->g = NULL;
                stop_nbd(s);
                return r;
            }
        }
        if (guestfs_launch(s->g) == 0) {
            if (!tcg) {
                kvm_broken = 0;
            }
            return 0;
        }
        if (tcg || user) {
            return sp_guest_error(s, "cannot start the libguestfs "
                                  "appliance");
        }
        kvm_broken = 1;
        guestfs_close(s->g);
        s->g = NULL;
        stop_nbd(s);
    }
    return ovfk_err_set(&s->err, -EIO, "cannot start the libguestfs "
                        "appliance");
}

static int inspect(ovfk_sysprep *s)
{
    char **roots = guestfs_inspect_os(s->g);

    if (!roots) {
        return sp_guest_error(s, "inspection failed");
    }
    for (size_t i = 0; roots[i]; i++) {
        struct ovfk_sysprep_os *o = realloc(s->os, (s->n_os + 1) * sizeof(*o));
        if (!o) {
            break;
        }
        s->os = o;
        o = &s->os[s->n_os++];
        memset(o, 0, sizeof(*o));
        o->root = roots[i];
        o->type = guestfs_inspect_get_type(s->g, roots[i]);
        o->distro = guestfs_inspect_get_distro(s->g, roots[i]);
        o->product = guestfs_inspect_get_product_name(s->g, roots[i]);
        o->major = guestfs_inspect_get_major_version(s->g, roots[i]);
        o->minor = guestfs_inspect_get_minor_version(s->g, roots[i]);
        o->hostname = guestfs_inspect_get_hostname(s->g, roots[i]);
        o->arch = guestfs_inspect_get_arch(s->g, roots[i]);
    }
    free(roots);
    return 0;
}

int ovfk_sysprep_open(const char *const *disks, size_t n, bool readonly,
                 ovfk_sysprep **out)
{
    ovfk_sysprep *s = calloc(1, sizeof(*s));
    int r;

    *out = NULL;
    if (!s) {
        return ovfk_err_last(-ENOMEM, "out of memory");
    }
    s->readonly = readonly;
    s->mounted = -1;
    r = launch(s, disks, n);
    if (r == 0) {
        r = inspect(s);
    }
    if (r < 0) {
        ovfk_err_publish(&s->err);
        ovfk_sysprep_close(s);
        return r;
    }
    *out = s;
    return 0;
}

void sp_umount(ovfk_sysprep *s)
{
    if (s->mounted >= 0) {
        guestfs_umount_all(s->g);
        s->mounted = -1;
    }
}

static int cmp_len(const void *a, const void *b)
{
    /* mount "/" before "/boot": shorter mount points first */
    return (int)strlen(*(char *const *)a) - (int)strlen(*(char *const *)b);
}

int sp_mount(ovfk_sysprep *s, size_t os)
{
    char **mp;
    size_t n = 0;

    if (s->mounted == (int)os) {
        return 0;
    }
    sp_umount(s);
    mp = guestfs_inspect_get_mountpoints(s->g, s->os[os].root);
    if (!mp) {
        return sp_guest_error(s, "cannot list mount points");
    }
    while (mp[n]) {
        n += 2;
    }
    /* pairs (mountpoint, device): sort by mount point length */
    {
        char **pts = calloc(n / 2 + 1, sizeof(*pts));
        for (size_t i = 0; pts && i < n; i += 2) {
            pts[i / 2] = mp[i];
        }
        if (pts) {
            qsort(pts, n / 2, sizeof(*pts), cmp_len);
            for (size_t k = 0; k < n / 2; k++) {
                for (size_t i = 0; i < n; i += 2) {
                    if (mp[i] == pts[k] &&
                        guestfs_mount_options(s->g, s->readonly ? "ro" : "",
                                              mp[i + 1], mp[i]) < 0) {
                        /* a file system that will not mount is skipped */
                    }
                }
            }
        }
        free(pts);
    }
    for (size_t i = 0; i < n; i++) {
        free(mp[i]);
    }
    free(mp);
    s->mounted = (int)os;
    return 0;
}

int sp_record(ovfk_sysprep *s, const char *kind, const char *path,
              const char *old_value, const char *new_value)
{
    return sp_record_mode(s, kind, path, old_value, new_value, -1);
}

int sp_record_mode(ovfk_sysprep *s, const char *kind, const char *path,
                   const char *old_value, const char *new_value, int mode)
{
    struct ovfk_sysprep_change *c = realloc(s->changes, (s->n_changes + 1) *
                                                    sizeof(*c));

    if (!c) {
        return ovfk_err_set(&s->err, -ENOMEM, "out of memory");
    }
    s->changes = c;
    c = &c[s->n_changes++];
    c->kind = strdup(kind);
    c->root = s->mounted >= 0 ? strdup(s->os[s->mounted].root) : NULL;
    c->mode = mode;
    c->path = strdup(path);
    c->old_value = old_value ? strdup(old_value) : NULL;
    c->new_value = new_value ? strdup(new_value) : NULL;
    return 0;
}

char *sp_read_file(ovfk_sysprep *s, const char *path, size_t *len)
{
    char *buf;
    size_t n = 0;

    if (guestfs_is_file(s->g, path) <= 0) {
        return NULL;
    }
    buf = guestfs_read_file(s->g, path, &n);
    if (buf && len) {
        *len = n;
    }
    return buf;
}

int sp_write_file(ovfk_sysprep *s, const char *path, const char *content,
                  size_t len, const char *old, bool dry_run)
{
    if (sp_record(s, content ? "file" : "file-removed", path, old,
                  content) < 0) {
        return s->err.code;
    }
    if (dry_run) {
        return 0;
    }
    if (!content) {
        return guestfs_rm(s->g, path) < 0 ? sp_guest_error(s, path) : 0;
    }
    return guestfs_write(s->g, path, content, len) < 0 ?
           sp_guest_error(s, path) : 0;
}

int sp_remove_file(ovfk_sysprep *s, const char *path, bool dry_run)
{
    struct guestfs_statns *st;
    size_t len = 0;
    char *old = sp_read_file(s, path, &len);
    int r = 0, mode = -1;

    if (!old) {
        return 0;
    }
    if (memchr(old, '\0', len)) {
        free(old);
        return 0;   /* not text: left as it is */
    }
    st = guestfs_statns(s->g, path);
    if (st) {
        mode = (int)(st->st_mode & 07777);
        guestfs_free_statns(st);
    }
    if (sp_record_mode(s, "file-removed", path, old, NULL, mode) < 0) {
        r = s->err.code;
    } else if (!dry_run && guestfs_rm(s->g, path) < 0) {
        r = sp_guest_error(s, path);
    }
    free(old);
    return r;
}

int sp_mount_root(ovfk_sysprep *s, const char *root)
{
    for (size_t i = 0; root && i < s->n_os; i++) {
        if (!strcmp(s->os[i].root, root)) {
            return sp_mount(s, i);
        }
    }
    return ovfk_err_set(&s->err, -ENOENT, "the guest has no operating "
                        "system on '%s'", root ? root : "(none)");
}

size_t ovfk_sysprep_os_count(const ovfk_sysprep *s)
{
    return s->n_os;
}

const struct ovfk_sysprep_os *ovfk_sysprep_os_at(const ovfk_sysprep *s,
                                                 size_t i)
{
    return i < s->n_os ? &s->os[i] : NULL;
}

size_t ovfk_sysprep_change_count(const ovfk_sysprep *s)
{
    return s->n_changes;
}

const struct ovfk_sysprep_change *ovfk_sysprep_change_at(const ovfk_sysprep *s,
                                                         size_t i)
{
    return i < s->n_changes ? &s->changes[i] : NULL;
}

const char *ovfk_sysprep_error(const ovfk_sysprep *s)
{
    return s->err.msg;
}

void ovfk_sysprep_close(ovfk_sysprep *s)
{
    if (!s) {
        return;
    }
    if (s->g) {
        sp_umount(s);
        if (!s->readonly) {
            guestfs_shutdown(s->g);     /* flush the guest's disks */
        }
        guestfs_close(s->g);
    }
    stop_nbd(s);            /* after the appliance let go of the disks */
    for (size_t i = 0; i < s->n_os; i++) {
        free(s->os[i].root);
        free(s->os[i].type);
        free(s->os[i].distro);
        free(s->os[i].product);
        free(s->os[i].hostname);
        free(s->os[i].arch);
    }
    free(s->os);
    for (size_t i = 0; i < s->n_changes; i++) {
        free(s->changes[i].kind);
        free(s->changes[i].root);
        free(s->changes[i].path);
        free(s->changes[i].old_value);
        free(s->changes[i].new_value);
    }
    free(s->changes);
    for (size_t i = 0; i < s->n_notes; i++) {
        free(s->notes[i]);
    }
    free(s->notes);
    free(s);
}
