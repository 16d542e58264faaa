// SPDX-License-Identifier: MIT
/* fds over a socket for the fuzz targets: see fuzz_fds.h. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_fds.h"

void fuzz_attach_fds(struct msghdr *mh, union fuzz_fd_ctl *ctl, const int *fds,
		     unsigned int nfds)
{
	struct cmsghdr *cm;

	FUZZ_CHECK(nfds <= FUZZ_MAX_FDS);
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (!nfds)
		return;
	memset(ctl, 0, sizeof(*ctl));
	mh->msg_control = ctl->buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

void fuzz_close_received_fds(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t nfd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;

			/* CMSG_DATA need not be aligned for an int: copy it out. */
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

int fuzz_count_fds(int own_pipe)
{
	DIR *d = opendir("/proc/self/fd");
	struct stat own = { 0 }, st;
	struct dirent *e;
	int n = 0;

	FUZZ_CHECK(d != NULL);
	FUZZ_CHECK(own_pipe < 0 || fstat(own_pipe, &own) == 0);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue;
		if (!S_ISFIFO(st.st_mode) || (own_pipe >= 0 && st.st_ino == own.st_ino))
			n++;
	}
	closedir(d);
	return n;
}
