/*
 * floor.c - the least memory a program doing sov-probe's work can take
 * with this machine's shared libraries: one HTTP GET through libcurl, one
 * row into a SQLite file, one jq condition run, and nothing else. Prints
 * its peak RSS (VmHWM) in KiB. bench/probe.sh reports it beside the RSS
 * goal, so the part of sov-probe's RSS that is the libraries' own is
 * measured in the same run, not assumed.
 *
 *   floor URL DBFILE
 */
#include <curl/curl.h>
#include <jq.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static size_t
discard(void *data, size_t size, size_t n, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * n;
}

static int
get(const char *url)
{
	CURL *c;
	CURLcode rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	c = curl_easy_init();
	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return rc == CURLE_OK ? 0 : -1;
}

static int
store(const char *path)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db,
			  "PRAGMA journal_mode = WAL;"
			  "CREATE TABLE IF NOT EXISTS m (ts TEXT, name TEXT, "
			  "value REAL, tags TEXT);"
			  "INSERT INTO m VALUES ('2026-11-24T00:00:00Z', "
			  "'probe.up', 1, '{\"target\":\"t\"}')",
			  NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
condition(void)
{
	jq_state *jq = jq_init();
	jv r;
	int ok;

	if (!jq)
		return -1;
	if (!jq_compile(jq, ".status == 200")) {
		jq_teardown(&jq);
		return -1;
	}
	jq_start(jq, jv_parse("{\"status\": 200}"), 0);
	r = jq_next(jq);
	ok = jv_get_kind(r) == JV_KIND_TRUE;
	jv_free(r);
	jq_teardown(&jq);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char line[256];
	FILE *f;
	long kib = -1;

	if (argc != 3) {
		fprintf(stderr, "usage: floor URL DBFILE\n");
		return 2;
	}
	if (get(argv[1]) < 0 || store(argv[2]) < 0 || condition() < 0) {
		fprintf(stderr,
			"floor: the GET, the INSERT or the jq run failed\n");
		return 1;
	}
	f = fopen("/proc/self/status", "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		return 1;
	printf("%ld\n", kib);
	return 0;
}
