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

enum ova_digest {
    OVA_DIGEST_SHA1 = 1,
    OVA_DIGEST_SHA256,
    OVA_DIGEST_SHA512,
};

#define OVA_MAX_MANIFEST (4u << 20)      /* bytes */
#define OVA_MAX_MEMBERS 4096

/* "SHA1", "SHA-256", "SHA2-256", "sha512", ... -> digest; -EINVAL */
int ova_digest_parse(const char *name, enum ova_digest *out);
const char *ova_digest_name(enum ova_digest d);   /* "SHA256" */

struct ova_manifest_entry {
    enum ova_digest digest;
    char *name;
    char hex[129];          /* lower-case */
};

struct ova_manifest {
    struct ova_manifest_entry *entries;
    size_t n;
};

/* Parse "ALG(name)= hex" lines.  Each malformed line is reported (and
 * counted in the return value, >= 0), or negative for an unusable file. */
typedef void (*ova_report_fn)(void *opaque, const char *msg);
int ova_manifest_parse(const char *buf, size_t len, struct ova_manifest *m,
                       ova_report_fn report, void *opaque);
void ova_manifest_free(struct ova_manifest *m);

/*
 * The descriptor of FILE.ovf, or of PKG.ova (the first member ending in
 * .ovf, wherever it is).  *buf (NUL-terminated) and *name are malloc'ed.
 */
int ova_load_descriptor(const char *path, char **buf, size_t *len,
                        char **name);

/*
 * The manifest of PKG.ova (its first member ending in .mf) or of
 * DIR/NAME.ovf (DIR/NAME.mf), whole, at most OVA_MAX_MANIFEST bytes, for
 * ova_manifest_parse.  *buf (NUL-terminated) and *name (the member or
 * file read) are malloc'ed, the caller frees both; on failure both are
 * NULL and the message is in ovfk_last_error().
 */
int ovfk_ova_load_manifest(const char *path, char **buf, size_t *len,
                           char **name);

/* Is path an OVA (a tar archive), rather than a descriptor? */
bool ova_is_archive(const char *path);

/* Write a whole file atomically (temporary + fsync + rename). */
int ova_write_file(const char *path, const void *buf, size_t len);

/* List the members of an OVA: name, size, and whether it is acceptable. */
typedef int (*ova_list_fn)(void *opaque, const char *name, uint64_t size,
                           const char *problem);
int ova_list(const char *path, ova_list_fn fn, void *opaque);

/*
 * Extract an OVA into dir (created; it must not exist or be empty),
 * verifying every member listed in the manifest.  On failure everything
 * extracted so far is removed.
 */
int ova_unpack(const char *path, const char *dir, ovfk_progress_fn progress,
               void *opaque);

struct ova_verify_opts {
    const char *ca;             /* CA bundle (PEM); NULL: system store */
    bool require_signature;
};

/*
 * Verify a package (OVA or .ovf with its files beside it): every manifest
 * entry against its file, files missing or unlisted, repeated entries,
 * and the signature in the .cert.  Each problem is reported as one line;
 * returns their number (0 = verified) or negative when it cannot check.
 */
int ova_verify(const char *path, const struct ova_verify_opts *opts,
               ova_report_fn report, void *opaque);

struct ova_validate_opts {
    bool strict;                /* schema violations are errors */
};

/*
 * Validate a package (PKG.ova, or FILE.ovf and the files beside it) as a
 * consumer needs before deploying it: the parser's tolerated quirks and
 * the DMTF schema (warnings; errors with strict), ovf_check's findings,
 * files missing from an OVA, sizes that disagree with References, and VHD
 * disks whose virtual size disagrees with the declared capacity (smaller:
 * an error; larger: a warning).  Each finding goes to fn; returns the
 * number of errors, or negative when the descriptor cannot be read
 * (message in ovfk_last_error()).
 */
int ova_validate(const char *path, const struct ova_validate_opts *o,
                 ovf_diag_fn fn, void *opaque);

/* Sign the manifest of a package into its .cert (an OVA is rewritten with
 * the certificate after the manifest). */
int ova_sign(const char *path, const char *key_pem, const char *cert_pem);

struct ova_pack_opts {
    enum ova_digest digest;     /* 0: SHA256 */
    bool compress;              /* gzip every file (ovf:compression) */
    uint64_t chunk_size;        /* split files larger than this; 0: never */
    const char *key;            /* sign with this key and certificate */
    const char *cert;
    ovfk_progress_fn progress;
    void *opaque;
};

/* Pack FILE.ovf and the files it references into OUT.ova. */
int ova_pack(const char *ovf, const char *out,
             const struct ova_pack_opts *opts);

/*
 * A package being written, member by member, in one pass: an OVA (tar) or
 * a directory (out ends in '/' or dir is true).  Declare every file with
 * its exact size first, then give the descriptor, then each file's bytes
 * through a sink, in the declared order; finish writes the manifest (and
 * certificate) and renames the result into place.  Until then nothing
 * exists under the final name; free without finish removes everything.
 */
typedef struct ova_writer ova_writer;

int ova_writer_new(const char *out, bool dir, const struct ova_pack_opts *o,
                   ova_writer **w);
int ova_writer_plan(ova_writer *w, const char *name, uint64_t size);
int ova_writer_descriptor(ova_writer *w, const char *name, const char *buf,
                          size_t len);
/* The sink for the next planned file (valid until the next call on w). */
int ova_writer_next(ova_writer *w, const char *name, ovfk_sink *sink);
int ova_writer_finish(ova_writer *w);
const char *ova_writer_error(const ova_writer *w);
void ova_writer_free(ova_writer *w);

/*
 * A gzip compressor in front of a sink (for ovf:compression="gzip"): what
 * is written to *up arrives compressed at down.  finish flushes the gzip
 * trailer.
 */
typedef struct ova_gzip ova_gzip;
int ova_gzip_new(const ovfk_sink *down, ova_gzip **out, ovfk_sink *up);
int ova_gzip_finish(ova_gzip *g);
void ova_gzip_free(ova_gzip *g);

/*
 * Files of a package opened for reading (import): the descriptor, parsed,
 * and each referenced file extracted to a directory (an OVA is read in one
 * pass; files listed in its manifest are verified as they pass), with
 * chunks joined and gzip undone (bounded by max_bytes per file).
 */
typedef struct ova_pkg ova_pkg;

struct ova_open_opts {
    const char *workdir;        /* where to put extracted files */
    bool verify;                /* check the manifest (default on) */
    const char *const *skip;    /* file ids not to extract (NULL-ended) */
    ovfk_progress_fn progress;
    void *opaque;
};

/* Open a package; *out is the caller's, freed with ova_pkg_free (which
 * removes the files it extracted into workdir).  On failure *out is NULL
 * and the message is in ovfk_last_error(). */
int ova_pkg_open(const char *path, const struct ova_open_opts *o,
                 ova_pkg **out);
/* The parsed descriptor.  It belongs to the package: valid until
 * ova_pkg_free(p); the caller may change it but must not free it. */
ovf_doc *ova_pkg_doc(ova_pkg *p);
/* The descriptor's bytes as read (len in *len, NUL-terminated), owned by
 * the package and valid until ova_pkg_free(p). */
const char *ova_pkg_descriptor(ova_pkg *p, size_t *len);
/* The local path holding file id's content (decompressed, joined), or
 * NULL when the package does not contain it.  *movable says whether the
 * file is ovfkit's own copy (extracted or unpacked) that the caller may
 * rename away; a file of a package directory belongs to the user.  The
 * string belongs to the package: valid until ova_pkg_free(p). */
const char *ova_pkg_file(ova_pkg *p, const char *file_id, bool *movable);
/* Free the package and remove what it extracted; NULL is accepted. */
void ova_pkg_free(ova_pkg *p);

#ifdef __cplusplus
}
#endif
#endif
