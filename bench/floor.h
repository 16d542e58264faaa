/* SPDX-License-Identifier: MIT */
/*
 * The floor: what a raw AF_UNIX ping-pong costs on this machine, with the
 * same message sizes and the same client system calls as a vfio-user
 * exchange. The peer is a forked echo process that reads with recvmsg
 * (it accepts fds, as a server must), answers each request with a message
 * of the size the request asks for, and drains no-reply messages in
 * batches. It does nothing else, so whatever a server does beyond it
 * shows as the ratio to this floor.
 */
#ifndef VFIOKIT_BENCH_FLOOR_H
#define VFIOKIT_BENCH_FLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest request or reply the floor peer handles. */
#define BENCH_FLOOR_MAX_MSG ((size_t)(1u << 20) + 4096)

/* Fork the echo peer pinned to cpu; returns the client's socket. */
int bench_floor_start(int cpu, pid_t *pid);

/* The same peer, polling: after each request it checks its socket without
 * waiting (a peek) for up to poll_us, then sleeps in its read until the next
 * one, as a server with `serve --poll-us` does. What a polling server can
 * reach at best; stop it with bench_floor_stop(). */
int bench_floor_start_polling(int cpu, unsigned int poll_us, pid_t *pid);

/* The same peer waiting as the server does: epoll_wait on a set holding
 * its socket, then the read (a third system call per request). The
 * floor of the server's event loop itself. */
int bench_floor_start_epoll(int cpu, pid_t *pid);

/* The epoll peer receiving as the server receives a large REGION_WRITE:
 * a first read of at most 16 KiB, and a message of 16 KiB or more whose
 * rest is still in the socket is finished with one more read straight
 * into memory of the peer's, after the part read first is copied there.
 * The floor of that mechanism (two reads and a copy of up to 16 KiB). */
int bench_floor_start_epoll_split(int cpu, pid_t *pid);

/* The epoll peer making the server's system calls for requests that carry
 * an fd, and nothing else: each received fd is checked (fcntl F_GETFL,
 * fstat) and closed; a read that brought one is followed by up to 4 more
 * reads that do not wait; the replies to every request read after one
 * wake-up leave in one send. The floor of the pipelined DMA_MAP+UNMAP
 * pair's mechanism, as the server must run it. */
int bench_floor_start_epoll_fds(int cpu, pid_t *pid);

/* The same peer, staying late_ns on the CPU (spinning) between its last
 * read and its send, as a server that works that long on the requests:
 * what replying later costs on this machine, where a reply that finds the
 * client's CPU already halted waits for the host to wake it. */
int bench_floor_start_epoll_fds_late(int cpu, unsigned int late_ns, pid_t *pid);

/* The epoll peer's loop in the calling process, on sock, until the client
 * leaves: 0, or 1 when a request could not be framed or answered. For
 * bench/echo_peer.c, which runs it exec'd (with the syscall_clock shim). */
int bench_floor_serve_epoll(int sock);

/* Close the socket and reap the peer. */
void bench_floor_stop(int sock, pid_t pid);

/*
 * Report as id the round-trip latency of req_len-byte requests answered
 * by reply_len-byte replies, over iters exchanges after a warm-up. With
 * pass_fd >= 0 every request carries that fd (the peer closes its copy);
 * with reply_fd every reply carries one (read with recvmsg and closed).
 * Returns the median in microseconds.
 */
double bench_floor_roundtrip(const char *id, int sock, size_t req_len, size_t reply_len,
			   int pass_fd, bool reply_fd, uint64_t iters);

/*
 * bench_floor_roundtrip() with the reply's payload sent from written
 * memory: a memfd mapping whose pages all hold data, in one sendmsg of
 * header + payload vectors, as the server sends a large REGION_READ from
 * GPU RAM. The plain floor's payload is a never-written buffer, i.e. the
 * kernel's shared zero page over and over (always in cache), which is
 * faster to copy than any real memory: compare large reads with this one.
 */
double bench_floor_roundtrip_written(const char *id, int sock, size_t req_len,
				     size_t reply_len, uint64_t iters);

/* What the floor peer answers a round trip with. */
enum bench_floor_reply {
	BENCH_FLOOR_REPLY_PLAIN,    /* a never-written buffer (the zero page) */
	BENCH_FLOOR_REPLY_FD,       /* the same, carrying an fd */
	BENCH_FLOOR_REPLY_WRITTEN,  /* written memory, as bench_floor_roundtrip_written() */
};

/*
 * A floor round trip prepared for bench_time_in_turns(): arg for
 * bench_floor_exchange_once(), which makes one exchange as
 * bench_floor_roundtrip() times it. NULL when the sizes are out of range.
 */
struct bench_floor_exchange *bench_floor_exchange_new(int sock, size_t req_len,
						      size_t reply_len, int pass_fd,
						      enum bench_floor_reply reply);
long bench_floor_exchange_once(void *arg);
void bench_floor_exchange_free(struct bench_floor_exchange *x);

/*
 * A pipelined pair (bench_pipelined_pair) prepared for
 * bench_time_in_turns(): an a_len-byte request (carrying pass_fd when
 * >= 0) answered by a_reply bytes and a b_len-byte request answered by
 * b_reply bytes, both written before either reply is read; arg for
 * bench_floor_pair_once(). NULL when it cannot be made.
 */
struct bench_floor_pair *bench_floor_pair_new(int sock, size_t a_len, size_t a_reply,
					      int pass_fd, size_t b_len, size_t b_reply);
long bench_floor_pair_once(void *arg);
void bench_floor_pair_free(struct bench_floor_pair *p);

/*
 * Report as id the rate (messages/s) of count no-reply msg_len-byte
 * messages, batch of them per write, followed by one round trip that
 * proves they were all read.
 */
void bench_floor_posted(const char *id, int sock, size_t msg_len, unsigned int batch,
			uint64_t count);

/* The same messages unreported: returns the nanoseconds they took. */
uint64_t bench_floor_posted_ns(const char *id, int sock, size_t msg_len, unsigned int batch,
			       uint64_t count);

#endif
