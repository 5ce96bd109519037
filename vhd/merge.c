/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd/merge.c - merge a differencing disk C into its parent P, in place,
 * crash-safe.  The journal is journal.c's, the steps from a journal's
 * state to the end recover.c's (a new merge and a recovery run the same
 * code), the children and the read-ahead children.c's, the space
 * merge_plan.c's; none of them calls back into this file.
 *
 * NOTES
 *
 * The chain is  ... <- P <- C <- G1, G2 ...  (G: C's own children, often
 * the VM's current delta).  Deleting the snapshot whose state is P's
 * contents copies C's data into P, points the G at P, and removes C.
 *
 * States (recorded in the journal ".<C>.merge.json" beside C, written to a
 * temporary and renamed, then fsync'ed):
 *   (none)      no merge
 *   copying     C's sectors are being written into P
 *   repointing  P holds C's data (fsync'ed); the G are being pointed at P;
 *               the journal holds each G's old header
 *   (none)      C and the journal removed
 *
 * Invariants:
 *   1. C is never written.  Every sector C holds is still read from C by
 *      everything above it, so whatever P holds beneath it does not show.
 *   2. P only ever receives sectors C holds, and its new blocks read as
 *      zeros (dynamic) or fall through (differencing) elsewhere: at every
 *      step, C and each G read the same logical data as before the merge.
 *   3. A G is pointed at P only after P holds all of C's data and has been
 *      fsync'ed; C is removed only after every G points at P.
 *   4. P's own old contents (the deleted snapshot's state) are given up at
 *      the first write.  So the merge only goes forward: recovery repeats
 *      the copy (idempotent: the same sectors again) and the re-pointing
 *      (from the saved headers), never undoes.  Before the journal says
 *      "copying" nothing was written and there is nothing to undo.
 *   5. The journal lists every G, and every G listed is re-pointed before
 *      C is removed: a G that cannot be found, saved or listed (no
 *      memory) fails the merge before its first write.
 *
 * Reading beside an unfinished merge (reading never writes, STYLE.md 2:
 * only a writer completes a merge, see Completion below):
 *   6. A reader resolves each range from the journal's state, without
 *      touching any file.  "copying" (crash points 1-4): P's own old
 *      contents are given up (4) and P may hold any part of C's data, so
 *      P is read through C: a sector C holds comes from C, every other
 *      from P (open.c's find_merges, rw.c's read_merging).  P then reads
 *      what the merge leaves in it, which is what C read before the
 *      merge, at every crash point.  A reader that reaches P through C
 *      (C itself, each G and what is above them) needs nothing: C lies
 *      above P already (1, 2).  "repointing" (5-7): P holds all of C's
 *      data, fsync'ed (3); C and P read alike, so each G reads the same
 *      whether it points at C or already at P.  No journal state
 *      (none, or 8: C removed): every file is read as it stands.
 *   7. So the logical content of C, of each G and of everything above
 *      them is, at every crash point, exactly what it was before the
 *      merge; P's is what it is after.  Readers that do not know the
 *      journal (libvhdi, qemu) read C, the G and above correctly at every
 *      point, and P correctly once the journal says "repointing" (or the
 *      copy ended: 3, 4).
 *   8. vhd check names the unfinished merge (a "merge" finding, exit 3 as
 *      for leaks) and leaves it.
 *
 * Completion: the explicit step of a writer.  ovfk_vhd_merge_recover (vhd
 * repair, a merge, the snapshot commands that write, a OVFK_VHD_OPEN_RDWR open
 * of C, P or a G in recover.c's ovfk_vhd_open, a new child of one of them in
 * ovfk_vhd_create) carries the merge from its journal's state to its end (4:
 * never back).  A write into any other file needs no completion: the
 * merge writes only P and the G.  A read-write open that cannot
 * complete it fails: a write into C or P beside the merge would be lost
 * or undone.
 *
 * Write order (everything allocated first, see Memory below):
 *   journal(copying) -> fsync
 *   for each block of C: data into P (P's own order: footer -> data ->
 *     BAT, see rw.c)
 *   fsync P -> journal(repointing, old headers of the G) -> fsync
 *   for each G: locator data -> header -> footer -> fsync G
 *   unlink C (unless the caller keeps it) -> unlink journal -> fsync dir
 *
 * Crash points (OVFKIT_CRASH_AT=N kills the process there, for tests):
 *   1 journal written, nothing copied    5 journal says repointing
 *   2 half of C's blocks copied          6 first G re-pointed
 *   3 all copied, P not yet fsync'ed     7 every G re-pointed, C not removed
 *   4 P fsync'ed, journal not updated    8 C removed, journal not removed
 * ENOSPC or an I/O error at any write leaves the journal: the chain reads
 * correctly, and the merge completes once the cause is gone.
 *
 * Memory: everything this file allocates for a merge (the children's
 * saved headers, the journal texts of both states, the copy buffer, the
 * handles of C, P and each G) is allocated before the merge's first write,
 * the journal included; recovery likewise allocates before it writes.  An
 * allocation that fails ends the merge or the recovery with -ENOMEM and
 * leaves the files as they were: no journal, or the old journal untouched.
 * A failure is never taken as "no children" (invariant 5).  Allocations
 * below this file (the I/O layer's handle when a G is opened at its turn,
 * the locator buffers of dynhdr.c) can still fail after the first write:
 * they fail as an I/O error does, the journal stays, and the merge
 * completes once memory is there.
 *
 * Allocation failures (OVFKIT_FAIL_ALLOC_AT=N, for tests): the Nth
 * allocation of the merge code in the process (this file, journal.c,
 * children.c, recover.c and merge_plan.c, counted from
 * ovfk_vhd_find_children and the plan on) fails as
 * if the system were out of memory, and a line on stderr says so, so a
 * test can tell the failure it caused from one that went unnoticed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/tmpfile.h"
#include "vhd/internal.h"

/* The children of C: files beside it whose parent UUID is C's. */
static int read_old_headers(struct journal *j, const char *const *kids,
                            size_t n, ovfk_err *err)
{
    j->kids = m_calloc(n + 1, sizeof(*j->kids));
    if (!j->kids) {
        return vhd_merge_nomem(err, "merge", j->child);
    }
    for (size_t i = 0; i < n; i++) {
        ovfk_vhd *g;
        char abs[PATH_MAX];
        int r = vhd_open_one(kids[i], OVFK_VHD_OPEN_NO_PARENT, &g,
                             err);
        if (r < 0) {
            return r;
        }
        if (memcmp(g->dh.parent_uuid, j->child_uuid, 16) != 0 ||
            g->ft.type != OVFK_VHD_TYPE_DIFF) {
            vhd_free_one(g);
            return ovfk_err_set(err, -EINVAL, "'%s' is not a child of '%s'",
                                kids[i], j->child);
        }
        r = ovfk_io_pread(g->io, j->kids[i].old, VHD_DYNHDR_SIZE,
                          g->ft.data_offset);
        vhd_free_one(g);
        if (r < 0) {
            return ovfk_err_set(err, r, "cannot read '%s'", kids[i]);
        }
        if (!realpath(kids[i], abs)) {
            return ovfk_err_set(err, -errno, "cannot resolve '%s': %s",
                                kids[i], ovfk_errtext(-errno));
        }
        if (!(j->kids[i].path = m_strdup(abs))) {
            return vhd_merge_nomem(err, "re-point", kids[i]);
        }
        j->n_kids++;
    }
    return 0;
}

/* Refuse, before writing anything, a merge the file system cannot hold:
 * the BATs' bound when the space is there, the plan's walk when not. */
static int check_space(struct journal *j)
{
    struct ovfk_vhd_merge_plan plan;
    struct statvfs fs;
    uint64_t avail, bound;
    int r;

    /* OVFKIT_NO_SPACE_CHECK=1 lets tests run out of space mid-merge */
    if (statvfs(j->parent, &fs) < 0 || getenv("OVFKIT_NO_SPACE_CHECK")) {
        /* cannot tell: let the writes decide (the plan still checks
         * that the chain can be read) */
        return ovfk_vhd_merge_plan(j->child, &plan);
    }
    avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    r = vhd_merge_bound(j->child, &bound);
    if (r < 0) {
        return r;
    }
    if (bound <= avail) {
        return 0;
    }
    r = ovfk_vhd_merge_plan(j->child, &plan);
    if (r < 0) {
        return r;
    }
    if (avail < plan.bytes_needed) {
        return ovfk_err_last(-ENOSPC, "merging '%s' into '%s' needs %llu "
                             "bytes free; %llu are available", j->child,
                             j->parent, (unsigned long long)plan.bytes_needed,
                             (unsigned long long)avail);
    }
    return 0;
}

int ovfk_vhd_merge(const char *child, const char *const *kids, size_t n,
              unsigned flags, ovfk_progress_fn progress, void *opaque)
{
    struct journal j;
    ovfk_err err = { 0 };
    ovfk_vhd *c = NULL, *chain = NULL;
    int r;

    memset(&j, 0, sizeof(j));
    r = ovfk_vhd_merge_recover(child);
    if (r < 0) {
        return r;
    }
    /* the chain must open cleanly: parent found, UUIDs right */
    r = vhd_open_merge_child(child, 0, &chain);
    if (r < 0) {
        return r;
    }
    c = chain;
    if (!realpath(child, j.child) ||
        !realpath(ovfk_vhd_path(ovfk_vhd_parent(chain)), j.parent)) {
        ovfk_vhd_close(chain);
        return ovfk_err_last(-errno, "cannot resolve the chain of '%s'",
                             child);
    }
    j.keep_child = flags & OVFK_VHD_MERGE_KEEP_CHILD;
    memcpy(j.child_uuid, c->ft.uuid, 16);
    memcpy(j.parent_uuid, c->dh.parent_uuid, 16);
    ovfk_vhd_close(chain);
    r = check_space(&j);
    if (r < 0) {
        return r;
    }
    vhd_journal_name(j.child, j.path, sizeof(j.path));
    r = read_old_headers(&j, kids, n, &err);
    if (r == 0) {
        snprintf(j.state, sizeof(j.state), "copying");
        r = vhd_merge_run(&j, true, progress, opaque, &err);
    }
    vhd_journal_free(&j);
    return r < 0 ? ovfk_err_publish(&err) : 0;
}
