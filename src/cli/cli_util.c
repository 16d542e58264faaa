// SPDX-License-Identifier: MIT
/* One place for what every command's errors share (cli_util.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

#define MAX_WORD 64
#define DEFAULT_TIMEOUT_MS 5000   /* the client's, for 0 (client.h) */

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Edits (insert, delete, change, swap two neighbours: "vai" is one from
 * "via") from a to b. Words longer than MAX_WORD are no typo of ours,
 * so they count as far from everything. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[MAX_WORD + 1][MAX_WORD + 1];

	if (la > MAX_WORD || lb > MAX_WORD)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1,
				       d[i - 1][j - 1] + (a[i - 1] != b[j - 1]));
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[la][lb];
}

const char *cli_suggest(const char *word, const char *const *names, size_t n)
{
	/* A third of the word may be wrong, at least one letter: "infp" is
	 * "info", "x" is nothing. */
	size_t limit = strlen(word) / 3 > 0 ? strlen(word) / 3 : 1;
	const char *best = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);

		if (d <= limit) {
			limit = d;
			best = names[i];
		}
	}
	return best;
}

/* The closest long option to the unknown argument text ("--regoin=3"). */
static const char *suggest_option(const char *text, const struct option *longopts)
{
	const char *names[32];
	char word[MAX_WORD + 1];
	size_t n = 0;

	snprintf(word, sizeof(word), "%.*s", (int)strcspn(text + 2, "="), text + 2);
	for (; longopts[n].name && n < sizeof(names) / sizeof(names[0]); n++)
		names[n] = longopts[n].name;
	return cli_suggest(word, names, n);
}

static void bad_option(const char *cmd, char **argv, int c, const struct option *longopts)
{
	const char *text = argv[optind - 1];
	const char *near = NULL;

	if (c == ':' && !strncmp(text, "--", 2)) {
		fprintf(stderr, "vfiokit %s: option '%s' needs a value\n", cmd, text);
		return;
	}
	if (c == ':') {
		fprintf(stderr, "vfiokit %s: option '-%c' needs a value\n", cmd, optopt);
		return;
	}
	if (!strncmp(text, "--", 2))
		near = suggest_option(text, longopts);
	if (near)
		fprintf(stderr, "vfiokit %s: unknown option '%s' (did you mean '--%s'?)\n", cmd,
			text, near);
	else if (!strncmp(text, "--", 2))
		fprintf(stderr, "vfiokit %s: unknown option '%s'\n", cmd, text);
	else
		fprintf(stderr, "vfiokit %s: unknown option '-%c'\n", cmd, optopt);
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring,
	       const struct option *longopts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, optstring, longopts, NULL);
	if (c == '?' || c == ':') {
		bad_option(cmd, argv, c, longopts);
		return '?';
	}
	return c;
}

const char *cli_cause(int err, int timeout_ms, char *buf, size_t len)
{
	switch (err) {
	case -ETIMEDOUT:
		snprintf(buf, len, "server not answering within %d ms",
			 timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
		return buf;
	case -EPIPE:
	case -ECONNRESET:
		return "server closed the connection";
	case -EBUSY:
		return "device busy";
	default:
		return strerror(-err);
	}
}

bool cli_socket_activated(void)
{
	const char *pid = getenv("LISTEN_PID");

	return pid && getenv("LISTEN_FDS") && strtol(pid, NULL, 10) == (long)getpid();
}
