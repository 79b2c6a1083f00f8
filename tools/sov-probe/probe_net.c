/*
 * probe_net.c - dns and icmp targets: a lookup through the C library's
 * resolver (its own state per call, so threads do not share it), and one
 * echo over an unprivileged ICMP socket.
 */
#include "probe_blocking.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timestamp.h"

#define ANSWER_MAX 65536
#define RR_TEXT_MAX 1100

/* One answer record as text: "192.0.2.1", "10 mx.example.com", ... */
static int
rr_text(ns_msg *msg, ns_rr *rr, char *buf, size_t size)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	size_t n = ns_rr_rdlen(*rr), len = 0;

	switch (ns_rr_type(*rr)) {
	case ns_t_a:
		return n == 4 && inet_ntop(AF_INET, rd, buf, (socklen_t)size)
			   ? 0
			   : -1;
	case ns_t_aaaa:
		return n == 16 && inet_ntop(AF_INET6, rd, buf, (socklen_t)size)
			   ? 0
			   : -1;
	case ns_t_cname:
	case ns_t_ns:
		return dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), rd, buf,
				 (int)size) < 0
			   ? -1
			   : 0;
	case ns_t_mx: {
		int w;

		if (n < 3)
			return -1;
		w = snprintf(buf, size, "%u ", ns_get16(rd));
		return dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), rd + 2,
				 buf + w, (int)(size - (size_t)w)) < 0
			   ? -1
			   : 0;
	}
	case ns_t_txt:
		for (size_t i = 0; i < n;) {
			size_t l = rd[i++];

			if (i + l > n || len + l + 1 > size)
				return -1;
			memcpy(buf + len, rd + i, l);
			len += l;
			i += l;
		}
		buf[len] = '\0';
		return 0;
	default:
		return -1;
	}
}

/* Names compare without case and without a trailing dot. */
static int
same(const char *a, const char *b, int names)
{
	size_t la = strlen(a), lb = strlen(b);

	if (!names)
		return strcmp(a, b) == 0;
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void
dns_answers(const struct pr_target *t, const unsigned char *ans, int len,
	    struct pr_result *r)
{
	const struct pr_dns *d = &t->u.dns;
	int names = d->rrtype != ns_t_txt;
	jv list = jv_array();
	ns_msg msg;

	if (ns_initparse(ans, len, &msg) < 0) {
		pr_result_fail(r, "%s: a malformed answer", d->name);
		jv_free(list);
		return;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		char text[RR_TEXT_MAX];
		ns_rr rr;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		if ((int)ns_rr_type(rr) == d->rrtype &&
		    rr_text(&msg, &rr, text, sizeof(text)) == 0)
			list = jv_array_append(list, jv_string(text));
	}
	if (jv_array_length(jv_copy(list)) == 0)
		pr_result_fail(r, "%s: no %s record", d->name,
			       pr_rrtype_name(d->rrtype));
	for (char **want = d->expect; want && *want; want++) {
		int found = 0;

		jv_array_foreach(list, i, a)
		{
			found |= same(jv_string_value(a), *want, names);
			jv_free(a);
		}
		if (!found)
			pr_result_fail(r, "%s: no %s record \"%s\"", d->name,
				       pr_rrtype_name(d->rrtype), *want);
	}
	pr_result_set(r, "answers", list);
}

/* "192.0.2.53" or "192.0.2.53:5353" as the only name server. */
static int
use_server(struct __res_state *rs, const char *server)
{
	char host[64];
	const char *colon = strchr(server, ':');
	struct sockaddr_in sa = {0};
	long port = 53;

	if (colon && strchr(colon + 1, ':'))
		return -1; /* IPv6: validation refuses it */
	snprintf(host, sizeof(host), "%.*s",
		 (int)(colon ? (size_t)(colon - server) : strlen(server)),
		 server);
	if (colon)
		port = strtol(colon + 1, NULL, 10);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	rs->nsaddr_list[0] = sa;
	rs->nscount = 1;
	return 0;
}

void
pr_probe_dns(const struct pr_target *t, struct pr_result *r)
{
	const struct pr_dns *d = &t->u.dns;
	struct __res_state rs;
	unsigned char *ans = malloc(ANSWER_MAX);
	int len;

	memset(&rs, 0, sizeof(rs));
	if (ans == NULL || res_ninit(&rs) < 0) {
		pr_result_fail(r, "resolver: cannot initialise");
		free(ans);
		return;
	}
	rs.retrans = (int)((t->timeout_ms + 999) / 1000);
	rs.retry = 1;
	rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	if (d->server && use_server(&rs, d->server) < 0) {
		pr_result_fail(r, "server %s: not an IPv4 address", d->server);
		goto out;
	}
	/* glibc's resolver hides a REFUSED or SERVFAIL answer behind a
	 * timeout-like error unless it is asked, as dig asks, to return it */
	rs.pfcode = RES_PRF_REPLY;
	errno = 0;
	len = res_nquery(&rs, d->name, ns_c_in, d->rrtype, ans, ANSWER_MAX);
	if (len < 0) {
		int h = rs.res_h_errno, err = errno;

		if (h == HOST_NOT_FOUND)
			pr_result_fail(r, "%s: no such name (NXDOMAIN)",
				       d->name);
		else if (h == NO_DATA)
			pr_result_fail(r, "%s: no record of this type",
				       d->name);
		else if (h == NO_RECOVERY)
			pr_result_fail(r,
				       "%s: the server refused the query "
				       "(REFUSED, FORMERR or NOTIMP)",
				       d->name);
		else if (h == TRY_AGAIN && err == ETIMEDOUT)
			pr_result_fail(r, "%s: no answer within %lld ms",
				       d->name, (long long)t->timeout_ms);
		else if (h == TRY_AGAIN && err == ECONNREFUSED)
			pr_result_fail(r,
				       "%s: nothing listens on the server's "
				       "port (port unreachable)",
				       d->name);
		else if (h == TRY_AGAIN)
			pr_result_fail(r, "%s: the server failed (SERVFAIL)",
				       d->name);
		else
			pr_result_fail(r, "%s: lookup failed", d->name);
		goto out;
	}
	dns_answers(t, ans, len, r);
out:
	res_nclose(&rs);
	free(ans);
}

/* One echo request over an unprivileged ICMP socket; the kernel sets the
 * identifier and checks the checksum. */
static void
echo(const struct pr_target *t, const struct addrinfo *ai,
     struct pr_result *r)
{
	int v6 = ai->ai_family == AF_INET6;
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC,
			v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	unsigned char pkt[64] = {0}, buf[1500];
	int64_t deadline = sov_time_mono_ms() + t->timeout_ms;
	unsigned short seq = (unsigned short)(r->ts_ms & 0xffff);

	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			pr_result_fail(r, "unprivileged ICMP sockets are off "
					  "for this group: allow it in "
					  "net.ipv4.ping_group_range (gid %u)",
				       (unsigned)getgid());
		else
			pr_result_fail(r, "icmp socket: %s", strerror(errno));
		return;
	}
	pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	pkt[6] = (unsigned char)(seq >> 8);
	pkt[7] = (unsigned char)seq;
	memcpy(pkt + 8, "sov-probe", 9);
	if (sendto(fd, pkt, sizeof(pkt), 0, ai->ai_addr, ai->ai_addrlen) < 0) {
		pr_result_fail(r, "%s: %s", t->u.net.host, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int64_t left = deadline - sov_time_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			pr_result_fail(r, "%s: no echo reply in %lld ms",
				       t->u.net.host, (long long)t->timeout_ms);
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno != EINTR) {
			pr_result_fail(r, "%s: %s", t->u.net.host,
				       strerror(errno));
			goto out;
		}
		if (n >= 8 &&
		    buf[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
		    buf[6] == pkt[6] && buf[7] == pkt[7])
			break;
	}
out:
	close(fd);
}

void
pr_probe_icmp(const struct pr_target *t, struct pr_result *r)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char addr[INET6_ADDRSTRLEN] = "";
	int rc;

	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(t->u.net.host, NULL, &hints, &ai);
	if (rc != 0) {
		pr_result_fail(r, "%s: %s", t->u.net.host, gai_strerror(rc));
		return;
	}
	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)ai->ai_addr)->sin_addr, addr,
			  sizeof(addr));
	else if (ai->ai_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			  addr, sizeof(addr));
	pr_result_set(r, "address", jv_string(addr));
	echo(t, ai, r);
	freeaddrinfo(ai);
}
