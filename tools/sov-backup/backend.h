/*
 * backend.h - where a repository's objects live: a small interface, so that
 * an S3-compatible bucket can be added beside the local directory without
 * touching anything above it.
 *
 * Objects are named by slash-separated relative names made of [a-z0-9/_-.]:
 * "config", "keys/ID", "data/ab/ID", "index/ID", "snapshots/ID", "locks/ID".
 * A name is never reused for different content, except locks (refreshed in
 * place) and config at init.
 *
 * Every backend and every shorthand below checks names with bk_name_check,
 * so a name read from repository data can never reach outside it.
 * Backends are safe for concurrent use by several threads.
 */
#ifndef BK_BACKEND_H
#define BK_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define BK_NAME_MAX 200

/*
 * A valid object name: 1..BK_NAME_MAX bytes of [a-z0-9._/-], components
 * separated by single '/', none empty, none starting with '.' (so no "." or
 * "..", and no temp file ".tmp-..." is ever an object), no leading or
 * trailing '/'. what names the caller's use ("get", "list") in the message.
 * Bad names are SOV_EXIT_USAGE.
 */
int bk_name_check(const char *what, const char *name, struct sov_err *e);

struct bk_backend;
struct bk_writer;

struct bk_backend_ops {
	/* Store data under name atomically and durably (temp, fsync, rename,
	 * fsync dir): a reader sees all of it or nothing. Replaces. */
	int (*put)(struct bk_backend *b, const char *name, const void *data,
		   size_t len, struct sov_err *e);
	/* Read the whole object; more than max bytes is an error. *out is
	 * malloc'ed and NUL-terminated (caller frees; *len excludes the NUL).
	 * A missing object is SOV_EXIT_FAIL with errno-like detail in the
	 * message and *missing set to 1 when missing is not NULL (0 on every
	 * other outcome). */
	int (*get)(struct bk_backend *b, const char *name, size_t max,
		   unsigned char **out, size_t *len, int *missing,
		   struct sov_err *e);
	/* Read exactly len bytes at off (short object: SOV_EXIT_FAIL naming
	 * the object, offset and length). */
	int (*get_range)(struct bk_backend *b, const char *name, uint64_t off,
			 size_t len, unsigned char *buf, struct sov_err *e);
	/* Size of an object; *exists 0 (and 0 returned) when missing. */
	int (*stat)(struct bk_backend *b, const char *name, uint64_t *size,
		    int *exists, struct sov_err *e);
	/* Call fn for every object under dir ("data", "index", ...), in no
	 * particular order, with its full name and size. Objects in the
	 * middle of being written (temp files) are never listed. fn returning
	 * non-zero stops the listing and is returned. */
	int (*list)(struct bk_backend *b, const char *dir,
		    int (*fn)(const char *name, uint64_t size, void *arg),
		    void *arg, struct sov_err *e);
	/* An object written piece by piece whose name is known only at the
	 * end (a pack is named by the hash of its skeleton): open under dir
	 * ("data"), write any number of times, then commit under name (in
	 * dir or below it) with put's atomicity and durability, or abort.
	 * commit and abort free the writer, whatever they return. */
	int (*writer_open)(struct bk_backend *b, const char *dir,
			   struct bk_writer **w, struct sov_err *e);
	int (*writer_write)(struct bk_writer *w, const void *data, size_t len,
			    struct sov_err *e);
	int (*writer_commit)(struct bk_writer *w, const char *name,
			     struct sov_err *e);
	void (*writer_abort)(struct bk_writer *w);
	/* Remove durably; a missing object is not an error. */
	int (*remove)(struct bk_backend *b, const char *name,
		      struct sov_err *e);
	void (*close)(struct bk_backend *b);
};

struct bk_backend {
	const struct bk_backend_ops *ops;
	char display[512]; /* for messages: the path or URL */
};

/*
 * Open a repository location: a path (or file:PATH). create != 0 makes the
 * directory and its layout (config is written by the caller) and fails
 * when it already holds a repository (a "config" object) or anything else
 * that is not an empty directory. Without create, a location without
 * "config" is SOV_EXIT_USAGE: "PATH: not a sov-backup repository".
 * Locations that look like another backend's URL ("s3:...", "sftp:...",
 * "SCHEME://...") are refused (SOV_EXIT_USAGE) rather than taken for a
 * relative directory; write "./s3:x" to mean one.
 */
struct bk_backend *bk_backend_open(const char *location, int create,
				   struct sov_err *e);

/* Shorthands for b->ops->...; bk_backend_close accepts NULL. */
int bk_put(struct bk_backend *b, const char *name, const void *data, size_t len,
	   struct sov_err *e);
int bk_get(struct bk_backend *b, const char *name, size_t max,
	   unsigned char **out, size_t *len, int *missing, struct sov_err *e);
int bk_get_range(struct bk_backend *b, const char *name, uint64_t off,
		 size_t len, unsigned char *buf, struct sov_err *e);
int bk_stat(struct bk_backend *b, const char *name, uint64_t *size, int *exists,
	    struct sov_err *e);
int bk_list(struct bk_backend *b, const char *dir,
	    int (*fn)(const char *name, uint64_t size, void *arg), void *arg,
	    struct sov_err *e);
int bk_remove(struct bk_backend *b, const char *name, struct sov_err *e);
/* A writer of the backend b; bk_writer_abort accepts NULL. */
int bk_writer_open(struct bk_backend *b, const char *dir, struct bk_writer **w,
		   struct sov_err *e);
int bk_writer_write(struct bk_writer *w, const void *data, size_t len,
		    struct sov_err *e);
int bk_writer_commit(struct bk_writer *w, const char *name, struct sov_err *e);
void bk_writer_abort(struct bk_writer *w);
void bk_backend_close(struct bk_backend *b);

/* Every writer starts with this, so the shorthands find its backend. */
struct bk_writer {
	struct bk_backend *b;
};

/*
 * The local directory backend (backend_local.c). Layout made by create:
 * PATH (0700) with keys, data, data/00 .. data/ff, index, snapshots and
 * locks (all 0700, made at create; put also recreates a missing parent
 * directory). An object is the file PATH/NAME (0600). put writes
 * ".tmp-<16 hex>" beside its target first: a process killed mid-put leaves
 * that file behind; list never shows it, and nothing here removes it
 * (prune may, under the exclusive lock). list("data") also descends one
 * level (data/ab/ID); files that are not regular or whose names are not
 * valid object names are skipped.
 */
struct bk_backend *bk_backend_local_open(const char *path, int create,
					 struct sov_err *e);

#endif
