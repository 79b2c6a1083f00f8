/*
 * prefetch.h - threads that read the walk's next files into the page
 * cache while the walk chunks the current one.
 *
 * Every file's first read costs a request to the device, and in a virtual
 * machine each request is an exit to the host: on a tree of small files
 * the walk's thread spent most of its time there, with the second core
 * idle. The prefetchers open the regular files a few entries ahead of the
 * walk in the directory it is in and ask the kernel to read them
 * (readahead(2)), so the walk's read() finds them cached. They only read:
 * they never change what is saved, and any error they meet is ignored (the
 * walk meets it again and reports it).
 *
 * All functions but the threads themselves are called from the walk's
 * thread.
 */
#ifndef BK_PREFETCH_H
#define BK_PREFETCH_H

#include <stddef.h>

#include "err.h"

/* Files read ahead of the walk, and bytes read ahead of it at most. */
#define BK_PREFETCH_FILES 32
#define BK_PREFETCH_BYTES (16u << 20)
/* Threads: each waits for one file's inode at a time, so two keep more
 * requests in flight (1 GiB corpus, cold, 2 cores: 1 thread 6.0-6.7 s,
 * 2 threads 5.7-5.9 s, 4 threads 5.9-6.1 s, 8 threads 6.6-6.8 s). */
#ifndef BK_PREFETCH_THREADS
#define BK_PREFETCH_THREADS 2
#endif

struct bk_prefetch;

/* NULL with e set when no thread can start. */
struct bk_prefetch *bk_prefetch_new(struct sov_err *e);

/*
 * The walk is at entry `at` of the directory open at dirfd, whose sorted
 * entry names are names[0..n). The prefetcher reads the entries after
 * `at` whose want[i] is set (want NULL: all). names, want and dirfd must
 * stay valid until the next call with other names, or bk_prefetch_leave:
 * both wait until the prefetcher is not using them. pf may be NULL (no
 * prefetching).
 */
void bk_prefetch_dir(struct bk_prefetch *pf, int dirfd, char *const *names,
		     const unsigned char *want, size_t n, size_t at);
/* The walk leaves the directory whose names those are. */
void bk_prefetch_leave(struct bk_prefetch *pf, char *const *names);

void bk_prefetch_free(struct bk_prefetch *pf);

#endif
