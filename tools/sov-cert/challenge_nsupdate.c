/*
 * challenge_nsupdate.c - dns-01 by RFC 2136 dynamic update, through BIND's
 * nsupdate(1) run as a child with an argv (no shell):
 *
 *   nsupdate -v -t 20 -k TSIG_FILE
 *
 * with its commands on stdin (a socket: a child gone early is an error,
 * not SIGPIPE; closed before the wait, so nsupdate sees the end):
 *
 *   server HOST PORT
 *   zone ZONE.                                   (when --dns-zone is given)
 *   update add _acme-challenge.DOMAIN. 60 IN TXT "VALUE"
 *   send
 *
 * and "update delete _acme-challenge.DOMAIN. IN TXT "VALUE"" at the end.
 * The TSIG key stays in its file: only the path is on nsupdate's command
 * line, and sov-cert reads the file only to check it (sov_secret_load:
 * not readable by others, not a symlink, not empty, capped), then wipes
 * what it read. -v: the update goes over TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "secret.h"
#include "timestamp.h"

#define NSUPDATE_PROG "nsupdate"
#define NSUPDATE_TIMEOUT_MS 60000 /* the child is killed after this */
#define NSUPDATE_TTL 60
#define SCRIPT_MAX 2048

extern char **environ;

int
ct_nsupdate_server_parse(const char *s, char *host, size_t hostsz,
			 unsigned *port, struct sov_err *e)
{
	const char *colon = NULL, *h = s;
	size_t hlen;
	unsigned char buf[16];
	char *end;

	*port = 53;
	if (s[0] == '[') { /* [IPV6] or [IPV6]:PORT */
		const char *rb = strchr(s, ']');

		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			goto bad;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else if (strchr(s, ':') != NULL &&
		   strchr(s, ':') == strrchr(s, ':')) { /* HOST:PORT */
		colon = strchr(s, ':');
		hlen = (size_t)(colon - s);
	} else { /* HOST, or a bare IPv6 address */
		hlen = strlen(s);
	}
	if (hlen == 0 || hlen >= hostsz)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (colon != NULL) {
		long p;

		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1 || *end != '\0' || p < 1 ||
		    p > 65535)
			goto bad;
		*port = (unsigned)p;
	}
	if (inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1)
		return 0;
	if (s[0] != '[' && ct_domain_ok(host) && host[0] != '*')
		return 0;
bad:
	return sov_err_set(e, SOV_EXIT_USAGE,
			   "--dns-nsupdate: want HOST, HOST:PORT or "
			   "[IPV6]:PORT (HOST an address or a DNS name), got "
			   "\"%.100s\"",
			   s);
}

int
ct_nsupdate_take(struct ct_issue_args *a, int c, const char *arg,
		 struct sov_err *e)
{
	char host[256];
	unsigned port;

	switch (c) {
	case CT_OPT_DNS_NSUPDATE:
		if (ct_nsupdate_server_parse(arg, host, sizeof(host), &port,
					     e) < 0)
			return -1;
		a->dns_nsupdate = arg;
		return 1;
	case CT_OPT_TSIG_FILE:
		if (arg[0] != '/' || strlen(arg) >= PATH_MAX)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--tsig-file: want an absolute path "
					   "(renew runs it from anywhere), got "
					   "\"%.100s\"",
					   arg);
		a->tsig_file = arg;
		return 1;
	case CT_OPT_DNS_ZONE:
		if (!ct_domain_ok(arg) || arg[0] == '*')
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--dns-zone: not a DNS name (lower "
					   "case, no trailing dot): \"%.100s\"",
					   arg);
		a->dns_zone = arg;
		return 1;
	default:
		return 0;
	}
}

/* d (a wildcard's base) is zone or below it */
static int
in_zone(const char *d, const char *zone)
{
	size_t dl, zl = strlen(zone);

	if (strncmp(d, "*.", 2) == 0)
		d += 2;
	dl = strlen(d);
	if (strcmp(d, zone) == 0)
		return 1;
	return dl > zl && d[dl - zl - 1] == '.' &&
	       strcmp(d + dl - zl, zone) == 0;
}

int
ct_nsupdate_check(const struct ct_issue_args *a, struct sov_err *e)
{
	struct sov_secret key = {0};

	if (a->dns_nsupdate == NULL) {
		if (a->tsig_file != NULL || a->dns_zone != NULL)
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--tsig-file and --dns-zone go with "
					   "--dns-nsupdate SERVER");
		return 0;
	}
	if (a->chal != CT_DNS01)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "--dns-nsupdate: give --challenge dns-01");
	if (a->dns_hook != NULL)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "dns-01: give one of --dns-hook CMD or "
				   "--dns-nsupdate SERVER");
	if (a->tsig_file == NULL)
		return sov_err_set(e, SOV_EXIT_USAGE,
				   "--dns-nsupdate: give --tsig-file FILE (the "
				   "TSIG key, as tsig-keygen writes it)");
	if (a->dns_zone != NULL)
		for (size_t i = 0; i < a->ndomains; i++)
			if (!in_zone(a->domains[i], a->dns_zone))
				return sov_err_set(e, SOV_EXIT_USAGE,
						   "--domain %s: not in "
						   "--dns-zone %s",
						   a->domains[i], a->dns_zone);
	/* readable, private and not empty; nsupdate reads it itself */
	if (sov_secret_load(a->tsig_file, NULL, &key, e) < 0) {
		sov_err_prefix(e, "--tsig-file: ");
		return -1;
	}
	sov_secret_wipe(&key);
	return 0;
}

/* The commands for one record: add (add != 0) or delete. */
static int
script(char *buf, size_t sz, const struct ct_chal *c, int add, const char *name,
       const char *txt, struct sov_err *e)
{
	char host[256], zone[300] = "";
	unsigned port;
	int n;

	if (ct_nsupdate_server_parse(c->dns_nsupdate, host, sizeof(host), &port,
				     e) < 0)
		return -1;
	if (c->dns_zone != NULL) {
		n = snprintf(zone, sizeof(zone), "zone %s.\n", c->dns_zone);
		if (n < 0 || (size_t)n >= sizeof(zone))
			return sov_err_set(e, SOV_EXIT_USAGE,
					   "--dns-zone: too long");
	}
	if (add)
		n = snprintf(buf, sz,
			     "server %s %u\n%supdate add %s. %d IN TXT "
			     "\"%s\"\nsend\n",
			     host, port, zone, name, NSUPDATE_TTL, txt);
	else
		n = snprintf(buf, sz,
			     "server %s %u\n%supdate delete %s. IN TXT "
			     "\"%s\"\nsend\n",
			     host, port, zone, name, txt);
	if (n < 0 || (size_t)n >= sz)
		return sov_err_set(e, SOV_EXIT_FAIL, "nsupdate: %s: too long",
				   name);
	return n;
}

int
ct_nsupdate_run(const struct ct_chal *c, int add, const char *name,
		const char *txt, struct sov_err *e)
{
	posix_spawn_file_actions_t fa;
	char buf[SCRIPT_MAX];
	char *argv[] = {(char *)NSUPDATE_PROG,
			(char *)"-v",
			(char *)"-t",
			(char *)"20",
			(char *)"-k",
			(char *)c->tsig_file,
			NULL};
	const char *what = add ? "add" : "delete";
	int64_t deadline = sov_time_mono_ms() + NSUPDATE_TIMEOUT_MS;
	int sv[2] = {-1, -1}, st = 0, err, len, fa_ok = 0, rc = -1;
	pid_t pid = -1;

	len = script(buf, sizeof(buf), c, add, name, txt, e);
	if (len < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return sov_err_sys(e, SOV_EXIT_TEMPFAIL, "socketpair");
	if (posix_spawn_file_actions_init(&fa) != 0) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "spawn");
		goto out;
	}
	fa_ok = 1;
	if (posix_spawn_file_actions_adddup2(&fa, sv[1], 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, 2, 1) != 0) {
		sov_err_set(e, SOV_EXIT_TEMPFAIL, "spawn");
		goto out;
	}
	err = posix_spawnp(&pid, NSUPDATE_PROG, &fa, NULL, argv, environ);
	if (err != 0) {
		errno = err;
		sov_err_sys(e, err == ENOENT ? SOV_EXIT_USAGE : SOV_EXIT_FAIL,
			    "--dns-nsupdate: run %s (apt-get install "
			    "bind9-dnsutils)",
			    NSUPDATE_PROG);
		pid = -1;
		goto out;
	}
	close(sv[1]);
	sv[1] = -1;
	for (ssize_t off = 0; off < len;) {
		ssize_t w =
		    send(sv[0], buf + off, (size_t)(len - off), MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			sov_err_sys(e, SOV_EXIT_FAIL, "nsupdate %s %s: write",
				    what, name);
			goto out;
		}
		off += w;
	}
	rc = 0;
out:
	if (sv[0] >= 0) /* EOF for the child, before waiting for it */
		close(sv[0]);
	sv[0] = -1;
	if (sv[1] >= 0)
		close(sv[1]);
	sv[1] = -1;
	if (pid > 0) {
		for (;;) {
			pid_t r = waitpid(pid, &st, WNOHANG);

			if (r == pid)
				break;
			if (r < 0 && errno != EINTR) {
				rc = sov_err_sys(e, SOV_EXIT_FAIL,
						 "wait for nsupdate");
				break;
			}
			if (sov_time_mono_ms() > deadline) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				rc = sov_err_set(e, SOV_EXIT_TEMPFAIL,
						 "nsupdate %s %s: no answer "
						 "from %s in %d s",
						 what, name, c->dns_nsupdate,
						 NSUPDATE_TIMEOUT_MS / 1000);
				break;
			}
			nanosleep(&(struct timespec){0, 20 * 1000 * 1000},
				  NULL);
		}
		if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			rc = WIFEXITED(st)
				 ? sov_err_set(e, SOV_EXIT_FAIL,
					       "nsupdate %s %s TXT at %s: "
					       "exit %d (its message is above)",
					       what, name, c->dns_nsupdate,
					       WEXITSTATUS(st))
				 : sov_err_set(e, SOV_EXIT_FAIL,
					       "nsupdate %s %s: killed by "
					       "signal %d",
					       what, name, WTERMSIG(st));
	}
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	return rc;
}
