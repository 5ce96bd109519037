/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovfkit/ova.h - OVF packages: an .ovf with its files in a directory, or
 * an .ova (a tar archive: descriptor first, then manifest and certificate,
 * then the files in References order).  Tar through libarchive, digests
 * and signatures through OpenSSL, gzip through zlib.
 *
 * Extraction never writes outside the target directory: member names must
 * be plain file names (a leading "./" is accepted); absolute names, "..",
 * subdirectories, links, devices and duplicate names are refused.
 *
 * Errors: 0 or negative, message in ovfk_last_error().
 */
#ifndef OVFKIT_OVA_H
#define OVFKIT_OVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ovfkit/common.h"
#include "ovfkit/source.h"
#include "ovfkit/ovf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ovfk_ova_digest {
    OVFK_OVA_DIGEST_SHA1 = 1,
    OVFK_OVA_DIGEST_SHA256,
    OVFK_OVA_DIGEST_SHA512,
};

#define OVFK_OVA_MAX_MANIFEST (4u << 20)      /* bytes */
#define OVFK_OVA_MAX_MEMBERS 4096

/* "SHA1", "SHA-256", "SHA2-256", "sha512", ... -> digest; -EINVAL */
int ovfk_ova_digest_parse(const char *name, enum ovfk_ova_digest *out);
const char *ovfk_ova_digest_name(enum ovfk_ova_digest d);   /* "SHA256" */

struct ovfk_ova_manifest_entry {
    enum ovfk_ova_digest digest;
    char *name;
    char hex[129];          /* lower-case */
};

struct ovfk_ova_manifest {
    struct ovfk_ova_manifest_entry *entries;
    size_t n;
};

/* Parse "ALG(name)= hex" lines.  Each malformed line is reported (and
 * counted in the return value, >= 0), or negative for an unusable file. */
typedef void (*ovfk_ova_report_fn)(void *opaque, const char *msg);
int ovfk_ova_manifest_parse(const char *buf, size_t len,
                            struct ovfk_ova_manifest *m,
                            ovfk_ova_report_fn report, void *opaque);
void ovfk_ova_manifest_free(struct ovfk_ova_manifest *m);

/*
 * The descriptor of FILE.ovf, or of PKG.ova (the first member ending in
 * .ovf, wherever it is).  *buf (NUL-terminated) and *name are malloc'ed.
 */
int ovfk_ova_load_descriptor(const char *path, char **buf, size_t *len,
                        char **name);

/* Is path an OVA (a tar archive), rather than a descriptor? */
bool ovfk_ova_is_archive(const char *path);

/* Write a whole file atomically (temporary + fsync + rename). */
int ovfk_ova_write_file(const char *path, const void *buf, size_t len);

/* List the members of an OVA: name, size, and whether it is acceptable. */
typedef int (*ovfk_ova_list_fn)(void *opaque, const char *name, uint64_t size,
                           const char *problem);
int ovfk_ova_list(const char *path, ovfk_ova_list_fn fn, void *opaque);

/*
 * Extract an OVA into dir (created; it must not exist or be empty),
 * verifying every member listed in the manifest.  On failure everything
 * extracted so far is removed.
 */
int ovfk_ova_unpack(const char *path, const char *dir,
                    ovfk_progress_fn progress, void *opaque);

struct ovfk_ova_verify_opts {
    const char *ca;             /* CA bundle (PEM); NULL: system store */
    bool require_signature;
};

/*
 * Verify a package (OVA or .ovf with its files beside it): every manifest
 * entry against its file, files missing or unlisted, repeated entries,
 * and the signature in the .cert.  Each problem is reported as one line;
 * returns their number (0 = verified) or negative when it cannot check.
 */
int ovfk_ova_verify(const char *path, const struct ovfk_ova_verify_opts *opts,
               ovfk_ova_report_fn report, void *opaque);

struct ovfk_ova_validate_opts {
    bool strict;                /* schema violations are errors */
};

/*
 * Validate a package (PKG.ova, or FILE.ovf and the files beside it) as a
 * consumer needs before deploying it: the parser's tolerated quirks and
 * the DMTF schema (warnings; errors with strict), ovfk_ovf_check's findings,
 * files missing from an OVA, sizes that disagree with References, and VHD
 * disks whose virtual size disagrees with the declared capacity (smaller:
 * an error; larger: a warning).  Each finding goes to fn; returns the
 * number of errors, or negative when the descriptor cannot be read
 * (message in ovfk_last_error()).
 */
int ovfk_ova_validate(const char *path, const struct ovfk_ova_validate_opts *o,
                 ovfk_ovf_diag_fn fn, void *opaque);

/* Sign the manifest of a package into its .cert (an OVA is rewritten with
 * the certificate after the manifest). */
int ovfk_ova_sign(const char *path, const char *key_pem, const char *cert_pem);

struct ovfk_ova_pack_opts {
    enum ovfk_ova_digest digest;     /* 0: SHA256 */
    bool compress;              /* gzip every file (ovf:compression) */
    uint64_t chunk_size;        /* split files larger than this; 0: never */
    const char *key;            /* sign with this key and certificate */
    const char *cert;
    ovfk_progress_fn progress;
    void *opaque;
};

/* Pack FILE.ovf and the files it references into OUT.ova. */
int ovfk_ova_pack(const char *ovf, const char *out,
             const struct ovfk_ova_pack_opts *opts);

/*
 * A package being written, member by member, in one pass: an OVA (tar) or
 * a directory (out ends in '/' or dir is true).  Declare every file with
 * its exact size first, then give the descriptor, then each file's bytes
 * through a sink, in the declared order; finish writes the manifest (and
 * certificate) and renames the result into place.  Until then nothing
 * exists under the final name; free without finish removes everything.
 */
typedef struct ovfk_ova_writer ovfk_ova_writer;

int ovfk_ova_writer_new(const char *out, bool dir,
                        const struct ovfk_ova_pack_opts *o,
                        ovfk_ova_writer **w);
int ovfk_ova_writer_plan(ovfk_ova_writer *w, const char *name, uint64_t size);
int ovfk_ova_writer_descriptor(ovfk_ova_writer *w, const char *name,
                               const char *buf, size_t len);
/* The sink for the next planned file (valid until the next call on w). */
int ovfk_ova_writer_next(ovfk_ova_writer *w, const char *name, ovfk_sink *sink);
int ovfk_ova_writer_finish(ovfk_ova_writer *w);
const char *ovfk_ova_writer_error(const ovfk_ova_writer *w);
void ovfk_ova_writer_free(ovfk_ova_writer *w);

/*
 * A gzip compressor in front of a sink (for ovf:compression="gzip"): what
 * is written to *up arrives compressed at down.  finish flushes the gzip
 * trailer.
 */
typedef struct ovfk_ova_gzip ovfk_ova_gzip;
int ovfk_ova_gzip_new(const ovfk_sink *down, ovfk_ova_gzip **out,
                      ovfk_sink *up);
int ovfk_ova_gzip_finish(ovfk_ova_gzip *g);
void ovfk_ova_gzip_free(ovfk_ova_gzip *g);

/*
 * Files of a package opened for reading (import): the descriptor, parsed,
 * and each referenced file extracted to a directory (an OVA is read in one
 * pass; files listed in its manifest are verified as they pass), with
 * chunks joined and gzip undone (bounded by max_bytes per file).
 */
typedef struct ovfk_ova_pkg ovfk_ova_pkg;

struct ovfk_ova_open_opts {
    const char *workdir;        /* where to put extracted files */
    bool verify;                /* check the manifest (default on) */
    const char *const *skip;    /* file ids not to extract (NULL-ended) */
    ovfk_progress_fn progress;
    void *opaque;
};

/* Open a package; *out is the caller's, freed with ovfk_ova_pkg_free (which
 * removes the files it extracted into workdir).  On failure *out is NULL
 * and the message is in ovfk_last_error(). */
int ovfk_ova_pkg_open(const char *path, const struct ovfk_ova_open_opts *o,
                 ovfk_ova_pkg **out);
/* The parsed descriptor.  It belongs to the package: valid until
 * ovfk_ova_pkg_free(p); the caller may change it but must not free it. */
ovfk_ovf_doc *ovfk_ova_pkg_doc(ovfk_ova_pkg *p);
/* The descriptor's bytes as read (len in *len, NUL-terminated), owned by
 * the package and valid until ovfk_ova_pkg_free(p). */
const char *ovfk_ova_pkg_descriptor(ovfk_ova_pkg *p, size_t *len);
/* The local path holding file id's content (decompressed, joined), or
 * NULL when the package does not contain it.  *movable says whether the
 * file is ovfkit's own copy (extracted or unpacked) that the caller may
 * rename away; a file of a package directory belongs to the user.  The
 * string belongs to the package: valid until ovfk_ova_pkg_free(p). */
const char *ovfk_ova_pkg_file(ovfk_ova_pkg *p, const char *file_id,
                              bool *movable);
/* Free the package and remove what it extracted; NULL is accepted. */
void ovfk_ova_pkg_free(ovfk_ova_pkg *p);

#ifdef __cplusplus
}
#endif
#endif
