/* probe_blocking.c - which probes block, and running one of them timed. */
#include "probe_blocking.h"

#include "timestamp.h"

int
pr_is_blocking(const struct pr_target *t)
{
	return t->type != PR_HTTP && t->type != PR_TCP && t->type != PR_TLS;
}

void
pr_probe_blocking(const struct pr_target *t, struct pr_result *r)
{
	int64_t start = sov_time_mono_ms();

	switch (t->type) {
	case PR_DISK:
		pr_probe_disk(t, r);
		break;
	case PR_SQLITE:
		pr_probe_sqlite(t, r);
		break;
	case PR_POSTGRES:
		pr_probe_postgres(t, r);
		break;
	case PR_COMMAND:
		pr_probe_command(t, r);
		break;
	case PR_BACKUP:
		pr_probe_backup(t, r);
		break;
	case PR_SYSTEMD:
		pr_probe_systemd(t, r);
		break;
	case PR_WIREGUARD:
		pr_probe_wireguard(t, r);
		break;
	case PR_DNS:
		pr_probe_dns(t, r);
		break;
	case PR_ICMP:
		pr_probe_icmp(t, r);
		break;
	default:
		pr_result_fail(r, "not a blocking probe");
	}
	r->seconds = (double)(sov_time_mono_ms() - start) / 1000;
	if (r->up && t->latency_ms && r->seconds * 1000 > t->latency_ms)
		pr_result_fail(r, "took %.0f ms, over the %lld ms budget",
			       r->seconds * 1000, (long long)t->latency_ms);
}
