// SPDX-License-Identifier: MIT
/*
 * The vfio-user client's answers to a server's DMA_READ/DMA_WRITE: an
 * answer that cannot be sent fails the waiting call and breaks the
 * connection, and answers (and the chunks of a split access) share the
 * call's deadline. A raw fake server in a thread plays each script on a
 * socket in a mkdtemp dir.
 *
 * SIGPIPE is left at its default on purpose: if the library ever sent
 * without MSG_NOSIGNAL, the answers these servers refuse would kill the
 * test process.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vfiokit/client.h>
#include "vfio-user/protocol.h"
#include "../test_util.h"

#define IOVA        0x100000ull
#define BIG         (1u << 20)     /* a whole max_data_xfer_size */
#define MANY_READS  8              /* 8 MiB of answers: more than any socket buffer */
#define CHUNK       4096u          /* the max_data_xfer_size SLOW_CHUNKS offers */
#define CHUNKS      3

/* What the fake server does once the client's DEVICE_GET_INFO arrives. */
enum script {
	REFUSE_READ_ANSWER,     /* shut its read side, send DMA_READ, then the reply */
	REFUSE_WRITE_ANSWER,    /* the same with DMA_WRITE */
	REFUSE_ERROR_ANSWER,    /* the same with a DMA_READ of unmapped memory */
	STALL_LATE,             /* wait half the timeout, send big DMA_READs, read nothing */
	SLOW_CHUNKS,            /* answer each REGION_READ chunk after 0.4 timeouts */
};

struct fake {
	enum script script;
	int timeout_ms;
	int listen_fd;
	int conn;               /* left open by the thread; the test closes it */
	bool ok;                /* the script ran to its end */
	char dir[64];
	char path[108];
};

#define BODY_MAX 256

/* Read one whole message, its payload into body; any fd that came along
 * is closed. */
static bool read_msg(int fd, struct vfu_hdr *hdr, uint8_t body[BODY_MAX])
{
	union { char buf[CMSG_SPACE(sizeof(int) * 16)]; struct cmsghdr align; } ctl;
	struct iovec iov = { hdr, sizeof(*hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };

	if (recvmsg(fd, &msg, MSG_WAITALL) != sizeof(*hdr) || hdr->msg_size < sizeof(*hdr) ||
	    hdr->msg_size - sizeof(*hdr) > BODY_MAX)
		return false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
			close(((int *)CMSG_DATA(c))[i]);
	return hdr->msg_size == sizeof(*hdr) ||
	       recv(fd, body, hdr->msg_size - sizeof(*hdr), MSG_WAITALL) ==
	       (ssize_t)(hdr->msg_size - sizeof(*hdr));
}

static bool send_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* A success reply to req carrying len bytes of payload. */
static bool reply(int fd, const struct vfu_hdr *req, const void *payload, uint32_t len)
{
	uint8_t out[VFU_HDR_SIZE + 64];
	struct vfu_hdr h = { .msg_id = req->msg_id, .command = req->command,
			     .msg_size = VFU_HDR_SIZE + len, .flags = VFU_F_TYPE_REPLY };

	memcpy(out, &h, sizeof(h));
	if (len)   /* payload may be NULL then */
		memcpy(out + sizeof(h), payload, len);
	return send_all(fd, out, h.msg_size);
}

/* A DMA_READ or DMA_WRITE command of count bytes at address (a write
 * carries zeros), one at a time. */
static bool send_dma(int fd, uint16_t id, uint16_t command, uint64_t address, uint64_t count)
{
	static uint8_t zeros[4096];
	struct { struct vfu_hdr h; struct vfu_dma_rw rw; } __attribute__((packed)) m = {
		{ .msg_id = id, .command = command, .flags = VFU_F_TYPE_COMMAND },
		{ .address = address, .count = count },
	};
	bool write = command == VFU_CMD_DMA_WRITE;

	m.h.msg_size = (uint32_t)(sizeof(m) + (write ? count : 0));
	return send_all(fd, &m, sizeof(m)) && (!write || send_all(fd, zeros, count));
}

/* VERSION 0.0 with json (NUL included; "" for none). */
static bool answer_version(int fd, const char *json)
{
	struct { uint16_t major, minor; char json[48]; } __attribute__((packed)) v = { 0, 0, "" };
	uint8_t body[BODY_MAX];
	struct vfu_hdr h;

	strcpy(v.json, json);
	return read_msg(fd, &h, body) && h.command == VFU_CMD_VERSION &&
	       reply(fd, &h, &v, (uint32_t)(4 + (*json ? strlen(json) + 1 : 0)));
}

/* An empty success reply to DMA_MAP. */
static bool answer_dma_map(int fd)
{
	uint8_t body[BODY_MAX];
	struct vfu_hdr h;

	return read_msg(fd, &h, body) && h.command == VFU_CMD_DMA_MAP && reply(fd, &h, NULL, 0);
}

/* The client can no longer send: every answer it tries gets EPIPE. Then a
 * reply to the call, as a server might send that missed the refusal. A
 * client that gave up at the failed answer may be gone by then: the
 * reply's own send may fail. */
static bool refuse_answer(int fd, const struct vfu_hdr *req, enum script script)
{
	struct vfu_device_info info = { .argsz = sizeof(info), .num_regions = 9 };
	uint16_t command = script == REFUSE_WRITE_ANSWER ? VFU_CMD_DMA_WRITE : VFU_CMD_DMA_READ;
	uint64_t address = script == REFUSE_ERROR_ANSWER ? IOVA + 0x10000000 : IOVA;

	if (shutdown(fd, SHUT_RD) || !send_dma(fd, 0x100, command, address, 4096))
		return false;
	reply(fd, req, &info, sizeof(info));
	return true;
}

static void sleep_ms(int ms)
{
	const struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Half the call's time passes, then answers the client cannot get rid of. */
static bool stall_late(int fd, int timeout_ms)
{
	sleep_ms(timeout_ms / 2);
	for (uint16_t i = 0; i < MANY_READS; i++)
		if (!send_dma(fd, 0x100 + i, VFU_CMD_DMA_READ, IOVA, BIG))
			return false;
	return true;
}

/*
 * Each REGION_READ of a split access answered 0.4 timeouts after it came:
 * every chunk is in time, the whole is not. The last answer may find the
 * client gone.
 */
static bool slow_chunks(int fd, int timeout_ms)
{
	static const uint8_t data[CHUNK];
	uint8_t body[BODY_MAX];
	struct vfu_hdr h;

	for (int i = 0; i < CHUNKS; i++) {
		if (!read_msg(fd, &h, body) || h.command != VFU_CMD_REGION_READ ||
		    h.msg_size != VFU_HDR_SIZE + sizeof(struct vfu_region_rw))
			return false;
		sleep_ms(timeout_ms * 2 / 5);
		h.msg_size += CHUNK;
		h.flags = VFU_F_TYPE_REPLY;
		if ((!send_all(fd, &h, sizeof(h)) ||
		     !send_all(fd, body, sizeof(struct vfu_region_rw)) ||
		     !send_all(fd, data, sizeof(data))) && i < CHUNKS - 1)
			return false;
	}
	return true;
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	uint8_t body[BODY_MAX];
	struct vfu_hdr req;

	f->conn = accept(f->listen_fd, NULL, NULL);
	if (f->conn < 0)
		return NULL;
	if (f->script == SLOW_CHUNKS) {
		f->ok = answer_version(f->conn, "{\"capabilities\":{\"max_data_xfer_size\":4096}}") &&
			slow_chunks(f->conn, f->timeout_ms);
		return NULL;
	}
	if (!answer_version(f->conn, "") || !answer_dma_map(f->conn) ||
	    !read_msg(f->conn, &req, body) || req.command != VFU_CMD_DEVICE_GET_INFO)
		return NULL;
	f->ok = f->script == STALL_LATE ? stall_late(f->conn, f->timeout_ms) :
		refuse_answer(f->conn, &req, f->script);
	return NULL;
}

static void fake_start(struct fake *f, pthread_t *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(f->dir, "/tmp/vfk-dma-answers-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/dev.sock", f->dir);
	strcpy(sa.sun_path, f->path);
	f->conn = -1;
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 1), 0);
	assert_int_equal(pthread_create(t, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake *f, pthread_t t)
{
	pthread_join(t, NULL);
	assert_true(f->ok);
	close(f->conn);
	close(f->listen_fd);
	unlink(f->path);
	rmdir(f->dir);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Map mem without an fd (reached by DMA_READ/DMA_WRITE), ask for the
 * device info while the server plays script; expect that call's error,
 * -EPIPE from the next call, and no fd left once closed. Returns how long
 * the first call took (ms).
 */
static int64_t run(enum script script, int timeout_ms, uint8_t *mem, uint64_t size, int expect)
{
	struct fake f = { .script = script, .timeout_ms = timeout_ms };
	struct vfk_client_opts opts = { .timeout_ms = timeout_ms };
	int fds_before = test_count_open_fds();
	struct vfio_device_info info;
	struct vfk_client *c = NULL;
	char msg[256] = "";
	int64_t start, took;
	pthread_t t;

	fake_start(&f, &t);
	assert_int_equal(vfk_client_open(f.path, &opts, &c, msg, sizeof(msg)), 0);
	assert_int_equal(vfk_client_dma_map(c, IOVA, size, mem, -1, 0), 0);
	start = now_ms();
	assert_int_equal(vfk_client_device_info(c, &info), expect);
	took = now_ms() - start;
	/* Broken: the next call fails without a word on the wire. */
	assert_int_equal(vfk_client_reset(c), -EPIPE);
	vfk_client_close(c);
	fake_stop(&f, t);
	assert_int_equal(test_count_open_fds(), fds_before);
	return took;
}

/* The answer to a DMA_READ cannot be sent: the call fails with the send's
 * -EPIPE before its timeout, not with the reply that follows. */
static void test_failed_dma_read_answer_fails_the_call(void **state)
{
	static uint8_t mem[4096];
	const int timeout_ms = 5000;

	assert_true(run(REFUSE_READ_ANSWER, timeout_ms, mem, sizeof(mem), -EPIPE) < timeout_ms);
}

static void test_failed_dma_write_answer_fails_the_call(void **state)
{
	static uint8_t mem[4096];
	const int timeout_ms = 5000;

	assert_true(run(REFUSE_WRITE_ANSWER, timeout_ms, mem, sizeof(mem), -EPIPE) < timeout_ms);
}

/* The error answer (no such mapping: EFAULT) counts as an answer too. */
static void test_failed_dma_error_answer_fails_the_call(void **state)
{
	static uint8_t mem[4096];
	const int timeout_ms = 5000;

	assert_true(run(REFUSE_ERROR_ANSWER, timeout_ms, mem, sizeof(mem), -EPIPE) < timeout_ms);
}

/*
 * Half the timeout in, the server sends 1 MiB DMA_READs and reads
 * nothing: an answer's send blocks. It must end at the call's deadline
 * (timeout_ms after the call began), not timeout_ms after the answer
 * began (1.5 times the timeout). The bound, 1.25 times, is looser than
 * the call's own timeout.
 */
static void test_dma_answers_share_the_call_deadline(void **state)
{
	const int timeout_ms = 2000;
	uint8_t *mem = calloc(1, BIG);

	assert_non_null(mem);
	assert_true(run(STALL_LATE, timeout_ms, mem, BIG, -ETIMEDOUT) < timeout_ms * 5 / 4);
	free(mem);
}

/* A read split in 3 chunks, each answered in 0.4 timeouts: the third
 * comes after the call's deadline, so the read is -ETIMEDOUT (it took
 * 1.2 timeouts when each chunk had a deadline of its own). */
static void test_split_read_shares_the_call_deadline(void **state)
{
	struct fake f = { .script = SLOW_CHUNKS, .timeout_ms = 1000 };
	struct vfk_client_opts opts = { .timeout_ms = f.timeout_ms };
	int fds_before = test_count_open_fds();
	static uint8_t buf[CHUNKS * CHUNK];
	struct vfk_client *c = NULL;
	char msg[256] = "";
	pthread_t t;

	fake_start(&f, &t);
	assert_int_equal(vfk_client_open(f.path, &opts, &c, msg, sizeof(msg)), 0);
	assert_int_equal(vfk_client_region_read(c, 0, 0, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(vfk_client_reset(c), -EPIPE);
	vfk_client_close(c);
	fake_stop(&f, t);
	assert_int_equal(test_count_open_fds(), fds_before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_dma_read_answer_fails_the_call),
		cmocka_unit_test(test_failed_dma_write_answer_fails_the_call),
		cmocka_unit_test(test_failed_dma_error_answer_fails_the_call),
		cmocka_unit_test(test_dma_answers_share_the_call_deadline),
		cmocka_unit_test(test_split_read_shares_the_call_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
