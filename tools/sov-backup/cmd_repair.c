/*
 * cmd_repair.c - `sov-backup repair index`: rebuild the index from the
 * packs themselves.
 *
 * Every pack carries its own sealed header, so the index is redundant: when
 * an index file is damaged or lost (check says so, and prune refuses to
 * run), this reads the tail of every pack, writes an index of every blob
 * found (in files of bounded size, index_batch.h), the last file
 * superseding all existing index files, and then removes those.
 * Packs whose header does not open are reported and left out (and left in
 * place: an operator may still want them). Under the exclusive lock.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "index_batch.h"
#include "jsonl.h"
#include "lock.h"

int
bk_cmd_repair(int argc, char **argv)
{
	static const struct option lo[] = {
	    BK_COMMON_LONGOPTS,
	    {"dry-run", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	struct bk_common co = {.lock_wait_s = 60};
	struct sov_err e = {0};
	struct bk_repo *r = NULL;
	struct bk_lock *lock = NULL;
	struct bk_names packs = {0}, idx = {0};
	struct bk_pack_info pi;
	struct bk_index_batch ib = {0};
	unsigned char(*sup)[BK_ID_LEN] = NULL;
	size_t npi = 0, nsup = 0;
	uint64_t blobs = 0, bad = 0;
	int dry = 0, opt, rc = SOV_EXIT_FAIL;
	jv rec;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int k = bk_common_opt(&co, opt, optarg);

		if (k < 0)
			return SOV_EXIT_USAGE;
		if (k)
			continue;
		if (opt == 'n')
			dry = 1;
		else
			return sov_cli_usage_error("unknown option");
	}
	if (optind + 1 != argc || strcmp(argv[optind], "index") != 0)
		return sov_cli_usage_error("repair: want \"index\"");
	r = bk_open(&co, &e);
	if (!r)
		goto fail;
	lock = bk_lock_acquire(r->be, 1, "repair", co.lock_wait_s * 1000, &e);
	if (!lock)
		goto fail;
	ib.r = r;
	ib.lock = lock; /* nothing written once the lock is lost */
	if (bk_repo_list(r, "data", &packs, &e) < 0 ||
	    bk_repo_list(r, "index", &idx, &e) < 0)
		goto fail;
	sup = malloc((idx.n ? idx.n : 1) * BK_ID_LEN);
	if (!sup) {
		sov_err_sys(&e, SOV_EXIT_TEMPFAIL, "repair");
		goto fail;
	}
	for (size_t i = 0; i < idx.n; i++)
		if (bk_unhex(strrchr(idx.names[i], '/') + 1, sup[nsup]) == 0)
			nsup++;
	for (size_t i = 0; i < packs.n; i++) {
		struct sov_err pe = {0};
		unsigned char id[BK_ID_LEN];

		if (bk_unhex(strrchr(packs.names[i], '/') + 1, id) < 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		if (bk_repo_pack_header(r, packs.names[i], packs.sizes[i],
					&pi.ents, &pi.n, &pe) < 0) {
			jv err;

			if (pe.code == SOV_EXIT_TEMPFAIL) {
				e = pe;
				goto fail;
			}
			bad++;
			err = sov_record_new("error");
			err = jv_object_set(err, jv_string("kind"),
					    jv_string("pack"));
			err = jv_object_set(err, jv_string("message"),
					    jv_string(pe.msg));
			if (bk_emit(err, &e) < 0)
				goto fail;
			continue;
		}
		memcpy(pi.id, id, BK_ID_LEN);
		pi.size = packs.sizes[i];
		blobs += pi.n;
		npi++;
		/* the new index goes out in files as the packs are read */
		if (dry)
			free(pi.ents);
		else if (bk_index_batch_add(&ib, &pi, &e) < 0)
			goto fail;
	}
	if (!dry) {
		/* The last new index file supersedes the old ones; only then
		 * are they removed. */
		if (bk_index_batch_finish(
			&ib, (const unsigned char(*)[BK_ID_LEN])sup, nsup,
			&e) < 0)
			goto fail;
		for (size_t i = 0; i < idx.n; i++)
			if (bk_remove(r->be, idx.names[i], &e) < 0)
				goto fail;
	}
	rec = sov_record_new("summary");
	rec = jv_object_set(rec, jv_string("dry_run"), jv_bool(dry));
	rec = jv_object_set(rec, jv_string("packs"), jv_number((double)npi));
	rec = jv_object_set(rec, jv_string("packs_unreadable"),
			    jv_number((double)bad));
	rec = jv_object_set(rec, jv_string("blobs"), jv_number((double)blobs));
	rec = jv_object_set(rec, jv_string("index_files_replaced"),
			    jv_number((double)(dry ? 0 : idx.n)));
	if (bk_emit(rec, &e) < 0 || bk_emit_close(&e) < 0)
		goto fail;
	rc = bad ? SOV_EXIT_FAIL : SOV_EXIT_OK;
	goto out;
fail:
	rc = sov_cli_fail(&e);
out:
	bk_index_batch_free(&ib);
	free(sup);
	bk_names_free(&packs);
	bk_names_free(&idx);
	bk_lock_release(lock, NULL);
	bk_repo_close(r);
	return rc;
}
