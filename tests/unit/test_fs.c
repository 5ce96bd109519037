/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/unit/test_fs.c - util/fs.c: ovfk_rm_tree removes a tree, never what
 * a link inside it points to; an absent tree is not an error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/harness.h"
#include "util/fs.h"

static int touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

    if (fd < 0) {
        return -1;
    }
    return close(fd);
}

static void removes_a_tree(void)
{
    CHECK(mkdir("t", 0755) == 0 && mkdir("t/a", 0755) == 0 &&
          mkdir("t/a/b", 0755) == 0);
    CHECK(touch("t/f") == 0 && touch("t/a/g") == 0 && touch("t/a/b/h") == 0);
    CHECK(ovfk_rm_tree("t") == 0);
    CHECK(access("t", F_OK) != 0 && errno == ENOENT);
}

static void never_follows_links(void)
{
    CHECK(mkdir("keep", 0755) == 0 && touch("keep/precious") == 0);
    CHECK(mkdir("t", 0755) == 0 && symlink("../keep", "t/link") == 0);
    CHECK(ovfk_rm_tree("t") == 0);
    CHECK(access("t", F_OK) != 0);
    CHECK(access("keep/precious", F_OK) == 0);
}

static void absent_is_fine(void)
{
    CHECK(ovfk_rm_tree("nosuch") == 0);
}

TEST_MAIN(T(removes_a_tree), T(never_follows_links), T(absent_is_fine))
