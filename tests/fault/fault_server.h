/* SPDX-License-Identifier: MIT */
/*
 * A real vfio-user server in a child process, for fault tests that kill
 * peers and watch the server's fds and memory from outside: each device
 * (the fuzz targets' device) on its own socket in a mkdtemp dir.
 */
#ifndef VFIOKIT_TEST_FAULT_SERVER_H
#define VFIOKIT_TEST_FAULT_SERVER_H

#include <sys/types.h>

#define FS_MAX_DEVICES 4

struct fault_server {
	pid_t pid;
	char dir[64];
	char path[FS_MAX_DEVICES][96];
	unsigned int ndev;
};

/* Fork a server with ndev devices; returns once every socket listens. 0 or -errno. */
int fs_start(struct fault_server *fs, unsigned int ndev);

/* Builds one device in the server process; NULL on failure. */
typedef struct vfk_device *(*fs_device_fn)(void);

/* fs_start() with devices from make instead of the fuzz device. */
int fs_start_with(struct fault_server *fs, unsigned int ndev, fs_device_fn make);

/* SIGTERM, wait, remove the dir; the child's exit status (0 when clean). */
int fs_stop(struct fault_server *fs);

/* fds open in the server process now, or -errno. */
int fs_fd_count(const struct fault_server *fs);

/* The server's resident set in KiB (VmRSS), or -errno. */
long fs_rss_kib(const struct fault_server *fs);

/* A fresh client negotiates and gets DEVICE_GET_INFO on device i: 0 or -errno. */
int fs_answers(const struct fault_server *fs, unsigned int i);

/*
 * The server notices a dead client before it takes the next one: retry
 * fs_answers() for up to 3 s. 0 once device i answers, else the last error.
 */
int fs_answers_soon(const struct fault_server *fs, unsigned int i);

/* The server's fd count once it reaches want (up to 3 s), else the last seen. */
int fs_fds_settle(const struct fault_server *fs, int want);

/* ASan keeps freed memory in quarantine: RSS then measures the quarantine,
 * not the server, so RSS checks only hold in the other builds. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANINGFUL 0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL 1
#endif

#endif
