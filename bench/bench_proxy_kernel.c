/* SPDX-License-Identifier: MIT */
/*
 * bench_proxy_kernel: what `vfiokit proxy` costs in front of a kernel VFIO
 * device, against the same device opened directly, timed in one run (it
 * takes any target; bench_proxy.c times the proxy on this host in front of
 * a served V100). Four figures, each with a direct and a proxied side:
 *
 *   bar_load4       a 4-byte load from an mmap of a BAR (edu's
 *                   identification register): direct, the mmap of the
 *                   device fd; proxied, the mmap of the fd the proxy hands
 *                   out in region info. Target: the proxied side at least
 *                   0.95 x the direct side's speed (both should be the
 *                   same mapping of the kernel's, with no proxy in between).
 *   config_read4    a 4-byte config-space read: a pread on the device fd
 *                   against a vfio-user REGION_READ the proxy forwards.
 *   dma_map_unmap   DMA_MAP + DMA_UNMAP of one memfd page, one request
 *                   after the other: two type1 ioctls against two
 *                   vfio-user round trips the proxy turns into those ioctls.
 *   dma_map_unmap_batch  the same pair sent without waiting in between, as
 *                   QEMU sends them inside a memory transaction.
 *
 * A device can be open in one process only, and the proxy holds it. Two
 * ways to be fair about that:
 *
 *   bench_proxy_kernel [options] TARGET
 *       One device, alternating phases (the default, and the one reported):
 *       open TARGET directly, time every figure, close it; start
 *       `VFIOKIT proxy TARGET --socket S`, time every figure through it,
 *       stop it; ROUNDS times, the order swapped every round (direct
 *       first, then proxy first) so drift hits both sides alike.
 *   bench_proxy_kernel [options] --pair TARGET SOCKET
 *       Two identical devices: TARGET opened directly, SOCKET a proxy
 *       already serving the other one; both open at once and the blocks
 *       interleaved finely. A cross-check: different devices.
 *
 * Three more figures, timed on the direct side, say what the proxied
 * figures are made of: direct_dma_map_unmap_mmap (the pair with the
 * page mmapped before and munmapped after, which is what the proxy does
 * with the client's fd), floor_roundtrip and floor_roundtrip_fd (a raw
 * AF_UNIX exchange of a REGION_READ's sizes, and of a DMA_MAP's with the
 * memfd passed, with floor.c's echo peer).
 *
 * In the alternating mode each paired figure also has the CPU time the
 * proxy spent per operation (proxy_user_us, proxy_sys_us: the proxy's
 * /proc/PID/stat, tick-sampled, a mean over the figure: compare it with
 * the figure's mean, not its median).
 *
 * Everything runs on one CPU (-c, default the one the bench starts on):
 * the bench, the proxies it starts and the floor's peer.
 *
 * Options: -n N operations per figure and side (split over the rounds),
 * -r ROUNDS, --vfiokit PATH (the CLI that runs the proxy, default
 * "vfiokit" in PATH), --region I and --offset O (the register loaded,
 * default BAR0 offset 0).
 *
 * Output: one JSON object per line on stdout (json-c): a header naming the
 * mode and device, then one line per figure with both medians and p99s in
 * microseconds and their ratio. Timing is never judged here beyond
 * printing the verdict of the BAR target.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>
#include <vfiokit/client.h>

#include "floor.h"
#include "harness.h"
#include "wire.h"

#define DMA_IOVA       0x100000ull /* edu masks DMA addresses to 28 bits */
#define DMA_LEN        4096u
#define LOADS_PER_SAMPLE 64u       /* BAR loads timed together: one is below the clock's grain */
#define BLOCK          50u         /* operations per interleaved block (--pair) */
#define WARMUP         20u
#define MAX_ROUNDS     64u

enum side_id { DIRECT, PROXY, NSIDES };
enum fig_id {
	FIG_BAR, FIG_CONFIG, FIG_DMA, FIG_DMA_BATCH,
	/* Timed on the direct side only: what the proxy's own cost is made of. */
	FIG_DMA_MMAP, FIG_FLOOR, FIG_FLOOR_FD, NFIGS
};
/* The figures timed on both sides. */
#define NPAIRED (FIG_DMA_BATCH + 1)

static const char *const side_names[NSIDES] = { "direct", "proxy" };
static const char *const fig_names[NFIGS] = {
	"bar_load4", "config_read4", "dma_map_unmap", "dma_map_unmap_batch",
	"direct_dma_map_unmap_mmap", "floor_roundtrip", "floor_roundtrip_fd",
};
/* Operations per sample, to turn a sample into the time of one operation. */
static const unsigned int fig_per[NFIGS] = { LOADS_PER_SAMPLE, 1, 1, 1, 1, 1, 1 };
/*
 * Samples per operation count asked for: a BAR sample is short (64 loads,
 * a few microseconds under TCG), so it gets 8 times as many to span as
 * much of each phase's time as the others and not just a moment of it.
 */
static const unsigned int fig_count[NFIGS] = { 8, 1, 1, 1, 1, 1, 1 };

struct args {
	const char *target;
	const char *socket;      /* --pair: the proxy of the other device */
	const char *vfiokit;
	uint64_t n;
	unsigned int rounds;
	uint32_t region;
	uint64_t offset;
	int cpu;                 /* -c; -1: the CPU the bench starts on */
};

/* One opened side: a client and the register's mapping. */
struct side {
	struct vfk_client *c;
	struct vfk_region_info *ri;
	void *map;
	size_t map_len;
	volatile const uint32_t *reg;
	uint32_t expect;           /* the register's value, read by a message */
	pid_t proxy_pid;           /* the proxy this bench started, or 0 */
	char sock[108];
};

struct bench {
	struct args a;
	int memfd;
	void *page;
	struct bench_samples s[NFIGS][NSIDES];
	uint16_t vendor, device;
	int cpu;                   /* the bench, its proxies and the floor's peer */
	/* CPU seconds (user, system) the proxies spent per figure, and its ops. */
	double proxy_cpu[NPAIRED][2];
	uint64_t proxy_ops[NPAIRED];
	/* The BAR load's median of each round and side (alternating mode). */
	double bar_round[MAX_ROUNDS][NSIDES];
	int floor_sock;            /* the floor's echo peer (floor.c) */
	pid_t floor_pid;
};

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-c CPU] [-n N] [-r ROUNDS] [--vfiokit PATH] [--region I] [--offset O] TARGET\n"
		"       %s [-c CPU] [-n N] [--region I] [--offset O] --pair TARGET SOCKET\n",
		prog, prog);
	exit(2);
}

static uint64_t parse_u64(const char *prog, const char *s)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage(prog);
	return v;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "pair", no_argument, NULL, 'p' },
		{ "vfiokit", required_argument, NULL, 'V' },
		{ "region", required_argument, NULL, 'R' },
		{ "offset", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	bool pair = false;
	int c;

	*a = (struct args){ .vfiokit = "vfiokit", .n = 20000, .rounds = 4, .cpu = -1 };
	while ((c = getopt_long(argc, argv, "c:n:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': a->cpu = (int)parse_u64(argv[0], optarg); break;
		case 'n': a->n = parse_u64(argv[0], optarg); break;
		case 'r': a->rounds = (unsigned int)parse_u64(argv[0], optarg); break;
		case 'p': pair = true; break;
		case 'V': a->vfiokit = optarg; break;
		case 'R': a->region = (uint32_t)parse_u64(argv[0], optarg); break;
		case 'O': a->offset = parse_u64(argv[0], optarg); break;
		default: usage(argv[0]);
		}
	}
	if (argc - optind != (pair ? 2 : 1) || a->n == 0 || a->rounds == 0 ||
	    a->rounds > MAX_ROUNDS || a->offset % 4)
		usage(argv[0]);
	a->target = argv[optind];
	a->socket = pair ? argv[optind + 1] : NULL;
}

/* ---- opening a side ---- */

static int open_client(const char *target, struct vfk_client **c)
{
	char err[256];
	int r = vfk_client_open(target, NULL, c, err, sizeof(err));

	if (r)
		fprintf(stderr, "bench_proxy_kernel: %s\n", err);
	return r;
}

/*
 * Map the page of the register and check that a load through the mapping
 * reads what a region read (a message or pread) reads: the figure is then
 * known to time the device's register, not some other memory.
 */
static int map_register(struct side *sd, const struct args *a)
{
	uint64_t page = a->offset & ~(uint64_t)4095;
	int r = vfk_client_region_info(sd->c, a->region, &sd->ri);

	if (r)
		return r;
	sd->map_len = 4096;
	sd->map = vfk_client_region_mmap(sd->c, sd->ri, page, sd->map_len, PROT_READ);
	if (!sd->map) {
		fprintf(stderr, "bench_proxy_kernel: region %u offset 0x%llx: mmap refused: %s\n",
			a->region, (unsigned long long)page, strerror(errno));
		return -errno;
	}
	sd->reg = (volatile const uint32_t *)((char *)sd->map + (a->offset - page));
	r = (int)vfk_client_region_read(sd->c, a->region, a->offset, &sd->expect, 4);
	if (r != 4)
		return r < 0 ? r : -EIO;
	if (*sd->reg != sd->expect) {
		fprintf(stderr, "bench_proxy_kernel: the mapping reads 0x%08x, the region 0x%08x\n",
			*sd->reg, sd->expect);
		return -EIO;
	}
	return 0;
}

static void side_close(struct side *sd)
{
	if (sd->map)
		munmap(sd->map, sd->map_len);
	vfk_region_info_free(sd->ri);
	vfk_client_close(sd->c);
	sd->map = NULL;
	sd->ri = NULL;
	sd->c = NULL;
}

static void stop_proxy(struct side *sd)
{
	int status;

	if (sd->proxy_pid <= 0)
		return;
	kill(sd->proxy_pid, SIGTERM);
	if (waitpid(sd->proxy_pid, &status, 0) == sd->proxy_pid &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fprintf(stderr, "bench_proxy_kernel: the proxy ended with status 0x%x\n", status);
	sd->proxy_pid = 0;
}

/* Start `vfiokit proxy TARGET --socket S -q` and connect once it listens. */
static int start_proxy(struct side *sd, const struct args *a)
{
	snprintf(sd->sock, sizeof(sd->sock), "/tmp/bench-proxy-%d.sock", (int)getpid());
	unlink(sd->sock);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* stdout holds only the bench's JSON lines: the proxy's go to stderr. */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp(a->vfiokit, a->vfiokit, "proxy", a->target, "--socket", sd->sock, "-q",
		       (char *)NULL);
		fprintf(stderr, "bench_proxy_kernel: exec %s: %s\n", a->vfiokit, strerror(errno));
		_exit(127);
	}
	sd->proxy_pid = pid;
	/*
	 * The proxy opens the device before it listens, and its socket exists
	 * a moment before it listens (bind, then listen): wait for a connection.
	 */
	for (int i = 0; i < 2000; i++) {
		char err[256];
		struct stat st;
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			sd->proxy_pid = 0;
			fprintf(stderr, "bench_proxy_kernel: the proxy exited (status 0x%x)\n", status);
			return -ECHILD;
		}
		if (stat(sd->sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
			int r = vfk_client_open(sd->sock, NULL, &sd->c, err, sizeof(err));
			if (r != -ECONNREFUSED) {
				if (r)
					fprintf(stderr, "bench_proxy_kernel: %s\n", err);
				return r;
			}
		}
		usleep(10000);
	}
	fprintf(stderr, "bench_proxy_kernel: the proxy did not listen within 20 s\n");
	stop_proxy(sd);
	return -ETIMEDOUT;
}

static int side_open(struct side *sd, enum side_id id, const struct args *a)
{
	int r;

	*sd = (struct side){ 0 };
	if (id == DIRECT)
		r = open_client(a->target, &sd->c);
	else if (a->socket)
		r = open_client(a->socket, &sd->c);
	else
		r = start_proxy(sd, a);
	r = r ? r : map_register(sd, a);
	if (r) {
		side_close(sd);
		stop_proxy(sd);
	}
	return r;
}

static void side_end(struct side *sd)
{
	side_close(sd);
	stop_proxy(sd);
}

/* ---- the timed operations ---- */

static int time_bar(struct side *sd, struct bench_samples *s, uint64_t samples)
{
	for (uint64_t i = 0; i < samples; i++) {
		uint32_t bad = 0;
		uint64_t t0 = bench_now_ns();
		for (unsigned int k = 0; k < LOADS_PER_SAMPLE; k++)
			bad |= *sd->reg ^ sd->expect;
		bench_samples_add(s, bench_now_ns() - t0);
		if (bad)
			return -EIO;
	}
	return 0;
}

static int time_config(struct side *sd, struct bench_samples *s, uint64_t ops)
{
	uint32_t v;

	for (uint64_t i = 0; i < ops; i++) {
		uint64_t t0 = bench_now_ns();
		ssize_t r = vfk_client_config_read(sd->c, 0, &v, 4);
		bench_samples_add(s, bench_now_ns() - t0);
		if (r != 4)
			return r < 0 ? (int)r : -EIO;
	}
	return 0;
}

static int time_dma(struct bench *b, struct side *sd, struct bench_samples *s, uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t t0 = bench_now_ns();
		int r = vfk_client_dma_map(sd->c, DMA_IOVA, DMA_LEN, b->page, b->memfd, 0);
		r = r ? r : vfk_client_dma_unmap(sd->c, DMA_IOVA, DMA_LEN);
		bench_samples_add(s, bench_now_ns() - t0);
		if (r)
			return r;
	}
	return 0;
}

static int time_dma_batch(struct bench *b, struct side *sd, struct bench_samples *s,
			  uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++) {
		struct vfk_client_dma_op op[2] = {
			{ .iova = DMA_IOVA, .size = DMA_LEN, .vaddr = b->page, .fd = b->memfd },
			{ .unmap = true, .iova = DMA_IOVA, .size = DMA_LEN, .fd = -1 },
		};
		uint64_t t0 = bench_now_ns();
		int r = vfk_client_dma_batch(sd->c, op, 2);
		bench_samples_add(s, bench_now_ns() - t0);
		if (r)
			return r;
	}
	return 0;
}

/*
 * What the proxy does for one fd-backed DMA_MAP + DMA_UNMAP, done here on
 * the direct side: map the page of the memfd (the proxy maps the window
 * of the client's file), type1-map it, unmap it, munmap it. The proxied
 * pair should cost this plus its two round trips on the socket.
 */
static int time_dma_mmap(struct bench *b, struct side *sd, struct bench_samples *s,
			 uint64_t ops)
{
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t t0 = bench_now_ns();
		void *p = mmap(NULL, DMA_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
		if (p == MAP_FAILED)
			return -errno;
		int r = vfk_client_dma_map(sd->c, DMA_IOVA, DMA_LEN, p, b->memfd, 0);
		r = r ? r : vfk_client_dma_unmap(sd->c, DMA_IOVA, DMA_LEN);
		munmap(p, DMA_LEN);
		bench_samples_add(s, bench_now_ns() - t0);
		if (r)
			return r;
	}
	return 0;
}

/*
 * The floor of one message exchange in this machine (floor.c's echo
 * peer, same system calls as the client): the sizes of a 4-byte
 * REGION_READ, or with the memfd passed along, those of a DMA_MAP.
 */
static int time_floor(struct bench *b, struct bench_samples *s, uint64_t ops, bool fd)
{
	size_t len = fd ? sizeof(struct vfu_hdr) + sizeof(struct vfu_dma_map)
			: sizeof(struct vfu_hdr) + sizeof(struct vfu_region_rw);
	size_t reply_len = fd ? sizeof(struct vfu_hdr) : sizeof(struct vfu_hdr) +
				sizeof(struct vfu_region_rw) + 4;
	char req[128] = { 0 }, reply[128];
	struct vfu_hdr h = { .command = 9, .msg_size = (uint32_t)len,
			     .error = (uint32_t)reply_len };

	/* The floor's peer answers with a reply of the size h.error names. */
	memcpy(req, &h, sizeof(h));
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t t0 = bench_now_ns();
		long r = bench_roundtrip(b->floor_sock, req, len, fd ? b->memfd : -1, reply,
					 sizeof(reply), NULL);
		bench_samples_add(s, bench_now_ns() - t0);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

/* Time ops operations of figure f on one side, into s (NULL: warm-up). */
static int time_figure(struct bench *b, struct side *sd, enum fig_id f,
		       struct bench_samples *s, uint64_t ops)
{
	struct bench_samples scratch = { 0 };
	struct bench_samples *into = s ? s : &scratch;

	switch (f) {
	case FIG_BAR: return time_bar(sd, into, ops);
	case FIG_CONFIG: return time_config(sd, into, ops);
	case FIG_DMA: return time_dma(b, sd, into, ops);
	case FIG_DMA_BATCH: return time_dma_batch(b, sd, into, ops);
	case FIG_DMA_MMAP: return time_dma_mmap(b, sd, into, ops);
	case FIG_FLOOR: return time_floor(b, into, ops, false);
	case FIG_FLOOR_FD: return time_floor(b, into, ops, true);
	default: return -EINVAL;
	}
}

static void check(int r, const char *what, enum side_id id)
{
	if (r) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%s (%s)", what, side_names[id]);
		bench_die(msg, r);
	}
}

/* ---- the two modes ---- */

static int cmp_u64(const void *x, const void *y)
{
	uint64_t p = *(const uint64_t *)x, q = *(const uint64_t *)y;
	return (p > q) - (p < q);
}

/* The median of the samples from index first on, in us per operation. */
static double slice_median(const struct bench_samples *s, uint64_t first, unsigned int per)
{
	uint64_t n = s->count - first;
	uint64_t *copy = malloc(n * sizeof(*copy));

	if (!copy || n == 0)
		bench_die("slice_median", -ENOMEM);
	memcpy(copy, s->ns + first, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_u64);
	double med = (double)copy[n / 2] / 1e3 / per;
	free(copy);
	return med;
}

/*
 * User and system CPU seconds of a process so far, from /proc/PID/stat
 * (utime and stime, fields 14 and 15, in clock ticks).
 */
static int proc_cpu(pid_t pid, double *user_s, double *sys_s)
{
	char path[64], buf[1024];
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: count fields after its ')'. */
	const char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -EPROTO;
	*user_s = (double)ut / (double)sysconf(_SC_CLK_TCK);
	*sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

/*
 * Every figure on an opened side: a warm-up, then ops operations each.
 * On a proxy this bench started, also what the proxy's CPU time grew by.
 */
static void phase(struct bench *b, struct side *sd, enum side_id id, unsigned int round,
		  uint64_t ops)
{
	for (int f = 0; f < (id == DIRECT ? NFIGS : NPAIRED); f++) {
		double u0 = 0, s0 = 0, u1 = 0, s1 = 0;
		pid_t pid = sd->proxy_pid;

		check(time_figure(b, sd, (enum fig_id)f, NULL, WARMUP), fig_names[f], id);
		if (pid > 0)
			check(proc_cpu(pid, &u0, &s0), "the proxy's CPU time", id);
		uint64_t first = b->s[f][id].count;
		check(time_figure(b, sd, (enum fig_id)f, &b->s[f][id], ops * fig_count[f]),
		      fig_names[f], id);
		if (f == FIG_BAR)
			b->bar_round[round][id] = slice_median(&b->s[f][id], first, fig_per[f]);
		if (pid > 0) {
			check(proc_cpu(pid, &u1, &s1), "the proxy's CPU time", id);
			b->proxy_cpu[f][0] += u1 - u0;
			b->proxy_cpu[f][1] += s1 - s0;
			b->proxy_ops[f] += ops * fig_count[f] * fig_per[f];
		}
	}
}

static void run_alternating(struct bench *b)
{
	uint64_t ops = b->a.n / b->a.rounds ? b->a.n / b->a.rounds : 1;

	for (unsigned int round = 0; round < b->a.rounds; round++) {
		for (int k = 0; k < NSIDES; k++) {
			/* ABBA order: every other round starts with the proxy. */
			enum side_id id = (enum side_id)((k + (int)round) % NSIDES);
			struct side sd;

			check(side_open(&sd, id, &b->a), "open", id);
			phase(b, &sd, id, round, ops);
			side_end(&sd);
		}
	}
}

static void run_pair(struct bench *b)
{
	struct side sd[NSIDES];
	uint64_t blocks = b->a.n / BLOCK ? b->a.n / BLOCK : 1;

	for (int id = 0; id < NSIDES; id++)
		check(side_open(&sd[id], (enum side_id)id, &b->a), "open", (enum side_id)id);
	for (int f = 0; f < NFIGS; f++) {
		int nsides = f < NPAIRED ? NSIDES : 1;

		for (int id = 0; id < nsides; id++)
			check(time_figure(b, &sd[id], (enum fig_id)f, NULL, WARMUP),
			      fig_names[f], (enum side_id)id);
		for (uint64_t i = 0; i < blocks; i++)
			for (int k = 0; k < nsides; k++) {
				int id = (k + (int)i) % nsides;
				check(time_figure(b, &sd[id], (enum fig_id)f, &b->s[f][id],
						  BLOCK * fig_count[f]),
				      fig_names[f], (enum side_id)id);
			}
	}
	for (int id = 0; id < NSIDES; id++)
		side_end(&sd[id]);
}

/* ---- output ---- */

/* Median, p99 and mean of one set of samples, in microseconds per operation. */
static void stats(struct bench_samples *s, unsigned int per, double out[3])
{
	double sum = 0;

	if (s->count == 0)
		bench_die("no samples", -ENODATA);
	qsort(s->ns, s->count, sizeof(*s->ns), cmp_u64);
	for (uint64_t i = 0; i < s->count; i++)
		sum += (double)s->ns[i];
	out[0] = (double)s->ns[s->count / 2] / 1e3 / per;
	out[1] = (double)s->ns[s->count * 99 / 100] / 1e3 / per;
	out[2] = sum / (double)s->count / 1e3 / per;
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

/* Six significant digits: the runs' noise is far above that. */
static void add_double(struct json_object *o, const char *key, double v)
{
	char text[32];

	snprintf(text, sizeof(text), "%.6g", v);
	json_object_object_add(o, key, json_object_new_double_s(v, text));
}

static void report_header(const struct bench *b)
{
	struct json_object *o = json_object_new_object();
	char id[16];

	snprintf(id, sizeof(id), "%04x:%04x", b->vendor, b->device);
	json_object_object_add(o, "bench", json_object_new_string("proxy"));
	json_object_object_add(o, "mode",
			       json_object_new_string(b->a.socket ? "pair" : "alternating"));
	json_object_object_add(o, "target", json_object_new_string(b->a.target));
	json_object_object_add(o, "device", json_object_new_string(id));
	json_object_object_add(o, "register",
			       json_object_new_int64((int64_t)b->a.offset));
	json_object_object_add(o, "region", json_object_new_int64(b->a.region));
	json_object_object_add(o, "cpu", json_object_new_int64(b->cpu));
	if (!b->a.socket)
		json_object_object_add(o, "rounds", json_object_new_int64(b->a.rounds));
	print_json(o);
}

/* The BAR load's speed ratio of each round: how much the phases drift. */
static void add_round_ratios(const struct bench *b, struct json_object *o)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int r = 0; r < b->a.rounds; r++) {
		char text[32];
		double v = b->bar_round[r][DIRECT] / b->bar_round[r][PROXY];

		snprintf(text, sizeof(text), "%.4g", v);
		json_object_array_add(arr, json_object_new_double_s(v, text));
	}
	json_object_object_add(o, "speed_ratio_rounds", arr);
}

/* A figure timed on the direct side only: its median and p99. */
static void report_single(struct bench *b, enum fig_id f)
{
	struct json_object *o = json_object_new_object();
	double st[3];

	stats(&b->s[f][DIRECT], fig_per[f], st);
	json_object_object_add(o, "figure", json_object_new_string(fig_names[f]));
	json_object_object_add(o, "unit", json_object_new_string("us"));
	json_object_object_add(o, "samples", json_object_new_int64((int64_t)b->s[f][DIRECT].count));
	add_double(o, "median", st[0]);
	add_double(o, "p99", st[1]);
	add_double(o, "mean", st[2]);
	print_json(o);
}

/*
 * One line per figure. ratio is the proxied side's time over the direct
 * side's; for the BAR load, speed_ratio (direct time over proxied time)
 * is what the target is stated in.
 */
static void report_figure(struct bench *b, enum fig_id f)
{
	struct json_object *o;
	double st[NSIDES][3], med[NSIDES];

	if (f >= NPAIRED) {
		report_single(b, f);
		return;
	}
	o = json_object_new_object();
	for (int id = 0; id < NSIDES; id++) {
		stats(&b->s[f][id], fig_per[f], st[id]);
		med[id] = st[id][0];
	}
	json_object_object_add(o, "figure", json_object_new_string(fig_names[f]));
	json_object_object_add(o, "unit", json_object_new_string("us"));
	json_object_object_add(o, "samples", json_object_new_int64((int64_t)b->s[f][DIRECT].count));
	add_double(o, "direct_median", med[DIRECT]);
	add_double(o, "direct_p99", st[DIRECT][1]);
	add_double(o, "direct_mean", st[DIRECT][2]);
	add_double(o, "proxy_median", med[PROXY]);
	add_double(o, "proxy_p99", st[PROXY][1]);
	add_double(o, "proxy_mean", st[PROXY][2]);
	add_double(o, "ratio", med[PROXY] / med[DIRECT]);
	if (b->proxy_ops[f]) {
		/* Tick-sampled: a mean over the whole figure, not per operation. */
		add_double(o, "proxy_user_us", b->proxy_cpu[f][0] * 1e6 / (double)b->proxy_ops[f]);
		add_double(o, "proxy_sys_us", b->proxy_cpu[f][1] * 1e6 / (double)b->proxy_ops[f]);
	}
	if (f == FIG_BAR) {
		double speed = med[DIRECT] / med[PROXY];

		add_double(o, "speed_ratio", speed);
		if (!b->a.socket)
			add_round_ratios(b, o);
		json_object_object_add(o, "target", json_object_new_string("speed_ratio >= 0.95"));
		json_object_object_add(o, "verdict",
				       json_object_new_string(speed >= 0.95 ? "met" : "MISSED"));
	}
	print_json(o);
}

/* The device's IDs, read once directly (no proxy may run yet). */
static void read_ids(struct bench *b)
{
	struct vfk_client *c;
	uint32_t id = 0;
	const char *t = b->a.socket ? b->a.socket : b->a.target;

	check(open_client(t, &c), "open", b->a.socket ? PROXY : DIRECT);
	ssize_t r = vfk_client_config_read(c, 0, &id, 4);
	vfk_client_close(c);
	if (r != 4)
		bench_die("config read of the IDs", r < 0 ? (int)r : -EIO);
	b->vendor = (uint16_t)id;
	b->device = (uint16_t)(id >> 16);
}

/*
 * Everything on one CPU (the bench, the proxies it forks, the floor's
 * peer): proxied and direct then share the CPU alike, as in the guest,
 * which has one.
 */
static void setup(struct bench *b)
{
	b->cpu = b->a.cpu >= 0 ? b->a.cpu : sched_getcpu();
	if (b->cpu < 0)
		bench_die("sched_getcpu", -errno);
	bench_pin(b->cpu);
	b->floor_sock = bench_floor_start(b->cpu, &b->floor_pid);
	b->memfd = memfd_create("bench-proxy-dma", MFD_CLOEXEC);
	if (b->memfd < 0 || ftruncate(b->memfd, DMA_LEN) < 0)
		bench_die("memfd", -errno);
	b->page = mmap(NULL, DMA_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	if (b->page == MAP_FAILED)
		bench_die("mmap of the memfd", -errno);
	for (int f = 0; f < NFIGS; f++)
		for (int id = 0; id < NSIDES; id++)
			bench_samples_init(&b->s[f][id], (b->a.n + BLOCK) * fig_count[f]);
}

static void teardown(struct bench *b)
{
	for (int f = 0; f < NFIGS; f++)
		for (int id = 0; id < NSIDES; id++)
			bench_samples_free(&b->s[f][id]);
	munmap(b->page, DMA_LEN);
	close(b->memfd);
	bench_floor_stop(b->floor_sock, b->floor_pid);
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };

	parse_args(argc, argv, &b.a);
	/* A proxy that dies mid-write must not kill the bench with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	setup(&b);
	read_ids(&b);
	report_header(&b);
	if (b.a.socket)
		run_pair(&b);
	else
		run_alternating(&b);
	for (int f = 0; f < NFIGS; f++)
		report_figure(&b, (enum fig_id)f);
	teardown(&b);
	return 0;
}
