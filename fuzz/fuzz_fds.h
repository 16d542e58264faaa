/* SPDX-License-Identifier: MIT */
/*
 * fds over a socket for the fuzz targets that play one end of a vfio-user
 * connection: attaching any number the fuzzer asks for (up to
 * FUZZ_MAX_FDS, more than a peer is allowed, so the other end's limit is
 * exercised), closing whatever the other end passed back, and counting
 * open fds to catch a leak.
 */
#ifndef VFIOKIT_FUZZ_FDS_H
#define VFIOKIT_FUZZ_FDS_H

#include <sys/socket.h>

/* Most fds one fuzzed message carries: what a 5-bit count can say. */
#define FUZZ_MAX_FDS 31

/* Control-message room for FUZZ_MAX_FDS fds, aligned as a cmsghdr. */
union fuzz_fd_ctl {
	char buf[CMSG_SPACE(sizeof(int) * FUZZ_MAX_FDS)];
	struct cmsghdr align;
};

/*
 * Attach fds[0..nfds) to mh as one SCM_RIGHTS message built in ctl, which
 * must outlive the sendmsg(). nfds 0 leaves mh without control data;
 * more than FUZZ_MAX_FDS is a bug of the target and aborts.
 */
void fuzz_attach_fds(struct msghdr *mh, union fuzz_fd_ctl *ctl, const int *fds,
		     unsigned int nfds);

/*
 * fds open in the process, but for pipes: only the fuzzing runtime
 * (libFuzzer's and the sanitizers' helpers) makes those, at times of its
 * own choosing, so they would look like leaks. own_pipe, when >= 0, is a
 * pipe of the target's that counts all the same.
 */
int fuzz_count_fds(int own_pipe);

/* Close every fd a recvmsg() put into mh's SCM_RIGHTS control messages. */
void fuzz_close_received_fds(struct msghdr *mh);

#endif
