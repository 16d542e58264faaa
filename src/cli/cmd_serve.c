// SPDX-License-Identifier: MIT
/*
 * vfiokit serve: build devices from the model registry and serve each on
 * its own vfio-user socket from one process.
 *
 *   vfiokit serve MODEL [key=value...] --socket PATH
 *   vfiokit serve --config machine.json
 *   vfiokit serve [--dir DIR]            (the default machine)
 *   vfiokit serve --list
 *   [--socket-mode OCTAL] [--socket-group NAME|GID]
 *   [--max-dma-maps N] [--max-dma-bytes SIZE] [--threads N] [--poll-us N]
 *   with any of them
 *
 * --threads N: N servers, each run by a thread of its own (the main
 * thread runs the first), the devices dealt among them round-robin: a
 * device is served only by the thread of its server (server.h, Threads).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/log.h>
#include <vfiokit/server.h>
#include <vfiokit/transport.h>

#include "cli_util.h"
#include "commands.h"
#include "machine.h"
#include "model_args.h"
#include "models.h"

#define MAX_MODEL_NAMES 64        /* for "did you mean": more than we have */

struct serve_opts {
	const char *socket;
	const char *config;
	const char *dir;
	unsigned int socket_mode;   /* 0: not given (see sockets_mode()) */
	gid_t socket_gid;           /* (gid_t)-1: the process's */
	uint64_t max_dma_maps;      /* per client (vfk_server_set_dma_limits) */
	uint64_t max_dma_bytes;
	uint64_t threads;           /* servers, one thread each (capped to the devices) */
	uint64_t poll_us;           /* polling window of each server (vfk_server_set_poll_us) */
	int verbosity;          /* -q: -1, default 0, -v: 1, -vv: 2 */
	bool list;
	const char *model;
	char **kv;
	size_t nkv;
};

struct serve_state {
	struct vfk_machine machine;
	struct vfk_device *devs[VFK_MACHINE_MAX_DEVICES];
	struct vfk_server *srvs[VFK_MACHINE_MAX_DEVICES];  /* device i: srvs[i % nsrv] */
	unsigned int nsrv;
	pthread_t threads[VFK_MACHINE_MAX_DEVICES];        /* [0] unused: the main thread */
	int results[VFK_MACHINE_MAX_DEVICES];              /* each server's vfk_server_run() */
	char fresh_dir[4096];   /* a directory this run created, removed at exit */
};

/* The servers a signal stops. Only the main thread takes the signals (the
 * others block them), so the handler never runs beside serve_cleanup(). */
static struct vfk_server *volatile signal_servers[VFK_MACHINE_MAX_DEVICES];
static volatile sig_atomic_t signal_nsrv;

static void on_signal(int sig)
{
	for (sig_atomic_t i = 0; i < signal_nsrv; i++)
		vfk_server_stop(signal_servers[i]);
}

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: vfiokit serve MODEL [key=value...] --socket PATH\n"
		"       vfiokit serve --config machine.json\n"
		"       vfiokit serve [--dir DIR]       (default machine: 2 GPUs, 2 bridges each)\n"
		"       vfiokit serve --list            (models and their options)\n"
		"options: -v (more logs, twice for debug), -q (errors only)\n"
		"  --socket-mode OCTAL     mode of the sockets created (default 0600,\n"
		"                          0660 with --socket-group); connecting needs write\n"
		"  --socket-group NAME|GID group of the sockets created, e.g. QEMU's (libvirt)\n"
		"                          (a machine file may give \"socket_mode\", \"socket_group\")\n"
		"  --max-dma-maps N        DMA mappings a client may hold (default 65535)\n"
		"  --max-dma-bytes SIZE    address space its mapped memory may take in this\n"
		"                          process (default 1T; K/M/G/T suffixes): a guest\n"
		"                          with more RAM needs more\n"
		"  --threads N             serve from N threads, one core each (default 1):\n"
		"                          the devices are dealt round-robin, at most one\n"
		"                          thread per device\n"
		"  --poll-us N             after each batch, keep polling the sockets for N\n"
		"                          microseconds (0 to 1000000, default 0: sleep at\n"
		"                          once): lower latency for a CPU per server thread\n"
		"                          while clients talk; an idle server still sleeps\n"
		"A socket path on which a server is listening is refused; a stale socket\n"
		"file is replaced. SIGINT, SIGTERM, SIGHUP: stop and remove the sockets.\n"
		"Socket activation: with LISTEN_FDS set, devices take the inherited\n"
		"sockets (by LISTEN_FDNAMES = device names, else in order).\n");
}

static void list_models(FILE *out)
{
	size_t n;
	const struct vfk_model *m = vfk_models(&n);

	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s  %s\n", m[i].name, m[i].summary);
		for (const struct vfk_model_option *o = m[i].options; o->key; o++)
			fprintf(out, "    %-14s %-15s %s\n", o->key, o->def, o->help);
	}
}

/* OCTAL: permission bits only. */
static int parse_mode(const char *text, unsigned int *mode)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 8);
	if (errno || end == text || *end || !v || v > 0777 || text[0] == '-')
		return -EINVAL;
	*mode = (unsigned int)v;
	return 0;
}

/* A group name, else a numeric gid. */
static int parse_group(const char *text, gid_t *gid)
{
	const struct group *g = getgrnam(text);
	char *end;
	unsigned long v;

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v >= (gid_t)-1)
		return -EINVAL;
	*gid = (gid_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct serve_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "max-dma-maps", required_argument, NULL, 'M' },
		{ "max-dma-bytes", required_argument, NULL, 'B' },
		{ "threads", required_argument, NULL, 't' },
		{ "poll-us", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	o->socket_gid = (gid_t)-1;
	o->max_dma_maps = VFK_DMA_DEFAULT_MAX_MAPS;
	o->max_dma_bytes = VFK_DMA_DEFAULT_MAX_BYTES;
	o->threads = 1;
	while ((c = cli_getopt("serve", argc, argv, ":s:c:d:lhvq", longopts)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'c': o->config = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'l': o->list = true; break;
		case 'm':
			if (parse_mode(optarg, &o->socket_mode)) {
				fprintf(stderr, "vfiokit serve: --socket-mode %s: expected "
					"octal permission bits (e.g. 0660)\n", optarg);
				return -EINVAL;
			}
			break;
		case 'g':
			if (parse_group(optarg, &o->socket_gid)) {
				fprintf(stderr, "vfiokit serve: --socket-group %s: no such group\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'M':
			if (vfk_parse_u64(optarg, &o->max_dma_maps) || !o->max_dma_maps) {
				fprintf(stderr, "vfiokit serve: --max-dma-maps %s: expected a "
					"number from 1 to 2^64-1\n", optarg);
				return -EINVAL;
			}
			break;
		case 'B':
			if (vfk_parse_u64(optarg, &o->max_dma_bytes) || !o->max_dma_bytes) {
				fprintf(stderr, "vfiokit serve: --max-dma-bytes %s: expected a "
					"size from 1 to 2^64-1 (K, M, G, T suffixes)\n", optarg);
				return -EINVAL;
			}
			break;
		case 't':
			if (vfk_parse_u64(optarg, &o->threads) || !o->threads) {
				fprintf(stderr, "vfiokit serve: --threads %s: expected a "
					"number from 1 to 2^64-1\n", optarg);
				return -EINVAL;
			}
			break;
		case 'P':
			if (vfk_parse_u64(optarg, &o->poll_us) ||
			    o->poll_us > VFK_SERVER_MAX_POLL_US) {
				fprintf(stderr, "vfiokit serve: --poll-us %s: expected a "
					"number from 0 to %u\n", optarg, VFK_SERVER_MAX_POLL_US);
				return -EINVAL;
			}
			break;
		case 'v': o->verbosity++; break;
		case 'q': o->verbosity = -1; break;
		case 'h': serve_usage(stdout); exit(CLI_OK);
		default: return -EINVAL;
		}
	}
	if (optind < argc) {
		o->model = argv[optind];
		o->kv = argv + optind + 1;
		o->nkv = (size_t)(argc - optind - 1);
	}
	return 0;
}

/* A model name that names none is a typo until shown otherwise. */
static int check_model(const char *name)
{
	const char *names[MAX_MODEL_NAMES];
	size_t n;
	const struct vfk_model *m = vfk_models(&n);
	const char *near;

	if (!name || vfk_model_find(name))
		return 0;
	if (n > MAX_MODEL_NAMES)
		n = MAX_MODEL_NAMES;
	for (size_t i = 0; i < n; i++)
		names[i] = m[i].name;
	near = cli_suggest(name, names, n);
	if (near)
		fprintf(stderr, "vfiokit serve: unknown model '%s' (did you mean '%s'?)\n", name,
			near);
	else
		fprintf(stderr, "vfiokit serve: unknown model '%s' (see 'vfiokit serve --list')\n",
			name);
	return -ENOENT;
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

/* The sockets' mode: as given; 0660 with a group; else 0 (the library's 0600). */
static unsigned int sockets_mode(const struct serve_opts *o)
{
	if (!o->socket_mode && o->socket_gid != (gid_t)-1)
		return 0660;
	return o->socket_mode;
}

/* A directory made for the sockets lets through (search only) the
 * classes the sockets admit: without it they could not reach them. */
static int open_dir_to_clients(const struct serve_opts *o, const char *dir)
{
	unsigned int mode = sockets_mode(o);
	mode_t dmode = 0700 | (mode & 0070 ? 0010 : 0) | (mode & 0007 ? 0001 : 0);

	if (o->socket_gid != (gid_t)-1 && chown(dir, (uid_t)-1, o->socket_gid))
		return -errno;
	return dmode == 0700 || !chmod(dir, dmode) ? 0 : -errno;
}

/* The directory for the default machine's sockets: given, or a fresh one. */
static int machine_dir(const struct serve_opts *o, struct serve_state *st, const char **dir)
{
	const char *base = getenv("XDG_RUNTIME_DIR");

	if (o->dir) {
		*dir = o->dir;
		if (!mkdir(o->dir, 0700))
			return open_dir_to_clients(o, o->dir);
		return errno == EEXIST ? 0 : -errno;
	}
	if (!base || !*base)
		base = "/tmp";
	snprintf(st->fresh_dir, sizeof(st->fresh_dir), "%s/vfiokit-XXXXXX", base);
	if (!mkdtemp(st->fresh_dir)) {
		st->fresh_dir[0] = '\0';
		return -errno;
	}
	*dir = st->fresh_dir;
	return open_dir_to_clients(o, st->fresh_dir);
}

/* A model needs a socket: given, or inherited. */
static int check_socket(const struct serve_opts *o)
{
	if (!o->model || o->socket || cli_socket_activated())
		return 0;
	fprintf(stderr, "vfiokit serve: %s: --socket PATH is needed\n", o->model);
	return -EINVAL;
}

static int load_machine(const struct serve_opts *o, struct serve_state *st)
{
	char err[256] = "";
	const char *dir = NULL;
	int ret;

	if (o->config) {
		ret = vfk_machine_load_json(o->config, &st->machine, err, sizeof(err));
		if (ret)
			vfk_err("%s", err);
		return ret;
	}
	if (o->model) {
		ret = vfk_machine_add(&st->machine, o->model, o->model,
				      o->socket ? o->socket : "", (const char *const *)o->kv,
				      o->nkv);
		if (ret)
			vfk_err("serve %s: %s", o->model, strerror(-ret));
		return ret;
	}
	ret = machine_dir(o, st, &dir);
	if (!ret)
		ret = vfk_machine_default(&st->machine, dir);
	if (ret)
		vfk_err("default machine: %s", strerror(-ret));
	return ret;
}

static int build_devices(struct serve_state *st)
{
	for (size_t i = 0; i < st->machine.count; i++) {
		const struct vfk_machine_device *d = &st->machine.devices[i];
		char err[256] = "";
		int ret = vfk_model_create(d->model, d->name, (const char *const *)d->kv, d->nkv,
					   &st->devs[i], err, sizeof(err));

		if (ret) {
			vfk_err("%s: %s", d->name, err);
			return ret;
		}
		vfk_info("%s: built %s", d->name, d->model);
	}
	return 0;
}

/* The inherited fd for device i: by LISTEN_FDNAMES when given, else by position. */
static int activated_fd(const struct serve_state *st, size_t i, int nfds)
{
	const char *names = getenv("LISTEN_FDNAMES");
	const char *want = st->machine.devices[i].name;
	size_t want_len = strlen(want);
	int idx = 0;

	if (!names)
		return (size_t)nfds == st->machine.count ? CLI_LISTEN_FDS_START + (int)i : -1;
	for (const char *p = names; idx < nfds; idx++) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == want_len && !strncmp(p, want, len))
			return CLI_LISTEN_FDS_START + idx;
		if (!end)
			break;
		p = end + 1;
	}
	return -1;
}

/* Remember the socket path of an inherited fd, for the QEMU line. */
static void note_fd_path(struct vfk_machine_device *d, int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	char *path;

	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) || sun.sun_family != AF_UNIX)
		return;
	sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
	path = strdup(sun.sun_path);
	if (!path)
		return;
	free(d->socket);
	d->socket = path;
}

static int add_activated(struct serve_state *st)
{
	long nfds = strtol(getenv("LISTEN_FDS"), NULL, 10);

	if (nfds <= 0 || nfds > VFK_MACHINE_MAX_DEVICES) {
		vfk_err("LISTEN_FDS=%s: expected 1..%d", getenv("LISTEN_FDS"),
			VFK_MACHINE_MAX_DEVICES);
		return -EINVAL;
	}
	for (size_t i = 0; i < st->machine.count; i++) {
		int fd = activated_fd(st, i, (int)nfds);
		int ret;

		if (fd < 0) {
			vfk_err("%s: no inherited socket for it (%ld fds, names %s)",
				st->machine.devices[i].name, nfds,
				getenv("LISTEN_FDNAMES") ? getenv("LISTEN_FDNAMES") : "none");
			return -EINVAL;
		}
		note_fd_path(&st->machine.devices[i], fd);
		ret = vfk_server_add_device_fd(st->srvs[i % st->nsrv], st->devs[i], fd);
		if (ret) {
			vfk_err("%s: inherited fd %d: %s", st->machine.devices[i].name, fd,
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* A machine file's socket_mode and socket_group, where no option gave them. */
static int file_socket_perms(struct serve_opts *o, const struct vfk_machine *m)
{
	if (!o->socket_mode && m->socket_mode[0] && parse_mode(m->socket_mode, &o->socket_mode)) {
		vfk_err("%s: socket_mode \"%s\": expected octal permission bits (e.g. 0660)",
			o->config, m->socket_mode);
		return -EINVAL;
	}
	if (o->socket_gid == (gid_t)-1 && m->socket_group[0] &&
	    parse_group(m->socket_group, &o->socket_gid)) {
		vfk_err("%s: socket_group \"%s\": no such group", o->config, m->socket_group);
		return -EINVAL;
	}
	return 0;
}

/* One server per thread, at most one per device, each set up alike. */
static int create_servers(const struct serve_opts *o, struct serve_state *st)
{
	uint64_t want = o->threads;

	if (want > st->machine.count) {
		vfk_warn("--threads %llu: %zu device%s, as many threads",
			 (unsigned long long)want, st->machine.count,
			 st->machine.count == 1 ? "" : "s");
		want = st->machine.count;
	}
	for (unsigned int t = 0; t < want; t++) {
		int ret = vfk_server_create(&st->srvs[t]);

		if (!ret)
			ret = vfk_server_set_socket_perms(st->srvs[t], sockets_mode(o),
							  o->socket_gid);
		if (ret) {
			vfk_err("server: %s", strerror(-ret));
			return ret;
		}
		st->nsrv = t + 1;
		vfk_server_set_dma_limits(st->srvs[t], o->max_dma_maps, o->max_dma_bytes);
		/* In range: parse_args() checked it. */
		vfk_server_set_poll_us(st->srvs[t], (unsigned int)o->poll_us);
	}
	return 0;
}

static int add_sockets(const struct serve_opts *o, struct serve_state *st)
{
	int ret = create_servers(o, st);

	if (ret)
		return ret;
	if (cli_socket_activated()) {
		ret = add_activated(st);
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		return ret;
	}
	for (size_t i = 0; !ret && i < st->machine.count; i++) {
		const char *path = st->machine.devices[i].socket;

		ret = vfk_server_add_device(st->srvs[i % st->nsrv], st->devs[i], path);
		if (ret == -EADDRINUSE)
			fprintf(stderr, "vfiokit serve: %s: another server is listening there\n",
				path);
		else if (ret)
			vfk_err("%s: cannot listen on %s: %s", st->machine.devices[i].name, path,
				strerror(-ret));
	}
	return ret;
}

/* QEMU runs in a directory of its own: a relative socket path is made
 * absolute from ours ("" stays: an inherited socket without a path). */
static void absolute_path(const char *path, char *buf, size_t len)
{
	char cwd[4096];

	if (path[0] && path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(buf, len, "%s/%s", cwd, path);
	else
		snprintf(buf, len, "%s", path);
}

/* Text in single quotes, each ' of it as '\'': one shell word, pasted as is. */
static void print_shell_word(const char *text)
{
	putchar('\'');
	for (; *text; text++) {
		if (*text == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*text);
	}
	putchar('\'');
}

/* The -device option of a socket, its JSON written by json-c, which
 * escapes what a path may hold ('"', '\\', control characters). */
static void print_device_option(const char *socket)
{
	char path[8192];
	json_object *dev = json_object_new_object(), *sock = json_object_new_object();

	if (!dev || !sock) {
		vfk_err("-device line of %s: %s", socket, strerror(ENOMEM));
		json_object_put(dev);
		json_object_put(sock);
		return;
	}
	absolute_path(socket, path, sizeof(path));
	json_object_object_add(sock, "path", json_object_new_string(path));
	json_object_object_add(sock, "type", json_object_new_string("unix"));
	json_object_object_add(dev, "driver", json_object_new_string("vfio-user-pci"));
	json_object_object_add(dev, "socket", sock);
	fputs("  -device ", stdout);
	print_shell_word(json_object_to_json_string_ext(dev, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	putchar('\n');
	json_object_put(dev);
}

static void print_attach_lines(const struct serve_state *st)
{
	bool one = st->machine.count == 1;

	printf("Serving %zu device%s", st->machine.count, one ? "" : "s");
	if (st->nsrv > 1)
		printf(" from %u threads", st->nsrv);
	printf(". Attach %s to QEMU with:\n", one ? "it" : "them");
	for (size_t i = 0; i < st->machine.count; i++) {
		const struct vfk_machine_device *d = &st->machine.devices[i];

		printf("  # %s (%s)\n", d->name, d->model);
		print_device_option(d->socket);
	}
	printf("Guest RAM must be shared for fd-based DMA, e.g.:\n"
	       "  -object memory-backend-memfd,id=mem,size=4G,share=on -machine memory-backend=mem\n");
	fflush(stdout);
}

static void install_signals(const struct serve_state *st)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (unsigned int t = 0; t < st->nsrv; t++)
		signal_servers[t] = st->srvs[t];
	signal_nsrv = (sig_atomic_t)st->nsrv;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed terminal or a reload request: stop cleanly, sockets removed. */
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The signals that stop the servers, blocked or unblocked (how). */
static void mask_stop_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(how, &set, NULL);
}

static void stop_all(const struct serve_state *st)
{
	for (unsigned int t = 0; t < st->nsrv; t++)
		vfk_server_stop(st->srvs[t]);
}

/* Server t's loop; a server that fails stops the others: the process
 * ends rather than go on serving part of its machine. */
static void run_server(struct serve_state *st, unsigned int t)
{
	st->results[t] = vfk_server_run(st->srvs[t]);
	if (st->results[t])
		stop_all(st);
}

struct serve_thread {
	struct serve_state *st;
	unsigned int t;
};

static void *serve_thread(void *arg)
{
	struct serve_thread *th = arg;

	run_server(th->st, th->t);
	return NULL;
}

/* Servers 1.. in threads of their own, born with the stop signals
 * blocked; server 0 in this thread; the first error of any, or 0. */
static int run_servers(struct serve_state *st)
{
	struct serve_thread args[VFK_MACHINE_MAX_DEVICES];
	unsigned int started = 1;
	int ret = 0;

	mask_stop_signals(SIG_BLOCK);
	for (; started < st->nsrv; started++) {
		args[started] = (struct serve_thread){ st, started };
		ret = -pthread_create(&st->threads[started], NULL, serve_thread, &args[started]);
		if (ret) {
			vfk_err("thread: %s", strerror(-ret));
			stop_all(st);
			break;
		}
	}
	mask_stop_signals(SIG_UNBLOCK);
	if (!ret)
		run_server(st, 0);
	for (unsigned int t = 1; t < started; t++)
		pthread_join(st->threads[t], NULL);
	for (unsigned int t = 0; t < started && !ret; t++)
		ret = st->results[t];
	return ret;
}

static void serve_cleanup(struct serve_state *st)
{
	signal_nsrv = 0;
	for (unsigned int t = 0; t < st->nsrv; t++)
		vfk_server_destroy(st->srvs[t]);
	for (size_t i = 0; i < st->machine.count; i++)
		vfk_device_destroy(st->devs[i]);
	vfk_machine_free(&st->machine);
	if (st->fresh_dir[0] && rmdir(st->fresh_dir))
		vfk_warn("cannot remove %s: %s", st->fresh_dir, strerror(errno));
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o = { 0 };
	static struct serve_state st;
	bool bad_input;
	int ret;

	if (parse_args(argc, argv, &o) || check_model(o.model) || check_socket(&o))
		return CLI_USAGE;
	set_log_level(o.verbosity);
	if (o.list) {
		list_models(stdout);
		return CLI_OK;
	}
	memset(&st, 0, sizeof(st));
	ret = load_machine(&o, &st);
	if (!ret)
		ret = file_socket_perms(&o, &st.machine);
	if (!ret)
		ret = build_devices(&st);
	/* What was asked refused (a machine file missing or malformed, a
	 * model option unknown or out of range) is bad input. */
	bad_input = ret == -EINVAL || ret == -ENOENT || ret == -ERANGE;
	if (!ret)
		ret = add_sockets(&o, &st);
	if (!ret) {
		print_attach_lines(&st);
		install_signals(&st);
		ret = run_servers(&st);
		if (ret)
			vfk_err("server stopped: %s", strerror(-ret));
		else
			vfk_info("shutting down");
	}
	serve_cleanup(&st);
	return bad_input ? CLI_USAGE : ret ? CLI_FAILED : CLI_OK;
}
