// SPDX-License-Identifier: MIT
/*
 * vfiokit proxy: serve a VFIO device (a PCI function bound to vfio-pci, a
 * group, or a vfio-user socket) over a vfio-user socket, with subdrivers.
 *
 *   vfiokit proxy TARGET --socket PATH [--subdriver NAME[,key=value...]]...
 *   vfiokit proxy --list
 *
 * One client at a time; when it leaves, the target's interrupts are
 * disabled, its DMA mappings removed and the device reset, and the next
 * client may come. SIGINT, SIGTERM, SIGHUP: stop, socket removed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/log.h>
#include <vfiokit/proxy.h>
#include <vfiokit/server.h>

#include "cli_util.h"
#include "commands.h"
#include "subdrivers.h"

#define MAX_SUBDRIVERS 16
#define MAX_SPEC_ARGS 32
#define LOOP_MS 500

struct proxy_opts {
	const char *target;
	const char *socket;
	const char *name;
	const char *specs[MAX_SUBDRIVERS];
	size_t nspecs;
	int timeout_ms;
	int verbosity;
	bool list;
	bool no_mmap;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static void proxy_usage(FILE *out)
{
	fprintf(out,
		"usage: vfiokit proxy TARGET --socket PATH [--subdriver NAME[,key=value...]]...\n"
		"       vfiokit proxy --list            (subdrivers and their options)\n"
		"TARGET: a PCI address bound to vfio-pci (0000:01:00.0), a VFIO group\n"
		"(/dev/vfio/N) or a vfio-user socket. The device is served on PATH to one\n"
		"client at a time: region info, config space, interrupts, DMA and reset go\n"
		"to the target; mappable regions are mapped straight from it.\n"
		"options: -v (more logs, twice for debug), -q (errors only)\n"
		"  --name NAME             the device's name in logs (default: TARGET)\n"
		"  --subdriver auto        every subdriver whose device list names the target\n"
		"  --timeout MS            a vfio-user target's reply timeout (default 5000)\n"
		"  --no-mmap               map nothing: every access goes through the proxy\n"
		"                          and no fd of the target reaches the client (for a\n"
		"                          kernel target: the VFIO device fd; docs/proxy.md)\n"
		"DMA needs guest memory with an fd (QEMU: memory-backend-memfd, share=on).\n"
		"SIGINT, SIGTERM, SIGHUP: stop and remove the socket. Socket activation:\n"
		"with LISTEN_FDS=1 the inherited socket is served.\n");
}

static void list_subdrivers(FILE *out)
{
	size_t n;
	const struct vfk_proxy_subdriver *const *sd = vfk_subdrivers(&n);

	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s  %s\n", sd[i]->name, sd[i]->summary);
		for (const struct vfk_proxy_option *o = sd[i]->options; o && o->key; o++)
			fprintf(out, "    %-10s %-8s %s\n", o->key, o->def ? o->def : "-", o->help);
	}
}

static int parse_timeout(const char *text, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || end == text || v < 1 || v > 3600000) {
		fprintf(stderr, "vfiokit proxy: --timeout %s: expected milliseconds from 1 to "
			"3600000\n", text);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int add_spec(struct proxy_opts *o, const char *spec)
{
	if (o->nspecs == MAX_SUBDRIVERS) {
		fprintf(stderr, "vfiokit proxy: more than %d --subdriver options\n",
			MAX_SUBDRIVERS);
		return -EINVAL;
	}
	o->specs[o->nspecs++] = spec;
	return 0;
}

static int parse_args(int argc, char **argv, struct proxy_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "subdriver", required_argument, NULL, 'D' },
		{ "name", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "list", no_argument, NULL, 'l' },
		{ "no-mmap", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = cli_getopt("proxy", argc, argv, ":s:D:n:t:lhvq", longopts)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'D': if (add_spec(o, optarg)) return -EINVAL; break;
		case 'n': o->name = optarg; break;
		case 't': if (parse_timeout(optarg, &o->timeout_ms)) return -EINVAL; break;
		case 'l': o->list = true; break;
		case 'N': o->no_mmap = true; break;
		case 'v': o->verbosity++; break;
		case 'q': o->verbosity = -1; break;
		case 'h': proxy_usage(stdout); exit(CLI_OK);
		default: return -EINVAL;
		}
	}
	if (optind < argc)
		o->target = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "vfiokit proxy: unexpected argument '%s' (one TARGET)\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int check_usage(const struct proxy_opts *o)
{
	if (o->list)
		return 0;
	if (!o->target) {
		fprintf(stderr, "vfiokit proxy: a TARGET is needed (see 'vfiokit proxy --help')\n");
		return -EINVAL;
	}
	if (!o->socket && !cli_socket_activated()) {
		fprintf(stderr, "vfiokit proxy: %s: --socket PATH is needed\n", o->target);
		return -EINVAL;
	}
	return 0;
}

static void set_log_level(int verbosity)
{
	static const enum vfk_log_level levels[] = {
		VFK_LOG_ERROR, VFK_LOG_WARN, VFK_LOG_INFO, VFK_LOG_DEBUG,
	};
	int i = verbosity + 1;

	if (verbosity == 0)
		return;   /* keep the default, or $VFIOKIT_LOG */
	vfk_log_set_level(levels[i < 0 ? 0 : i > 3 ? 3 : i]);
}

static void unknown_subdriver(const char *name)
{
	const char *names[64];
	size_t n;
	const struct vfk_proxy_subdriver *const *sd = vfk_subdrivers(&n);
	const char *near;

	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++)
		names[i] = sd[i]->name;
	near = cli_suggest(name, names, n);
	if (near)
		fprintf(stderr, "vfiokit proxy: unknown subdriver '%s' (did you mean '%s'?)\n",
			name, near);
	else
		fprintf(stderr, "vfiokit proxy: unknown subdriver '%s' (see 'vfiokit proxy "
			"--list')\n", name);
}

/* Every --subdriver names a known subdriver: checked before the target opens. */
static int check_specs(const struct proxy_opts *o)
{
	for (size_t i = 0; i < o->nspecs; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(o->specs[i], ","), o->specs[i]);
		if (!strcmp(o->specs[i], "auto"))
			continue;
		if (!vfk_subdriver_find(name)) {
			unknown_subdriver(name);
			return -ENOENT;
		}
	}
	return 0;
}

/*
 * "auto": every subdriver whose id table names the target's vendor:device
 * (subdrivers for any device are attached only by name), with its
 * defaults. Exit status on failure.
 */
static int attach_auto(struct vfk_proxy *proxy)
{
	size_t n;
	const struct vfk_proxy_subdriver *const *sd = vfk_subdrivers(&n);
	uint16_t vendor = vfk_proxy_vendor_id(proxy), device = vfk_proxy_device_id(proxy);
	char err[256] = "";

	for (size_t i = 0; i < n; i++) {
		int ret;

		if (!sd[i]->ids || !vfk_proxy_subdriver_matches(sd[i], vendor, device))
			continue;
		ret = vfk_proxy_attach(proxy, sd[i], NULL, 0, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "vfiokit proxy: %s\n", err[0] ? err : strerror(-ret));
			return CLI_FAILED;
		}
		vfk_info("%04x:%04x: subdriver %s attached", vendor, device, sd[i]->name);
	}
	return CLI_OK;
}

/* "NAME,k=v,k=v": attach NAME with its options. Exit status on failure. */
static int attach_spec(struct vfk_proxy *proxy, const char *spec)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	const char *kv[MAX_SPEC_ARGS];
	const struct vfk_proxy_subdriver *sd;
	char err[256] = "";
	size_t nkv = 0;
	int ret;

	if (!copy)
		return CLI_FAILED;
	if (!strcmp(spec, "auto")) {
		free(copy);
		return attach_auto(proxy);
	}
	sd = vfk_subdriver_find(strtok_r(copy, ",", &save));
	while ((tok = strtok_r(NULL, ",", &save)) && nkv < MAX_SPEC_ARGS)
		kv[nkv++] = tok;
	ret = tok ? -E2BIG : vfk_proxy_attach(proxy, sd, kv, nkv, err, sizeof(err));
	free(copy);
	if (!ret)
		return CLI_OK;
	if (ret == -E2BIG)
		snprintf(err, sizeof(err), "more than %d options", MAX_SPEC_ARGS);
	fprintf(stderr, "vfiokit proxy: %s\n", err[0] ? err : strerror(-ret));
	/* Options the subdriver refuses are usage; a device it cannot drive is not. */
	return ret == -EINVAL || ret == -ERANGE ? CLI_USAGE : CLI_FAILED;
}

static int add_socket(struct vfk_server *srv, struct vfk_proxy *proxy, const char *socket)
{
	struct vfk_device *dev = vfk_proxy_device(proxy);
	int ret;

	if (!socket) {
		long nfds = strtol(getenv("LISTEN_FDS"), NULL, 10);

		if (nfds != 1) {
			fprintf(stderr, "vfiokit proxy: LISTEN_FDS=%s: expected 1\n",
				getenv("LISTEN_FDS"));
			return -EINVAL;
		}
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		ret = vfk_server_add_device_fd(srv, dev, CLI_LISTEN_FDS_START);
	} else {
		ret = vfk_server_add_device(srv, dev, socket);
	}
	if (ret)
		fprintf(stderr, "vfiokit proxy: %s: %s\n", socket ? socket : "inherited socket",
			ret == -EADDRINUSE ? "a server is listening there already" :
			ret == -EEXIST ? "a file that is not a socket is there" : strerror(-ret));
	return ret;
}

static void install_signals(struct vfk_server *srv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Serve until a stop signal or the target is gone, looking at both at
 * least every LOOP_MS (a signal also ends the wait at once).
 */
static int serve_loop(struct vfk_server *srv, struct vfk_proxy *proxy)
{
	while (!stop_requested) {
		int ret = vfk_server_run_once(srv, LOOP_MS);

		if (ret) {
			fprintf(stderr, "vfiokit proxy: %s\n", strerror(-ret));
			return CLI_FAILED;
		}
		if (vfk_proxy_target_lost(proxy)) {
			fprintf(stderr, "vfiokit proxy: %s: the target is gone; stopping\n",
				vfk_proxy_target_name(proxy));
			return CLI_FAILED;
		}
	}
	return CLI_OK;
}

static int serve(struct vfk_proxy *proxy, const struct proxy_opts *o)
{
	struct vfk_server *srv = NULL;
	int ret = vfk_server_create(&srv);

	if (ret) {
		fprintf(stderr, "vfiokit proxy: server: %s\n", strerror(-ret));
		return CLI_FAILED;
	}
	ret = add_socket(srv, proxy, o->socket);
	if (!ret) {
		install_signals(srv);
		printf("vfiokit proxy: serving %s on %s\n", o->target,
		       o->socket ? o->socket : "the inherited socket");
		fflush(stdout);
		ret = serve_loop(srv, proxy);
	} else {
		ret = CLI_FAILED;
	}
	vfk_server_destroy(srv);
	return ret;
}

static int run_proxy(const struct proxy_opts *o)
{
	struct vfk_proxy_opts popts = {
		.client = { .timeout_ms = o->timeout_ms }, .no_mmap = o->no_mmap,
	};
	struct vfk_proxy *proxy = NULL;
	char err[256] = "";
	int ret = vfk_proxy_open(o->target, o->name, &popts, &proxy, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "vfiokit proxy: %s\n", err[0] ? err : strerror(-ret));
		return CLI_FAILED;
	}
	ret = CLI_OK;
	for (size_t i = 0; i < o->nspecs && ret == CLI_OK; i++)
		ret = attach_spec(proxy, o->specs[i]);
	if (ret == CLI_OK)
		ret = serve(proxy, o);
	vfk_proxy_close(proxy);
	return ret;
}

int cmd_proxy(int argc, char **argv)
{
	struct proxy_opts o = { 0 };

	if (parse_args(argc, argv, &o) || check_usage(&o) || check_specs(&o))
		return CLI_USAGE;
	set_log_level(o.verbosity);
	if (o.list) {
		list_subdrivers(stdout);
		return CLI_OK;
	}
	return run_proxy(&o);
}
