/* SPDX-License-Identifier: MIT */
/*
 * vfiokit's vfio-user server measured with raw messages (struct layouts of
 * src/vfio-user/protocol.h) against the floor: each exchange is timed in
 * turns (bench_time_in_turns) with the same request and reply sizes sent
 * to the raw echo peers of floor.c (blocking, and waiting in epoll_wait as
 * the server does), pinned the same way, with the same client system calls.
 * Also: posted writes, server CPU per request, DMA map/unmap as live
 * mappings grow, server memory, and loads/stores through the client API's
 * mmap of the V100 GPU RAM region.
 */
#include "clocked_server.h"
#include "floor.h"
#include "harness.h"
#include "memcpy_bw.h"
#include "server_child.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <vfiokit/client.h>

#include "v100.h"
#include "vfio-user/protocol.h"

#define MSG_CAP (VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + (1u << 20) + 64)
#define GPU_RAM_INDEX VFIO_PCI_NUM_REGIONS       /* the V100's one extra region */
#define ATSD_INDEX VFIO_PCI_NUM_REGIONS
#define PAGE 4096u
#define PROBE_BASE (1ull << 44)
#define FILL_WINDOW 32
#define CLOCKED_RUNS 3     /* windows of the syscall_clock figure; the median is reported */
#define POLL_US 1000       /* the polling server's window (serve --poll-us) */
/* How late the late fds peer replies: about the DMA table's work on one
 * pair at 1M live mappings, timed inside the server (0.8-0.9 us; the probe
 * IOVAs sit above the filled ones, so the walks take the tree's rightmost
 * path), the work the server does on the pair that no floor peer does. */
#define FDS_LATE_NS 1000
#define DMA_FLOORS 4

static uint8_t *req, *rep;
static uint16_t next_id;

static const uint64_t live_counts[] = { 1, 1000, 10000, 100000, 1000000 };
static const size_t bulk_sizes[] = { 4096, 65536, 1u << 20 };

static size_t put_hdr(uint8_t *buf, uint16_t cmd, size_t len, uint32_t flags)
{
	struct vfu_hdr h = { .msg_id = next_id++, .command = cmd,
			     .msg_size = (uint32_t)len, .flags = flags };
	memcpy(buf, &h, sizeof(h));
	return len;
}

static size_t put_rw(uint8_t *buf, uint16_t cmd, uint32_t region, uint64_t off,
		     uint32_t count, bool with_data, uint32_t flags)
{
	struct vfu_region_rw rw = { .offset = off, .region = region, .count = count };
	memcpy(buf + VFU_HDR_SIZE, &rw, sizeof(rw));
	return put_hdr(buf, cmd, VFU_HDR_SIZE + sizeof(rw) + (with_data ? count : 0), flags);
}

/* One exchange that must succeed; returns the reply size. */
static size_t exchange(int sock, size_t len, int pass_fd, const char *what)
{
	int fd = -1;
	long n = bench_roundtrip(sock, req, len, pass_fd, rep, MSG_CAP, &fd);
	struct vfu_hdr h;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		bench_die(what, (int)n);
	memcpy(&h, rep, sizeof(h));
	if (h.flags & VFU_F_ERROR)
		bench_die(what, -(int)h.error);
	return (size_t)n;
}

static void handshake(int sock)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8,"
		"\"max_data_xfer_size\":1048576,\"max_dma_maps\":1048576}}";
	struct vfu_version v = { VFU_VERSION_MAJOR, VFU_VERSION_MINOR };

	memcpy(req + VFU_HDR_SIZE, &v, sizeof(v));
	memcpy(req + VFU_HDR_SIZE + sizeof(v), json, sizeof(json));
	exchange(sock, put_hdr(req, VFU_CMD_VERSION, VFU_HDR_SIZE + sizeof(v) + sizeof(json), 0),
		 -1, "VERSION");
}

/* A floor a figure is timed in turns with, beside its plain one: reported
 * as floor.<prefix><name><suffix>. */
struct floor_spec {
	const char *prefix, *suffix;
	int sock;                       /* the peer: plain or epoll echo */
	enum bench_floor_reply reply;
};

#define MAX_EXTRA_FLOORS 2

/* The server's turn: the request in req, whose reply must be reply_len bytes. */
struct proto_exchange {
	int sock, pass_fd;
	size_t len, reply_len;
};

static long proto_once(void *arg)
{
	const struct proto_exchange *p = arg;
	int fd = -1;
	long r = bench_roundtrip(p->sock, req, p->len, p->pass_fd, rep, MSG_CAP, &fd);

	if (fd >= 0)
		close(fd);
	return r >= 0 && (size_t)r != p->reply_len ? -EPROTO : r;
}

/*
 * Time the request now in req (len bytes) on sock in turns with its floor
 * (the echo peer on floor_sock answering the same sizes) and with the
 * n_extra floors of extra; report floor.<name>, proto.<name> and each
 * extra floor. us (when not NULL) gets the medians in us: the server's,
 * the floor's, then extra's in order. Returns the server's median.
 */
static double measure(const char *name, int sock, int floor_sock, size_t len, int pass_fd,
		      uint64_t iters, const struct floor_spec *extra, size_t n_extra, double *us)
{
	char ids[2 + MAX_EXTRA_FLOORS][96];
	struct bench_turn turns[2 + MAX_EXTRA_FLOORS];
	struct bench_floor_exchange *floors[1 + MAX_EXTRA_FLOORS] = { NULL };
	int fd = -1;

	if (n_extra > MAX_EXTRA_FLOORS)
		bench_die(name, -E2BIG);
	long n = bench_roundtrip(sock, req, len, pass_fd, rep, MSG_CAP, &fd);
	if (n < 0)
		bench_die(name, (int)n);
	struct proto_exchange px = { .sock = sock, .pass_fd = pass_fd, .len = len,
				     .reply_len = (size_t)n };
	floors[0] = bench_floor_exchange_new(floor_sock, len, (size_t)n, pass_fd,
					     fd >= 0 ? BENCH_FLOOR_REPLY_FD :
						       BENCH_FLOOR_REPLY_PLAIN);
	if (fd >= 0)
		close(fd);
	snprintf(ids[0], sizeof(ids[0]), "floor.%s", name);
	snprintf(ids[1], sizeof(ids[1]), "proto.%s", name);
	turns[0] = (struct bench_turn){ .id = ids[0], .exchange = bench_floor_exchange_once,
					.arg = floors[0] };
	turns[1] = (struct bench_turn){ .id = ids[1], .exchange = proto_once, .arg = &px };
	for (size_t i = 0; i < n_extra; i++) {
		floors[1 + i] = bench_floor_exchange_new(extra[i].sock, len, (size_t)n, pass_fd,
							 extra[i].reply);
		snprintf(ids[2 + i], sizeof(ids[2 + i]), "floor.%s%s%s", extra[i].prefix, name,
			 extra[i].suffix);
		turns[2 + i] = (struct bench_turn){ .id = ids[2 + i],
						    .exchange = bench_floor_exchange_once,
						    .arg = floors[1 + i] };
	}
	for (size_t i = 0; i < 1 + n_extra; i++)
		if (!floors[i])
			bench_die(name, -EINVAL);
	bench_time_in_turns(turns, 2 + n_extra, iters);
	for (size_t i = 0; i < 1 + n_extra; i++)
		bench_floor_exchange_free(floors[i]);
	if (us) {
		us[0] = turns[1].median_us;
		us[1] = turns[0].median_us;
		for (size_t i = 0; i < n_extra; i++)
			us[2 + i] = turns[2 + i].median_us;
	}
	return turns[1].median_us;
}

static void small_exchanges(int gpu, int npu, int floor_sock, int epoll_sock, uint64_t iters)
{
	/* The floor of an epoll loop: the echo peer waiting in epoll_wait
	 * before each read, as the server does (run.py compares proto.<name>
	 * with it as proto.<name>_vs_epoll_peer). */
	const struct floor_spec epoll = { "epoll_", "", epoll_sock, BENCH_FLOOR_REPLY_PLAIN };
	uint32_t v = 0x12345678;
	size_t len;

	len = put_rw(req, VFU_CMD_REGION_READ, VFIO_PCI_BAR0_REGION_INDEX,
		     VFK_V100_REG_SCRATCH, 4, false, 0);
	measure("region_read4", gpu, floor_sock, len, -1, iters, &epoll, 1, NULL);

	len = put_rw(req, VFU_CMD_REGION_WRITE, VFIO_PCI_BAR0_REGION_INDEX,
		     VFK_V100_REG_SCRATCH, 4, true, 0);
	memcpy(req + VFU_HDR_SIZE + sizeof(struct vfu_region_rw), &v, 4);
	measure("region_write4", gpu, floor_sock, len, -1, iters, &epoll, 1, NULL);

	len = put_rw(req, VFU_CMD_REGION_READ, VFIO_PCI_CONFIG_REGION_INDEX, 0, 4, false, 0);
	measure("config_read4", gpu, floor_sock, len, -1, iters, NULL, 0, NULL);

	/* Eight 4-byte writes to the scratch register in one message. */
	struct vfu_write_multi wm = { .wr_cnt = 8 };
	struct vfu_write_one one = { .offset = VFK_V100_REG_SCRATCH,
				     .region = VFIO_PCI_BAR0_REGION_INDEX, .count = 4 };
	memcpy(one.data, &v, 4);
	memcpy(req + VFU_HDR_SIZE, &wm, sizeof(wm));
	for (unsigned int i = 0; i < wm.wr_cnt; i++)
		memcpy(req + VFU_HDR_SIZE + sizeof(wm) + i * sizeof(one), &one, sizeof(one));
	len = put_hdr(req, VFU_CMD_REGION_WRITE_MULTI,
		      VFU_HDR_SIZE + sizeof(wm) + wm.wr_cnt * sizeof(one), 0);
	measure("write_multi8", gpu, floor_sock, len, -1, iters, NULL, 0, NULL);

	struct vfio_region_info ri = { .argsz = 512, .index = GPU_RAM_INDEX };
	memcpy(req + VFU_HDR_SIZE, &ri, sizeof(ri));
	len = put_hdr(req, VFU_CMD_DEVICE_GET_REGION_INFO, VFU_HDR_SIZE + sizeof(ri), 0);
	measure("region_info_gpu_ram", gpu, floor_sock, len, -1, iters / 2 + 1, NULL, 0, NULL);

	ri.index = ATSD_INDEX;
	memcpy(req + VFU_HDR_SIZE, &ri, sizeof(ri));
	len = put_hdr(req, VFU_CMD_DEVICE_GET_REGION_INFO, VFU_HDR_SIZE + sizeof(ri), 0);
	measure("region_info_atsd", npu, floor_sock, len, -1, iters / 2 + 1, NULL, 0, NULL);
}

static void report_gbps(const char *area, const char *name, size_t bytes, double us)
{
	char id[128];

	snprintf(id, sizeof(id), "%s.%s_gbps", area, name);
	bench_report_value(id, (double)bytes / (us * 1e3), "GB/s");
}

/*
 * Large reads and writes, each timed in turns with its floors: reads with
 * the plain floor (a never-written reply: the zero page), the floor that
 * sends written memory as the server does (floor.region_read<size>_written)
 * and the same from the epoll peer; writes with the floor, the epoll peer
 * and the epoll peer that receives a large write in two parts as the
 * server does (floor.epoll_split_region_write<size>). Also in GB/s.
 */
static void bulk(int gpu, int floor_sock, int epoll_sock, int split_sock, uint64_t iters)
{
	const struct floor_spec read_floors[] = {
		{ "", "_written", floor_sock, BENCH_FLOOR_REPLY_WRITTEN },
		{ "epoll_", "_written", epoll_sock, BENCH_FLOOR_REPLY_WRITTEN },
	};
	const struct floor_spec write_floors[] = {
		{ "epoll_", "", epoll_sock, BENCH_FLOOR_REPLY_PLAIN },
		{ "epoll_split_", "", split_sock, BENCH_FLOOR_REPLY_PLAIN },
	};
	char name[64], id[96];
	double us[4];
	size_t last = sizeof(bulk_sizes) / sizeof(bulk_sizes[0]) - 1;

	/* Read memory that was written, as a driver does: never-written GPU
	 * RAM is a hole the server reads as zeros with pread (no direct send). */
	exchange(gpu, put_rw(req, VFU_CMD_REGION_WRITE, GPU_RAM_INDEX, 0,
			     (uint32_t)bulk_sizes[last], true, 0), -1, "GPU RAM fill");
	for (size_t i = 0; i < sizeof(bulk_sizes) / sizeof(bulk_sizes[0]); i++) {
		size_t sz = bulk_sizes[i];
		uint64_t n = iters * 4096 / sz / 4;
		n = n < 20 ? 20 : n;
		size_t len = put_rw(req, VFU_CMD_REGION_READ, GPU_RAM_INDEX, 0, (uint32_t)sz,
				    false, 0);
		snprintf(name, sizeof(name), "region_read%zu", sz);
		measure(name, gpu, floor_sock, len, -1, n, read_floors, 2, us);
		report_gbps("proto", name, sz, us[0]);
		report_gbps("floor", name, sz, us[1]);
		snprintf(id, sizeof(id), "%s_written", name);
		report_gbps("floor", id, sz, us[2]);
		snprintf(id, sizeof(id), "epoll_%s_written", name);
		report_gbps("floor", id, sz, us[3]);

		len = put_rw(req, VFU_CMD_REGION_WRITE, GPU_RAM_INDEX, 0, (uint32_t)sz, true, 0);
		snprintf(name, sizeof(name), "region_write%zu", sz);
		measure(name, gpu, floor_sock, len, -1, n, write_floors, 2, us);
		report_gbps("proto", name, sz, us[0]);
		report_gbps("floor", name, sz, us[1]);
		snprintf(id, sizeof(id), "epoll_%s", name);
		report_gbps("floor", id, sz, us[2]);
		snprintf(id, sizeof(id), "epoll_split_%s", name);
		report_gbps("floor", id, sz, us[3]);
	}
}

/* Nanoseconds for count posted 4-byte writes, batch per write(), and the
 * read that proves them done. */
static uint64_t posted_ns(const char *id, int gpu, unsigned int batch, uint64_t count)
{
	size_t one = put_rw(req, VFU_CMD_REGION_WRITE, VFIO_PCI_BAR0_REGION_INDEX,
			    VFK_V100_REG_SCRATCH, 4, true, VFU_F_NO_REPLY);
	for (unsigned int i = 1; i < batch; i++)
		memcpy(req + i * one, req, one);
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < count; i += batch) {
		int rc = bench_send(gpu, req, one * batch, -1);
		if (rc < 0)
			bench_die(id, rc);
	}
	size_t len = put_rw(req, VFU_CMD_REGION_READ, VFIO_PCI_BAR0_REGION_INDEX,
			    VFK_V100_REG_SCRATCH, 4, false, 0);
	exchange(gpu, len, -1, id);
	return bench_now_ns() - t0;
}

static void report_rate(const char *id, uint64_t count, uint64_t ns)
{
	bench_report_value(id, (double)count * 1e9 / (double)ns, "ops/s");
}

/*
 * Posted writes, one per write(), timed in turns (BENCH_TURN_SLICES
 * rounds) against the floor and an epoll peer, whose socket is in an epoll
 * set as the server's is (floor.epoll_posted4); then 64 per write().
 */
static void posted_writes(int gpu, int floor_sock, int epoll_sock, uint64_t count)
{
	size_t one = VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + 4;
	uint64_t slice = count / BENCH_TURN_SLICES + 1, ns[3] = { 0, 0, 0 };

	for (unsigned int k = 0; k < BENCH_TURN_SLICES; k++) {
		ns[0] += bench_floor_posted_ns("floor.posted4", floor_sock, one, 1, slice);
		ns[1] += posted_ns("proto.posted4", gpu, 1, slice);
		ns[2] += bench_floor_posted_ns("floor.epoll_posted4", epoll_sock, one, 1, slice);
	}
	report_rate("floor.posted4", slice * BENCH_TURN_SLICES, ns[0]);
	report_rate("proto.posted4", slice * BENCH_TURN_SLICES, ns[1]);
	report_rate("floor.epoll_posted4", slice * BENCH_TURN_SLICES, ns[2]);
	bench_floor_posted("floor.posted4_batch64", floor_sock, one, 64, count * 4);
	uint64_t batched = (count * 4 + 63) / 64 * 64;
	report_rate("proto.posted4_batch64", batched, posted_ns("proto.posted4_batch64", gpu, 64,
								   count * 4));
}

static void server_cpu(const struct bench_server *srv, int gpu, uint64_t count)
{
	double u0, s0, u1, s1;
	size_t len = put_rw(req, VFU_CMD_REGION_READ, VFIO_PCI_BAR0_REGION_INDEX,
			    VFK_V100_REG_SCRATCH, 4, false, 0);

	bench_server_cpu(srv, &u0, &s0);
	for (uint64_t i = 0; i < count; i++)
		exchange(gpu, len, -1, "REGION_READ (cpu)");
	bench_server_cpu(srv, &u1, &s1);
	/* Tick-sampled by the kernel: a share of 250 Hz samples, not a sum. */
	bench_report_value("proto.server_user_us_per_read4_ticks",
			   (u1 - u0) * 1e6 / (double)count, "us");
	bench_report_value("proto.server_sys_us_per_read4_ticks",
			   (s1 - s0) * 1e6 / (double)count, "us");
}

/* Server CPU seconds (user + system, tick-sampled) so far. */
static double server_cpu_s(const struct bench_server *srv)
{
	double u, st;

	bench_server_cpu(srv, &u, &st);
	return u + st;
}

/*
 * A server polling for POLL_US (serve --poll-us) against the blocking
 * floor (timed just before, same sizes; and the floor of polling itself,
 * a raw echo peer that polls): the 4-byte round trip, the server's
 * CPU per request (user + system, tick-sampled), and its CPU use over one
 * idle second after the last request (percent of a core: the window ends,
 * then it sleeps).
 */
static void polling(int cpu, int floor_sock, uint64_t iters)
{
	struct bench_server srv;
	size_t len;

	bench_server_start_polling(&srv, cpu, POLL_US);
	int sock = bench_connect(srv.gpu_path);
	handshake(sock);
	len = put_rw(req, VFU_CMD_REGION_READ, VFIO_PCI_BAR0_REGION_INDEX,
		     VFK_V100_REG_SCRATCH, 4, false, 0);
	size_t reply = exchange(sock, len, -1, "REGION_READ (polling)");
	pid_t spin_pid;
	int spin_sock = bench_floor_start_polling(cpu, POLL_US, &spin_pid);
	struct bench_floor_exchange *blocking =
		bench_floor_exchange_new(floor_sock, len, reply, -1, BENCH_FLOOR_REPLY_PLAIN);
	/* The bound of the mechanism: a raw echo peer that polls too. */
	struct bench_floor_exchange *spinning =
		bench_floor_exchange_new(spin_sock, len, reply, -1, BENCH_FLOOR_REPLY_PLAIN);
	struct proto_exchange px = { .sock = sock, .pass_fd = -1, .len = len, .reply_len = reply };
	struct bench_turn turns[] = {
		{ .id = "floor.poll_region_read4", .exchange = bench_floor_exchange_once, .arg = blocking },
		{ .id = "floor.polling_peer_region_read4", .exchange = bench_floor_exchange_once,
		  .arg = spinning },
		{ .id = "proto.poll_region_read4", .exchange = proto_once, .arg = &px },
	};

	if (!blocking || !spinning)
		bench_die("polling floors", -EINVAL);
	bench_time_in_turns(turns, sizeof(turns) / sizeof(turns[0]), iters);
	bench_floor_exchange_free(blocking);
	bench_floor_exchange_free(spinning);
	bench_floor_stop(spin_sock, spin_pid);

	/* CPU apart from the timing, which left the server idle between turns. */
	double c0 = server_cpu_s(&srv);
	uint64_t w0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++)
		exchange(sock, len, -1, "REGION_READ (polling)");
	uint64_t w1 = bench_now_ns();
	double c1 = server_cpu_s(&srv);
	bench_report_value("proto.poll_server_cpu_us_per_read4", (c1 - c0) * 1e6 / (double)iters,
			   "us");
	bench_report_value("proto.poll_server_cpu_pct_busy",
			   (c1 - c0) * 1e11 / (double)(w1 - w0), "%");
	sleep(1);
	c0 = server_cpu_s(&srv);
	w0 = bench_now_ns();
	sleep(1);
	c1 = server_cpu_s(&srv);
	w1 = bench_now_ns();
	bench_report_value("proto.poll_server_cpu_pct_idle", (c1 - c0) * 1e11 / (double)(w1 - w0),
			   "%");
	close(sock);
	bench_server_stop(&srv);
}

/* One measured window of the clocked server: b - a over count reads. */
struct clock_window {
	double user_us;          /* user time per read, shim overhead subtracted */
	double call_us;          /* time inside non-waiting calls per read */
	double calls;            /* wrapped calls per read */
};

static struct clock_window clock_window(const struct syscall_clock_totals *a,
					const struct syscall_clock_totals *b,
					uint64_t count, uint64_t *hist)
{
	uint64_t calls = b->calls - a->calls, cycles = b->cycles - a->cycles;
	double overhead_ns = (double)b->overhead_ps / 1e3, clock_ns = (double)b->clock_ps / 1e3;
	struct clock_window w;

	w.user_us = ((double)(b->user_ns - a->user_ns) - (double)calls * overhead_ns) /
		    (double)count / 1e3;
	/* Each non-waiting call's interval holds about one clock_gettime. */
	w.call_us = ((double)(b->call_ns - a->call_ns) - (double)(calls - cycles) * clock_ns) /
		    (double)count / 1e3;
	w.calls = (double)calls / (double)count;
	for (unsigned int i = 0; i < SYSCALL_CLOCK_BUCKETS; i++)
		hist[i] += b->cycle_user[i] - a->cycle_user[i];
	return w;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* The bucket holding the q-quantile of hist's n entries, in ns (bucket middle). */
static double hist_quantile_ns(const uint64_t *hist, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * (double)(n - 1)), seen = 0;

	for (unsigned int i = 0; i < SYSCALL_CLOCK_BUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return ((double)i + 0.5) * SYSCALL_CLOCK_BUCKET_NS;
	}
	return (double)SYSCALL_CLOCK_BUCKETS * SYSCALL_CLOCK_BUCKET_NS;
}

/* The shim's windows over one clocked process: what they measured. */
struct clocked_result {
	double user_us, call_us, calls;     /* medians of the windows */
	double each_us, each_p99_us;        /* per cycle (request), from the histogram */
	struct syscall_clock_totals last;   /* the last snapshot (shim constants) */
};

/*
 * CLOCKED_RUNS windows of count calls of once(arg) (one 4-byte read each)
 * against the clocked process cs, after a warm-up. -ENODATA when the shim
 * reported nothing.
 */
static int clocked_windows(const struct clocked_server *cs, long (*once)(void *), void *arg,
			   uint64_t count, struct clocked_result *res)
{
	static uint64_t hist[SYSCALL_CLOCK_BUCKETS];
	struct syscall_clock_totals *t = calloc(2, sizeof(*t));
	struct clock_window w[CLOCKED_RUNS];
	double user[CLOCKED_RUNS], call[CLOCKED_RUNS], calls[CLOCKED_RUNS];
	uint64_t cycles = 0, cycle_calls = 0;
	int rc = 0;

	if (!t)
		bench_die("calloc", -ENOMEM);
	memset(hist, 0, sizeof(hist));
	for (uint64_t i = 0; i < count / 10 + 1; i++)
		if (once(arg) < 0)
			bench_die("REGION_READ (clock warm-up)", -EPROTO);
	for (int r = 0; r < CLOCKED_RUNS && rc == 0; r++) {
		rc = clocked_server_totals(cs, &t[0]);
		for (uint64_t i = 0; i < count && rc == 0; i++)
			if (once(arg) < 0)
				bench_die("REGION_READ (clock)", -EPROTO);
		if (rc == 0)
			rc = clocked_server_totals(cs, &t[1]);
		if (rc == 0) {
			w[r] = clock_window(&t[0], &t[1], count, hist);
			cycles += t[1].cycles - t[0].cycles;
			cycle_calls += t[1].cycle_calls - t[0].cycle_calls;
		}
	}
	if (rc < 0 || cycles == 0) {
		free(t);
		return -ENODATA;
	}
	for (int r = 0; r < CLOCKED_RUNS; r++) {
		user[r] = w[r].user_us;
		call[r] = w[r].call_us;
		calls[r] = w[r].calls;
	}
	qsort(user, CLOCKED_RUNS, sizeof(double), cmp_double);
	qsort(call, CLOCKED_RUNS, sizeof(double), cmp_double);
	qsort(calls, CLOCKED_RUNS, sizeof(double), cmp_double);
	res->user_us = user[CLOCKED_RUNS / 2];
	res->call_us = call[CLOCKED_RUNS / 2];
	res->calls = calls[CLOCKED_RUNS / 2];
	/* Per request (one cycle between two waits): the shim's overhead for
	 * the cycle's calls taken off the bucket's middle. */
	double cycle_overhead_ns = (double)cycle_calls / (double)cycles * (double)t[1].overhead_ps / 1e3;
	res->each_us = (hist_quantile_ns(hist, cycles, 0.5) - cycle_overhead_ns) / 1e3;
	res->each_p99_us = (hist_quantile_ns(hist, cycles, 0.99) - cycle_overhead_ns) / 1e3;
	res->last = t[1];
	free(t);
	return 0;
}

/*
 * Server user time per 4-byte read measured between system calls, by the
 * syscall_clock shim preloaded into an exec'd `vfiokit serve v100`, and
 * the same for the epoll echo peer (bench/echo_peer) answering the same
 * sizes: the floor of user time between system calls on this machine (the
 * time a loop of epoll_wait, recvmsg and send spends in user mode with no
 * work, e.g. refilling what each kernel entry flushed).
 */
static void server_user_clocked(int cpu, uint64_t count)
{
	struct clocked_server cs, ps;
	struct clocked_result srv, peer;

	int sock = clocked_server_start(&cs, cpu);
	handshake(sock);
	size_t len = put_rw(req, VFU_CMD_REGION_READ, VFIO_PCI_BAR0_REGION_INDEX,
			    VFK_V100_REG_SCRATCH, 4, false, 0);
	long reply = bench_roundtrip(sock, req, len, -1, rep, MSG_CAP, NULL);
	if (reply < 0)
		bench_die("REGION_READ (clock)", (int)reply);
	struct proto_exchange px = { .sock = sock, .pass_fd = -1, .len = len,
				     .reply_len = (size_t)reply };
	int rc = clocked_windows(&cs, proto_once, &px, count, &srv);
	close(sock);
	clocked_server_stop(&cs);

	int peer_sock = clocked_echo_peer_start(&ps, cpu);
	struct bench_floor_exchange *x = bench_floor_exchange_new(peer_sock, len, (size_t)reply,
								  -1, BENCH_FLOOR_REPLY_PLAIN);
	if (!x)
		bench_die("echo peer exchange", -EINVAL);
	int peer_rc = clocked_windows(&ps, bench_floor_exchange_once, x, count, &peer);
	bench_floor_exchange_free(x);
	clocked_echo_peer_stop(&ps, peer_sock);
	if (rc < 0 || peer_rc < 0) {
		fprintf(stderr, "bench_proto: the syscall_clock shim reported nothing, "
			"no between-syscalls figures\n");
		return;
	}
	bench_report_value("proto.server_user_us_per_read4_syscall_clock", srv.user_us, "us");
	printf("R proto.server_user_us_per_read4_syscall_clock_each %.4f %.4f us\n",
	       srv.each_us, srv.each_p99_us);
	bench_report_value("floor.server_user_us_per_read4_syscall_clock", peer.user_us, "us");
	printf("R floor.server_user_us_per_read4_syscall_clock_each %.4f %.4f us\n",
	       peer.each_us, peer.each_p99_us);
	fflush(stdout);
	bench_report_value("proto.server_in_syscalls_us_per_read4_syscall_clock", srv.call_us,
			   "us");
	bench_report_value("proto.server_syscalls_per_read4", srv.calls, "calls");
	bench_report_value("floor.server_syscalls_per_read4", peer.calls, "calls");
	bench_report_value("clock.clock_gettime_ns", (double)srv.last.clock_ps / 1e3, "ns");
	bench_report_value("clock.shim_user_overhead_ns_per_call",
			   (double)srv.last.overhead_ps / 1e3, "ns");
}

static size_t put_map(uint8_t *buf, uint64_t iova, uint64_t fd_off, bool with_fd)
{
	struct vfu_dma_map m = { .argsz = sizeof(m),
				 .flags = VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE,
				 .offset = with_fd ? fd_off : 0, .address = iova, .size = PAGE };
	memcpy(buf + VFU_HDR_SIZE, &m, sizeof(m));
	return put_hdr(buf, VFU_CMD_DMA_MAP, VFU_HDR_SIZE + sizeof(m), 0);
}

static size_t put_unmap(uint8_t *buf, uint64_t iova)
{
	struct vfu_dma_unmap u = { .argsz = sizeof(u), .address = iova, .size = PAGE };
	memcpy(buf + VFU_HDR_SIZE, &u, sizeof(u));
	return put_hdr(buf, VFU_CMD_DMA_UNMAP, VFU_HDR_SIZE + sizeof(u), 0);
}

/* Map pages [*live, target) of memfd, FILL_WINDOW requests in flight. */
static void fill(int gpu, int memfd, uint64_t *live, uint64_t target)
{
	while (*live < target) {
		uint64_t k = target - *live < FILL_WINDOW ? target - *live : FILL_WINDOW;
		for (uint64_t i = 0; i < k; i++) {
			size_t len = put_map(req, (*live + i) * PAGE, (*live + i) * PAGE, true);
			int rc = bench_send(gpu, req, len, memfd);
			if (rc < 0)
				bench_die("DMA_MAP (fill)", rc);
		}
		for (uint64_t i = 0; i < k; i++) {
			long n = bench_recv_msg(gpu, rep, VFU_HDR_SIZE, NULL);
			struct vfu_hdr h;
			memcpy(&h, rep, sizeof(h));
			if (n < 0 || (h.flags & VFU_F_ERROR))
				bench_die("DMA_MAP (fill)", n < 0 ? (int)n : -(int)h.error);
		}
		*live += k;
	}
}

/* A page-aligned IOVA above the filled ones, drawn by xorshift. */
static uint64_t probe_iova(uint64_t *seed)
{
	*seed ^= *seed << 13;
	*seed ^= *seed >> 7;
	*seed ^= *seed << 17;
	return PROBE_BASE + (*seed % (1u << 20)) * PAGE;
}

/* Serial pairs: DMA_MAP, wait for its reply, DMA_UNMAP, wait for its reply. */
static void map_unmap_pairs(const char *id, int gpu, int memfd, uint64_t iters)
{
	struct bench_samples s;
	uint64_t seed = 88172645463325252ull;

	bench_samples_init(&s, iters);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t iova = probe_iova(&seed);
		uint64_t t0 = bench_now_ns();
		exchange(gpu, put_map(req, iova, 0, memfd >= 0), memfd, id);
		exchange(gpu, put_unmap(req, iova), -1, id);
		bench_samples_add(&s, bench_now_ns() - t0);
	}
	bench_report_latency(id, &s, 1);
	bench_samples_free(&s);
}

/* Both replies of a pipelined pair must be plain successes. */
static void check_pair_replies(const char *id, long n)
{
	struct vfu_hdr h;

	if (n < 0)
		bench_die(id, (int)n);
	for (long off = 0; off < n; off += h.msg_size) {
		memcpy(&h, rep + off, sizeof(h));
		if (h.flags & VFU_F_ERROR)
			bench_die(id, -(int)h.error);
	}
}

/* The server's turn of the pipelined pair, as QEMU sends it inside a
 * memory transaction: DMA_MAP of a page of memfd at a random probe IOVA
 * and its DMA_UNMAP written back to back, then both replies read. */
struct pipelined_exchange {
	const char *id;
	int gpu, memfd;
	uint64_t seed;
};

static long pipelined_once(void *arg)
{
	struct pipelined_exchange *x = arg;
	uint8_t *unmap = req + MSG_CAP;
	uint64_t iova = probe_iova(&x->seed);
	size_t map_len = put_map(req, iova, 0, true), unmap_len = put_unmap(unmap, iova);
	long n = bench_pipelined_pair(x->gpu, req, map_len, x->memfd, unmap, unmap_len, rep,
				      MSG_CAP);

	check_pair_replies(x->id, n);
	return n;
}

/*
 * The pipelined pair as id, and its floors timed in turns with it: the
 * blocking echo peer (floor.<name>), the one that waits in epoll_wait as
 * the server does (floor.epoll_<name>), and the one that also makes the
 * server's system calls for the fd and answers the pair in one send
 * (floor.epoll_fds_<name>; bench_floor_start_epoll_fds()), and that
 * peer replying FDS_LATE_NS later (floor.epoll_fds_late_<name>): a
 * figure and a floor timed minutes apart on this shared VM differ by tens
 * of percent for no reason of their own (the pair at 1M mappings, timed
 * after a long fill, read 1.4-2 x a floor timed before it, and 0.8-1.2 x
 * an empty table's pair timed in turn with it).
 */
static void map_unmap_pipelined(const char *id, int gpu, const int floor_socks[DMA_FLOORS],
				int memfd, uint64_t iters)
{
	size_t map_len = put_map(req, 0, 0, true), unmap_len = put_unmap(req, 0);
	size_t unmap_reply = VFU_HDR_SIZE + sizeof(struct vfu_dma_unmap);
	struct pipelined_exchange px = { id, gpu, memfd, 88172645463325252ull };
	struct bench_floor_pair *floors[DMA_FLOORS];
	const char *name = id + strlen("proto.");
	static const char *const prefixes[DMA_FLOORS] = { "", "epoll_", "epoll_fds_",
							  "epoll_fds_late_" };
	char floor_ids[DMA_FLOORS][96];
	struct bench_turn turns[DMA_FLOORS + 1];

	for (int i = 0; i < DMA_FLOORS; i++) {
		floors[i] = bench_floor_pair_new(floor_socks[i], map_len, VFU_HDR_SIZE, memfd,
						 unmap_len, unmap_reply);
		if (!floors[i])
			bench_die(id, -ENOMEM);
		snprintf(floor_ids[i], sizeof(floor_ids[i]), "floor.%s%s", prefixes[i], name);
		turns[i] = (struct bench_turn){ .id = floor_ids[i],
						.exchange = bench_floor_pair_once,
						.arg = floors[i] };
	}
	turns[DMA_FLOORS] = (struct bench_turn){ .id = id, .exchange = pipelined_once,
						 .arg = &px };
	bench_time_in_turns(turns, DMA_FLOORS + 1, iters);
	for (int i = 0; i < DMA_FLOORS; i++)
		bench_floor_pair_free(floors[i]);
}

/* The serial pair's floor: DMA_MAP with its fd, then DMA_UNMAP, each awaited. */
static void dma_floors(int floor_sock, int memfd, uint64_t iters)
{
	size_t map_len = put_map(req, 0, 0, true), unmap_len = put_unmap(req, 0);
	size_t unmap_reply = VFU_HDR_SIZE + sizeof(struct vfu_dma_unmap);
	double f = bench_floor_roundtrip("floor.dma_map_fd", floor_sock, map_len, VFU_HDR_SIZE,
					 memfd, false, iters);

	f += bench_floor_roundtrip("floor.dma_unmap", floor_sock, unmap_len, unmap_reply, -1,
				   false, iters);
	bench_report_value("floor.dma_map_unmap_fd_serial_1", f, "us");
}

static void dma(const struct bench_server *srv, int gpu, const int floor_socks[DMA_FLOORS],
		uint64_t iters, uint64_t max_live)
{
	char id[96];
	uint64_t live = 0;
	int memfd = memfd_create("bench-guest-ram", MFD_CLOEXEC);

	if (memfd < 0 || ftruncate(memfd, (off_t)((max_live + 1) * PAGE)) < 0)
		bench_die("memfd", -errno);
	dma_floors(floor_socks[0], memfd, iters);
	for (size_t i = 0; i < sizeof(live_counts) / sizeof(live_counts[0]); i++) {
		if (live_counts[i] > max_live)
			break;
		fill(gpu, memfd, &live, live_counts[i]);
		snprintf(id, sizeof(id), "proto.dma_map_unmap_fd_serial_%llu",
			 (unsigned long long)live);
		map_unmap_pairs(id, gpu, memfd, iters);
		snprintf(id, sizeof(id), "proto.dma_map_unmap_fd_pipelined_%llu",
			 (unsigned long long)live);
		map_unmap_pipelined(id, gpu, floor_socks, memfd, iters);
		snprintf(id, sizeof(id), "proto.dma_map_unmap_nofd_%llu", (unsigned long long)live);
		map_unmap_pairs(id, gpu, -1, iters);
	}
	/* A file whose only mapping is the pair (a vIOMMU guest's page
	 * mapped and unmapped alone): each pair pays its window's mmap and
	 * munmap. */
	int cold = memfd_create("bench-guest-ram-cold", MFD_CLOEXEC);

	if (cold < 0 || ftruncate(cold, (off_t)(64u << 20)) < 0)
		bench_die("memfd", -errno);
	map_unmap_pipelined("proto.dma_map_unmap_fd_pipelined_alone", gpu, floor_socks, cold,
			    iters);
	close(cold);
	snprintf(id, sizeof(id), "mem.server_rss_%llu_maps_kib", (unsigned long long)live);
	bench_report_value(id, (double)bench_rss_kib(srv->pid), "KiB");
	close(memfd);
}

/* Loads and stores through the client API's mmap of GPU RAM vs plain memcpy. */
static void mmap_access(const char *gpu_path, uint64_t total)
{
	struct vfk_client *c;
	struct vfk_region_info *ri;
	char err[256], id[64];
	size_t max = bulk_sizes[2];

	int rc = vfk_client_open(gpu_path, NULL, &c, err, sizeof(err));
	if (rc < 0)
		bench_die(err, rc);
	rc = vfk_client_region_info(c, GPU_RAM_INDEX, &ri);
	if (rc < 0)
		bench_die("client region info", rc);
	uint8_t *map = vfk_client_region_mmap(c, ri, 0, max, PROT_READ | PROT_WRITE);
	uint8_t *a = malloc(max), *b = malloc(max);
	if (!map || !a || !b)
		bench_die("mmap GPU RAM", -errno);
	memset(a, 1, max);
	memset(b, 2, max);
	memset(map, 3, max);
	for (size_t i = 0; i < sizeof(bulk_sizes) / sizeof(bulk_sizes[0]); i++) {
		size_t sz = bulk_sizes[i];
		snprintf(id, sizeof(id), "floor.load%zu", sz);
		bench_report_value(id, bench_memcpy_gbps(a, b, sz, total), "GB/s");
		snprintf(id, sizeof(id), "mmap.load%zu", sz);
		bench_report_value(id, bench_memcpy_gbps(a, map, sz, total), "GB/s");
		snprintf(id, sizeof(id), "floor.store%zu", sz);
		bench_report_value(id, bench_memcpy_gbps(b, a, sz, total), "GB/s");
		snprintf(id, sizeof(id), "mmap.store%zu", sz);
		bench_report_value(id, bench_memcpy_gbps(map, a, sz, total), "GB/s");
	}
	munmap(map, max);
	free(a);
	free(b);
	vfk_region_info_free(ri);
	vfk_client_close(c);
}

static void memory(int cpu)
{
	struct bench_server srv;

	bench_server_start(&srv, cpu, 0, 0);
	bench_report_value("mem.server_rss_1dev_kib", (double)bench_rss_kib(srv.pid), "KiB");
	bench_server_stop(&srv);
	bench_server_start(&srv, cpu, 0, 63);
	bench_report_value("mem.server_rss_64dev_kib", (double)bench_rss_kib(srv.pid), "KiB");
	bench_server_stop(&srv);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_server srv;
	pid_t floor_pid, epoll_pid, split_pid, fds_pid, late_pid;

	bench_parse_opts(argc, argv, 100000, &o);
	bench_pin(o.client_cpu);
	req = calloc(1, MSG_CAP * 64);
	rep = calloc(1, MSG_CAP);
	if (!req || !rep)
		bench_die("calloc", -ENOMEM);
	int floor_sock = bench_floor_start(o.server_cpu, &floor_pid);
	int epoll_sock = bench_floor_start_epoll(o.server_cpu, &epoll_pid);
	int split_sock = bench_floor_start_epoll_split(o.server_cpu, &split_pid);
	int fds_sock = bench_floor_start_epoll_fds(o.server_cpu, &fds_pid);
	int late_sock = bench_floor_start_epoll_fds_late(o.server_cpu, FDS_LATE_NS, &late_pid);
	bench_server_start(&srv, o.server_cpu, 1, 0);
	int gpu = bench_connect(srv.gpu_path), npu = bench_connect(srv.npu_path);
	handshake(gpu);
	handshake(npu);

	small_exchanges(gpu, npu, floor_sock, epoll_sock, o.iters);
	bulk(gpu, floor_sock, epoll_sock, split_sock, o.iters);
	posted_writes(gpu, floor_sock, epoll_sock, bench_scaled(&o, 1000000, 100));
	server_cpu(&srv, gpu, bench_scaled(&o, 1000000, 100));
	polling(o.server_cpu, floor_sock, o.iters);
	server_user_clocked(o.server_cpu, bench_scaled(&o, 200000, 100));
	dma(&srv, gpu, (const int[DMA_FLOORS]){ floor_sock, epoll_sock, fds_sock, late_sock },
	    o.iters / 10 + 10, bench_scaled(&o, 1000000, 1000));

	close(gpu);
	close(npu);
	mmap_access(srv.gpu_path, bench_scaled(&o, 1u << 30, 1u << 20));
	bench_server_stop(&srv);
	bench_floor_stop(floor_sock, floor_pid);
	bench_floor_stop(epoll_sock, epoll_pid);
	bench_floor_stop(split_sock, split_pid);
	bench_floor_stop(fds_sock, fds_pid);
	bench_floor_stop(late_sock, late_pid);
	memory(o.server_cpu);
	free(req);
	free(rep);
	return 0;
}
