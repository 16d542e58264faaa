/* SPDX-License-Identifier: MIT */
/* What every vfiokit command shares: option parsing that names a bad
 * option in one line, "did you mean", and causes in words. */
#ifndef VFIOKIT_CLI_UTIL_H
#define VFIOKIT_CLI_UTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit statuses, the same in every command. */
#define CLI_OK      0
#define CLI_FAILED  1   /* the work was tried and failed */
#define CLI_USAGE   2   /* bad usage or bad input */

/* The closest of names[0..n) to word, when close enough to be a typo; else NULL. */
const char *cli_suggest(const char *word, const char *const *names, size_t n);

/*
 * getopt_long() for command cmd, printing one line for an unknown option
 * (with "did you mean") or a missing value, and returning '?' then. The
 * optstring must start with ':' (after a '+', if any).
 */
int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring,
	       const struct option *longopts);

/* The cause of a client call's error in words; timeout_ms as given (0: default). */
const char *cli_cause(int err, int timeout_ms, char *buf, size_t len);

/* Socket activation (systemd's protocol): the first inherited fd, and
 * whether LISTEN_FDS/LISTEN_PID were meant for this process. */
#define CLI_LISTEN_FDS_START 3
bool cli_socket_activated(void);

#endif
