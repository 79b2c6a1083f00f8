/* cat.c - sov-demo cat: JSON lines in, through an optional jq filter, out. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "demo.h"
#include "jqprog.h"
#include "jsonl.h"

static int
cat_stream(FILE *in, const char *name, size_t max_line, int flags,
	   struct sov_jq *q, struct sov_jsonl_writer *w, struct sov_err *e)
{
	struct sov_jsonl_reader *r =
	    sov_jsonl_reader_new(in, name, max_line, flags);
	int rc = -1, got;
	jv rec, outs;

	if (r == NULL)
		return sov_err_set(e, SOV_EXIT_FAIL, "out of memory");
	while ((got = sov_jsonl_read(r, &rec, e)) == 1) {
		if (q == NULL) {
			if (sov_jsonl_write(w, rec, e) < 0)
				goto out;
			continue;
		}
		if (sov_jq_all(q, rec, &outs, e) < 0) {
			sov_err_prefix(e, "%s:%zu: ", name,
				       sov_jsonl_reader_line(r));
			goto out;
		}
		jv_array_foreach(outs, i, v)
		{
			if (sov_jsonl_write(w, v, e) < 0) {
				jv_free(outs);
				goto out;
			}
		}
		jv_free(outs);
	}
	rc = got; /* 0 at the end, -1 on a bad record */
out:
	sov_jsonl_reader_free(r);
	return rc;
}

int
demo_cmd_cat(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"filter", required_argument, NULL, 'f'},
	    {"objects", no_argument, NULL, 'o'},
	    {"max-line", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	const char *filter = NULL;
	struct sov_jsonl_writer *w = NULL;
	struct sov_jq *q = NULL;
	struct sov_err e;
	long max_line = SOV_JSONL_LINE_MAX;
	int flags = 0, c, rc = SOV_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			filter = optarg;
			break;
		case 'o':
			flags |= SOV_JSONL_OBJECTS;
			break;
		case 'm':
			if (sov_cli_parse_long("--max-line", optarg, 2,
					       1L << 30, &max_line, &e) < 0)
				return sov_cli_fail(&e);
			break;
		default:
			return SOV_EXIT_USAGE;
		}
	}
	if (filter != NULL &&
	    (q = sov_jq_compile(filter, "--filter", jv_invalid(), &e)) == NULL)
		return sov_cli_fail(&e);
	w = sov_jsonl_writer_new(stdout, "stdout", 0);
	if (w == NULL) {
		sov_err_set(&e, SOV_EXIT_FAIL, "out of memory");
		goto fail;
	}
	if (optind == argc) {
		if (cat_stream(stdin, "stdin", (size_t)max_line, flags, q, w,
			       &e) < 0)
			goto fail;
	}
	for (int i = optind; i < argc; i++) {
		int is_stdin = strcmp(argv[i], "-") == 0;
		FILE *f = is_stdin ? stdin : fopen(argv[i], "r");
		int got;

		if (f == NULL) {
			sov_err_sys(&e, SOV_EXIT_USAGE, "open %s", argv[i]);
			goto fail;
		}
		got = cat_stream(f, is_stdin ? "stdin" : argv[i],
				 (size_t)max_line, flags, q, w, &e);
		if (!is_stdin)
			fclose(f);
		if (got < 0)
			goto fail;
	}
	rc = SOV_EXIT_OK;
	if (sov_jsonl_writer_close(w, &e) < 0)
		rc = sov_cli_fail(&e);
	sov_jq_free(q);
	return rc;
fail:
	rc = sov_cli_fail(&e);
	sov_jsonl_writer_close(w, NULL);
	sov_jq_free(q);
	return rc;
}
