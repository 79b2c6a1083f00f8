/*
 * walk_file.c - a file's content into chunks on the saver's workers, or
 * the parent snapshot's content when the file is unchanged (same type,
 * size, times, inode and device); the ids reach the directory's nodes
 * when its tree is made (walk_tree.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "cli.h"
#include "walk.h"

static int
is_page_file(const unsigned char *b, size_t n)
{
	return (n >= 16 && memcmp(b, "SQLite format 3", 16) == 0) ||
	       (n >= 5 && memcmp(b, "PGDMP", 5) == 0);
}

/* The saver's callback: a chunk's id, in order, onto the file's content. */
static int
append_id(void *arg, const unsigned char id[BK_ID_LEN], struct sov_err *e)
{
	jv *content = arg;
	char hex[BK_ID_HEX_LEN];

	(void)e;
	bk_hex(id, hex);
	*content = jv_array_append(*content, jv_string(hex));
	return 0;
}

/* A file given up half-way (the backup fails): its chunks' ids still on
 * their way must not land in a freed array. */
static void
drop_content(struct bk_walk *c, jv *content)
{
	bk_walk_stop(c);
	jv_free(*content);
	*content = jv_invalid();
}

/* Fill the buffer from fd up to want bytes or the end of the file. */
static int
read_more(struct bk_walk *c, int fd, size_t want, size_t *have, int *eof)
{
	if (want > c->bufcap)
		want = c->bufcap;
	while (!*eof && *have < want) {
		ssize_t n = read(fd, c->buf + *have, want - *have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			*eof = 1;
		*have += (size_t)n;
		c->bytes_read += (uint64_t)n;
	}
	return 0;
}

/*
 * Chunk everything readable from fd; the chunks' ids reach *content (an
 * array) as the workers hash them, in the order they were cut. The
 * buffer holds [pos, have); a cut is looked for in it before more is read
 * (the chunker decides a cut from the bytes before it alone, so the cuts
 * are the same however the reads fall). What is left after the cuts moves
 * to the front once it is no more than what was consumed, so the bytes
 * moved stay under the bytes read, and the buffer (twice the largest
 * chunk) always has room for a read. -1: the saver is drained and
 * *content freed.
 */
static int
save_content(struct bk_walk *c, int fd, const char *path, int pages,
	     uint64_t *size, jv *content, struct sov_err *e)
{
	const struct bk_chunker *ck = pages ? &c->ck_pages : &c->ck_files;
	size_t have = 0, pos = 0;
	int eof = 0;

	*size = 0;
	if (read_more(c, fd, BK_WALK_READ_STEP, &have, &eof) < 0)
		goto fail;
	if (!pages && is_page_file(c->buf, have))
		ck = &c->ck_pages;
	for (;;) {
		size_t cut = bk_chunker_next(ck, c->buf + pos, have - pos, eof);

		if (cut > 0) {
			if (bk_saver_submit(c->sv, c->buf + pos, cut, append_id,
					    content, e) < 0) {
				drop_content(c, content);
				return -1;
			}
			*size += cut;
			pos += cut;
			bk_walk_progress(c, 0);
			continue;
		}
		if (eof)
			break;
		/* No cut in [pos, have): read on. */
		if (pos > 0 && (have - pos <= pos ||
				c->bufcap - have < BK_WALK_READ_STEP)) {
			memmove(c->buf, c->buf + pos, have - pos);
			have -= pos;
			pos = 0;
		}
		if (read_more(c, fd, have + BK_WALK_READ_STEP, &have, &eof) < 0)
			goto fail;
	}
	return 0;
fail:
	sov_err_sys(e, sov_exit_code_errno(errno), "%s: read", path);
	drop_content(c, content);
	return -1;
}

/* A parent's node of the same name, when unchanged: its content. */
static jv
unchanged_content(struct bk_walk *c, jv node, jv pnode)
{
	static const char *same[] = {"type",  "size",  "mtime",
				     "ctime", "inode", "device"};

	if (!jv_is_valid(pnode) || jv_get_kind(pnode) != JV_KIND_OBJECT)
		return jv_invalid();
	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
		jv a = jv_object_get(jv_copy(node), jv_string(same[i]));
		jv b = jv_object_get(jv_copy(pnode), jv_string(same[i]));
		int eq = jv_equal(a, b);

		if (!eq)
			return jv_invalid();
	}
	return bk_walk_indexed_content(c, pnode);
}

jv
bk_walk_indexed_content(struct bk_walk *c, jv pnode)
{
	jv content;
	int n;

	content = jv_object_get(jv_copy(pnode), jv_string("content"));
	if (jv_get_kind(content) != JV_KIND_ARRAY) {
		jv_free(content);
		return jv_invalid();
	}
	n = jv_array_length(jv_copy(content));
	for (int i = 0; i < n; i++) {
		jv h = jv_array_get(jv_copy(content), i);
		unsigned char id[BK_ID_LEN];
		int ok = jv_get_kind(h) == JV_KIND_STRING &&
			 bk_unhex(jv_string_value(h), id) == 0 &&
			 bk_index_get(c->r->idx, id) != NULL;

		jv_free(h);
		if (!ok) {
			jv_free(content);
			return jv_invalid();
		}
	}
	return content;
}

int
bk_walk_save_unchanged(struct bk_walk *c, jv *node, jv pnode, jv *nodes)
{
	jv content = unchanged_content(c, *node, pnode);

	if (!jv_is_valid(content))
		return 0;
	c->files++;
	c->unchanged++;
	*nodes = jv_array_append(
	    *nodes, jv_object_set(*node, jv_string("content"), content));
	*node = jv_invalid();
	return 1;
}

int
bk_walk_save_file_node(struct bk_walk *c, int fd, jv node, jv pnode,
		       const char *path, int pages, jv *nodes,
		       struct sov_err *e)
{
	struct bk_walk_pending *p;
	uint64_t size = 0;
	int same = bk_walk_save_unchanged(c, &node, pnode, nodes);

	jv_free(pnode);
	if (same)
		return 0;
	c->files++;
	p = calloc(1, sizeof(*p));
	if (!p) {
		jv_free(node);
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "%s", path);
	}
	p->content = jv_array();
	if (save_content(c, fd, path, pages, &size, &p->content, e) < 0) {
		free(p);
		jv_free(node);
		return -1;
	}
	p->idx = (size_t)jv_array_length(jv_copy(*nodes));
	if (bk_walk_push_pending(c, p, e) < 0) {
		bk_walk_stop(c);
		jv_free(p->content);
		free(p);
		jv_free(node);
		return -1;
	}
	node = jv_object_set(node, jv_string("size"), jv_number((double)size));
	*nodes = jv_array_append(*nodes, node);
	return 0;
}
