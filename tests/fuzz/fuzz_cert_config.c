/*
 * fuzz_cert_config.c - libFuzzer target for the definitions file of
 * `sov-cert sync` (tools/sov-cert/config.c), from bytes.
 *
 * Checks: a refusal is a usage error (or out of memory) of one line that
 * names the file; an accepted file has its certificates sorted by unique
 * name, each with 1 to 100 distinct names and exactly the challenge
 * settings issue would accept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sov_err e = {0};
	struct ct_config *c;

	c = ct_config_parse((const char *)data, size, "fuzz.json", &e);
	if (c == NULL) {
		if (e.code != SOV_EXIT_USAGE && e.code != SOV_EXIT_FAIL)
			abort();
		if (strchr(e.msg, '\n') || strncmp(e.msg, "fuzz.json", 9))
			abort();
		return 0;
	}
	for (size_t i = 0; i < c->ncerts; i++) {
		const struct ct_cfg_cert *k = &c->certs[i];

		if (i > 0 && strcmp(c->certs[i - 1].name, k->name) >= 0)
			abort();
		if (k->ndomains < 1 || k->ndomains > CT_CONFIG_DOMAINS_MAX)
			abort();
		if (k->chal == CT_HTTP01 &&
		    ((k->webroot == NULL) == (k->standalone == NULL) ||
		     k->dns_hook != NULL))
			abort();
		if (k->chal == CT_DNS01 &&
		    (k->dns_hook == NULL || k->webroot || k->standalone))
			abort();
		for (size_t j = 0; j < k->ndomains; j++)
			for (size_t m = 0; m < j; m++)
				if (strcmp(k->domains[j], k->domains[m]) == 0)
					abort();
	}
	ct_config_free(c);
	return 0;
}
