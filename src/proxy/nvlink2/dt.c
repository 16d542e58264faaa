// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dt.h"

/* A hostile folder cannot make a walk run away: real trees are a few
 * levels deep and hold a few thousand nodes. */
#define DT_MAX_DEPTH 32
#define DT_MAX_NODES 100000u

/* PCI bus binding: phys.hi of a configuration-space address. */
#define PCI_PHYS_HI_MASK 0x03ffffffu
#define PCI_REG_ENTRY    20u   /* 3 address cells + 2 size cells */

static int fail(struct dt *t, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct dt *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

int dt_open(struct dt *t, const char *dir)
{
	t->err[0] = '\0';
	t->rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->rootfd < 0)
		return fail(t, -errno, "device tree %s: %s", dir, strerror(errno));
	return 0;
}

void dt_close(struct dt *t)
{
	if (t->rootfd >= 0)
		close(t->rootfd);
	t->rootfd = -1;
}

/* Node paths are built here or checked by the caller; still refuse what
 * could leave the root. */
static bool path_ok(const char *node)
{
	const char *p = node;

	if (*node == '/' || strlen(node) >= DT_PATH_MAX)
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/' && !*++p)
			return false;
	}
	return true;
}

static int node_open(struct dt *t, const char *node)
{
	int fd;

	if (!path_ok(node))
		return fail(t, -EINVAL, "device tree: bad node path '%s'", node);
	fd = openat(t->rootfd, *node ? node : ".",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return fail(t, -ENOENT, "device tree: no node /%s", node);
	if (fd < 0)
		return fail(t, -errno, "device tree: node /%s: %s", node, strerror(errno));
	return fd;
}

static ssize_t read_all(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int prop_open(struct dt *t, const char *node, const char *name)
{
	struct stat st;
	int nfd = node_open(t, node);
	int fd;

	if (nfd < 0)
		return nfd;
	fd = openat(nfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	close(nfd);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return fail(t, -ENOENT, "device tree: /%s has no property %s", node, name);
	if (fd < 0 && errno == ELOOP)
		return fail(t, -EINVAL, "device tree: /%s/%s is a symbolic link, not a property",
			    node, name);
	if (fd < 0)
		return fail(t, -errno, "device tree: /%s/%s: %s", node, name, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(t, -EINVAL, "device tree: /%s/%s is not a property", node, name);
	}
	return fd;
}

int dt_prop(struct dt *t, const char *node, const char *name, void *buf, size_t cap,
	    size_t *len)
{
	uint8_t tmp[DT_PROP_MAX + 1];
	int fd;
	ssize_t n;

	if (cap > DT_PROP_MAX)
		cap = DT_PROP_MAX;
	fd = prop_open(t, node, name);
	if (fd < 0)
		return fd;
	n = read_all(fd, tmp, cap + 1);
	close(fd);
	if (n < 0)
		return fail(t, (int)n, "device tree: /%s/%s: %s", node, name, strerror((int)-n));
	if ((size_t)n > cap)
		return fail(t, -E2BIG, "device tree: /%s/%s is longer than %zu bytes", node, name,
			    cap);
	memcpy(buf, tmp, (size_t)n);
	*len = (size_t)n;
	return 0;
}

static int prop_sized(struct dt *t, const char *node, const char *name, void *buf, size_t want)
{
	size_t len;
	int ret = dt_prop(t, node, name, buf, want, &len);

	if (ret == -E2BIG)
		return fail(t, -EINVAL, "device tree: /%s/%s is longer than %zu bytes", node, name,
			    want);
	if (!ret && len != want)
		return fail(t, -EINVAL, "device tree: /%s/%s is %zu bytes, want %zu", node, name,
			    len, want);
	return ret;
}

int dt_u32(struct dt *t, const char *node, const char *name, uint32_t *out)
{
	uint32_t be;
	int ret = prop_sized(t, node, name, &be, sizeof(be));

	if (!ret)
		*out = be32toh(be);
	return ret;
}

int dt_u64(struct dt *t, const char *node, const char *name, uint64_t *out)
{
	uint64_t be;
	int ret = prop_sized(t, node, name, &be, sizeof(be));

	if (!ret)
		*out = be64toh(be);
	return ret;
}

int dt_u64_index(struct dt *t, const char *node, const char *name, uint32_t index,
		 uint64_t *out, uint32_t *count)
{
	uint64_t list[DT_PROP_MAX / 8];
	size_t len;
	int ret = dt_prop(t, node, name, list, sizeof(list), &len);

	if (ret)
		return ret;
	if (!len || len % 8)
		return fail(t, -EINVAL, "device tree: /%s/%s is %zu bytes, want a multiple of 8",
			    node, name, len);
	if (count)
		*count = (uint32_t)(len / 8);
	if (index >= len / 8)
		return fail(t, -ERANGE, "device tree: /%s/%s has %zu entries, no entry %u", node,
			    name, len / 8, index);
	*out = be64toh(list[index]);
	return 0;
}

/* ---- walking the tree ---- */

struct walk {
	struct dt *t;
	/* 1: a match (path copied to found), 0: none, < 0: error */
	int (*visit)(struct walk *w, const char *path);
	const void *want;
	unsigned int matches;
	unsigned int nodes;
	char found[DT_PATH_MAX];
};

static bool is_dir(int dirfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return !fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode);
}

static int walk_node(struct walk *w, char *path, unsigned int depth);

static int walk_child(struct walk *w, char *path, const char *name, unsigned int depth)
{
	size_t old = strlen(path);
	int n = snprintf(path + old, DT_PATH_MAX - old, "%s%s", old ? "/" : "", name);
	int ret;

	if (n < 0 || (size_t)n >= DT_PATH_MAX - old) {
		path[old] = '\0';
		return fail(w->t, -ENAMETOOLONG, "device tree: a node path below /%s is too long",
			    path);
	}
	ret = walk_node(w, path, depth + 1);
	path[old] = '\0';
	return ret;
}

static int walk_children(struct walk *w, char *path, unsigned int depth)
{
	int fd = node_open(w->t, path);
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fail(w->t, -errno, "device tree: /%s: %s", path, strerror(errno));
	}
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !is_dir(fd, de))
			continue;
		ret = walk_child(w, path, de->d_name, depth);
	}
	closedir(d);
	return ret;
}

static int walk_node(struct walk *w, char *path, unsigned int depth)
{
	int ret;

	if (depth > DT_MAX_DEPTH)
		return fail(w->t, -ELOOP, "device tree: /%s is deeper than %d levels", path,
			    DT_MAX_DEPTH);
	if (++w->nodes > DT_MAX_NODES)
		return fail(w->t, -E2BIG, "device tree: more than %u nodes", DT_MAX_NODES);
	ret = w->visit(w, path);
	if (ret < 0)
		return ret;
	if (ret > 0 && w->matches++ == 0)
		snprintf(w->found, sizeof(w->found), "%s", path);
	return walk_children(w, path, depth);
}

/* Walk from `start`; t->err is restored when nothing failed, since
 * visitors meet absent properties on the way. */
static int walk(struct walk *w, const char *start)
{
	char path[DT_PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s", start);
	ret = walk_node(w, path, 0);
	if (!ret)
		w->t->err[0] = '\0';
	return ret;
}

/* ---- phandles ---- */

static int visit_phandle(struct walk *w, const char *path)
{
	uint32_t ph;

	if (!dt_u32(w->t, path, "phandle", &ph) || !dt_u32(w->t, path, "linux,phandle", &ph))
		return ph == *(const uint32_t *)w->want;
	return 0;
}

static int resolve(struct dt *t, uint32_t ph, const char *node, const char *name, char *path,
		   size_t len)
{
	struct walk w = { .t = t, .visit = visit_phandle, .want = &ph };
	int ret = walk(&w, "");

	if (ret)
		return ret;
	if (w.matches == 0)
		return fail(t, -ENOENT, "device tree: /%s/%s: no node has phandle 0x%x",
			    node, name, ph);
	if (w.matches > 1)
		return fail(t, -EINVAL, "device tree: /%s/%s: %u nodes have phandle 0x%x",
			    node, name, w.matches, ph);
	if (strlen(w.found) >= len)
		return fail(t, -ENAMETOOLONG, "device tree: /%s is too long a path", w.found);
	snprintf(path, len, "%s", w.found);
	return 0;
}

int dt_phandle(struct dt *t, const char *node, const char *name, char *path, size_t len)
{
	uint32_t cells[DT_PROP_MAX / 4];
	size_t plen;
	int ret = dt_prop(t, node, name, cells, sizeof(cells), &plen);

	if (ret)
		return ret;
	if (!plen || plen % 4)
		return fail(t, -EINVAL, "device tree: /%s/%s is %zu bytes, want phandles (4 each)",
			    node, name, plen);
	return resolve(t, be32toh(cells[0]), node, name, path, len);
}

int dt_parent(struct dt *t, const char *node, char *path, size_t len)
{
	const char *slash = strrchr(node, '/');
	size_t n = slash ? (size_t)(slash - node) : 0;

	if (!*node)
		return fail(t, -EINVAL, "device tree: the root has no parent");
	if (n >= len)
		return fail(t, -ENAMETOOLONG, "device tree: /%s is too long a path", node);
	memcpy(path, node, n);
	path[n] = '\0';
	return 0;
}

/* ---- PCI functions ---- */

static int visit_domain(struct walk *w, const char *path)
{
	uint32_t dom;

	return !dt_u32(w->t, path, "linux,pci-domain", &dom) && dom == *(const uint32_t *)w->want;
}

/* A node whose reg is not a PCI address list is no PCI function. */
static int visit_function(struct walk *w, const char *path)
{
	uint32_t reg[DT_PROP_MAX / 4];
	size_t len;

	if (dt_prop(w->t, path, "reg", reg, sizeof(reg), &len) || !len || len % PCI_REG_ENTRY)
		return 0;
	return (be32toh(reg[0]) & PCI_PHYS_HI_MASK) == *(const uint32_t *)w->want;
}

int dt_find_pci(struct dt *t, uint32_t dom, uint32_t bus, uint32_t devfn, char *path,
		size_t len)
{
	const uint32_t hi = (bus & 0xff) << 16 | (devfn & 0xff) << 8;
	struct walk wd = { .t = t, .visit = visit_domain, .want = &dom };
	struct walk wf = { .t = t, .visit = visit_function, .want = &hi };
	int ret = walk(&wd, "");

	if (ret)
		return ret;
	if (wd.matches != 1)
		return fail(t, wd.matches ? -EINVAL : -ENOENT,
			    "device tree: %u nodes have linux,pci-domain = <%u>, want one",
			    wd.matches, dom);
	ret = walk(&wf, wd.found);
	if (ret)
		return ret;
	if (wf.matches != 1)
		return fail(t, wf.matches ? -EINVAL : -ENOENT,
			    "device tree: %u nodes below /%s have a reg for %04x:%02x:%02x.%x, want one",
			    wf.matches, wd.found, dom, bus, devfn >> 3, devfn & 7);
	if (strlen(wf.found) >= len)
		return fail(t, -ENAMETOOLONG, "device tree: /%s is too long a path", wf.found);
	snprintf(path, len, "%s", wf.found);
	return 0;
}

int dt_node_from_link(struct dt *t, const char *link, const char *base, char *path, size_t len)
{
	char target[PATH_MAX], root[PATH_MAX];
	size_t n;

	if (!realpath(link, target))
		return fail(t, errno == ENOENT ? -ENOENT : -errno, "%s: %s", link,
			    strerror(errno));
	if (!realpath(base, root))
		return fail(t, -errno, "%s: %s", base, strerror(errno));
	n = strlen(root);
	if (strncmp(target, root, n) || (target[n] != '/' && target[n] != '\0'))
		return fail(t, -EINVAL, "%s points to %s, outside the device tree %s", link, target,
			    root);
	if (strlen(target + n) >= len)
		return fail(t, -ENAMETOOLONG, "device tree: %s is too long a path", target);
	snprintf(path, len, "%s", target[n] ? target + n + 1 : "");
	return 0;
}
