/*
 * strhash.h - a string's 64-bit FNV-1a hash: cheap, stable across runs
 * and builds (sov-probe derives a target's phase from it), not for
 * anything an adversary chooses to collide.
 */
#ifndef SOV_STRHASH_H
#define SOV_STRHASH_H

#include <stdint.h>

uint64_t sov_str_hash(const char *s);

#endif
