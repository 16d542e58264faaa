/* SPDX-License-Identifier: MIT */
/*
 * The DMA mapping table: the client's memory by IOVA.
 *
 * Mappings live in a B+-tree keyed by their first IOVA (range_tree.h).
 * Stored ranges never overlap, so the mapping overlapping [iova, last],
 * if any, is the one with the greatest start <= last, provided it ends at
 * or after iova: one "floor" lookup answers both "which mapping holds
 * this address" and "does this new range collide".
 *
 * Why not glibc's tsearch (the first version): a red-black tree is ~20
 * levels deep at 1M mappings, and each level was two cache misses (the
 * glibc node, then the struct dma_map it points to for the comparator):
 * translate went from 7 ns at 1 mapping to 1.4 us at 1M. The B+-tree's
 * nodes hold 32 contiguous keys, so 1M mappings are 4 levels, the upper
 * ones cached, the lower ones one miss each (the node's lines are fetched
 * together): translate at 1M is ~0.23 us. A leaf slot costs ~17 bytes per
 * mapping where glibc's node cost 32 (with malloc's header): 65 bytes per
 * mapping in all, down from 80. Judy arrays were rejected (unmaintained
 * upstream); glib's GTree is a node-per-entry AVL tree (the same misses).
 *
 * Backing memory: a mapping mmaps only a window of its file, the range it
 * needs widened to DMA_WINDOW_ALIGN (and to the file's block size:
 * hugetlbfs maps whole huge pages only). Mapping whole files let a client
 * reserve the process's address space with a few 4 KiB mappings of huge
 * sparse files. Windows are shared: a mapping that fits in a window of
 * the same file (st_dev, st_ino, writable) already mapped uses it, so the
 * many small mappings of a vIOMMU guest cost one mmap per 2 MiB of guest
 * memory, not one each. A window is unmapped with its last mapping. Each
 * window's length is charged to the connection (max_bytes), as are the
 * window itself (max_windows: the process has vm.max_map_count mmaps in
 * all, for every tenant) and each mapping (max_maps). fds are never kept.
 *
 * Idle windows: a small window (at most DMA_WINDOW_ALIGN) whose last
 * mapping goes is kept mapped, up to DMA_IDLE_WINDOWS of them, oldest
 * dropped first, so a vIOMMU guest that maps and unmaps a page of a
 * region no other mapping holds (QEMU's DMA_MAP + DMA_UNMAP pairs) pays
 * the mmap and munmap once, not per pair. An idle window is found again
 * only by its file (st_dev, st_ino, writable) of this table, i.e. of a
 * file this same client sent; the mapping holds the file, so its inode
 * number cannot pass to another file meanwhile. They are dropped when
 * the table is cleared (the client left or unmapped everything) and
 * before a new window would pass a limit, and do not count as mapped
 * (vfk_dma_mapped_bytes): they pin at most DMA_IDLE_WINDOWS x 2 MiB of
 * the client's memory.
 *
 * Copies to and from windows are guarded (fault_guard.h): a client that
 * shrinks its file gets -EFAULT and its transport is told to drop it.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <vfiokit/dma.h>
#include <vfiokit/log.h>

#include "core/device_internal.h"
#include "core/fault_guard.h"
#include "core/range_tree.h"

/* A window is at least this aligned: neighbouring small mappings share it. */
#define DMA_WINDOW_ALIGN (2u << 20)
/* Idle windows kept mapped for reuse (see above), each at most this long. */
#define DMA_IDLE_WINDOWS 4u
#define DMA_IDLE_MAX_LEN DMA_WINDOW_ALIGN
/* Freeing this many mappings at once is worth giving the heap back. */
#define DMA_TRIM_MIN_MAPS 4096u

struct vfk_dma {
	struct vfk_range_tree maps; /* struct dma_map by iova */
	void *files;                /* tsearch root of struct dma_file: a few entries */
	uint64_t max_maps;
	uint64_t max_bytes;         /* address space all windows may take */
	uint64_t window_bytes;      /* address space they take now */
	uint64_t max_windows;       /* mmaps all files' windows may take */
	uint64_t windows;           /* mmaps they take now */
	struct dma_window *idle[DMA_IDLE_WINDOWS];   /* no mapping left, oldest first */
	unsigned int nidle;
	uint64_t idle_bytes;        /* their length, inside window_bytes */
	struct vfk_dma_transport transport;   /* rw NULL when none */
	struct dma_map *last_hit;   /* where the previous access landed, or NULL */
	struct vfk_dma_listener listener;
	bool quiesced;              /* the model finished: the held unmap goes now */
};

/* A backing file and the windows of it that are mapped. */
struct dma_file {
	dev_t st_dev;
	ino_t st_ino;
	bool writable;              /* windows mapped PROT_WRITE (the fd was O_RDWR) */
	struct vfk_range_tree windows;   /* struct dma_window by file offset */
	uint64_t nwindows;          /* live windows, in the tree or not */
	struct vfk_dma *dma;
};

/* One mmap of [offset, offset + len) of a file. */
struct dma_window {
	struct dma_file *file;
	uint64_t offset;
	uint64_t len;
	uint8_t *base;
	uint64_t refs;              /* mappings using it */
	bool in_tree;               /* false once a longer window took its key */
};

/* One mapping: 40 bytes, plus its 16-byte slot in a tree leaf. */
struct dma_map {
	uint64_t iova;
	uint64_t last;              /* inclusive: a range may end at 2^64 */
	uint8_t *host;              /* iova's bytes; NULL for fd-less mappings */
	struct dma_window *window;  /* NULL for fd-less mappings */
	uint32_t prot;
};

/* ---- lookups ---- */

static int file_cmp(const void *a, const void *b)
{
	const struct dma_file *x = a, *y = b;

	if (x->st_dev != y->st_dev)
		return x->st_dev < y->st_dev ? -1 : 1;
	if (x->st_ino != y->st_ino)
		return x->st_ino < y->st_ino ? -1 : 1;
	return (int)x->writable - (int)y->writable;
}

/* A mapping overlapping [iova, last], or NULL. */
static struct dma_map *map_find(const struct vfk_dma *dma, uint64_t iova, uint64_t last)
{
	struct dma_map *map = vfk_range_tree_floor(&dma->maps, last, NULL);

	return map && map->last >= iova ? map : NULL;
}

/*
 * The mapping holding all of [iova, last], or NULL. Devices touch the same
 * ring or buffer again and again, so the previous hit is tried before the
 * tree: O(1) instead of a walk through 4-5 cache-missing nodes at 1M.
 */
static struct dma_map *map_containing(struct vfk_dma *dma, uint64_t iova, uint64_t last)
{
	struct dma_map *map = dma->last_hit;

	if (map && map->iova <= iova && last <= map->last)
		return map;
	map = map_find(dma, iova, last);
	if (!map || map->iova > iova || map->last < last)
		return NULL;
	dma->last_hit = map;
	return map;
}

/* ---- backing files and their windows ---- */

/* Free a file entry that has no window left. */
static void file_put(struct dma_file *file)
{
	if (file->nwindows)
		return;
	tdelete(file, &file->dma->files, file_cmp);
	free(file);
}

/* The entry of key's file, created (with no window yet) if missing. */
static int file_lookup(struct vfk_dma *dma, const struct dma_file *key, struct dma_file **out)
{
	struct dma_file *file;
	void *node = tfind(key, &dma->files, file_cmp);

	if (node) {
		*out = *(struct dma_file **)node;
		return 0;
	}
	file = malloc(sizeof(*file));
	if (!file)
		return -ENOMEM;
	*file = *key;
	file->windows = (struct vfk_range_tree)VFK_RANGE_TREE_INIT;
	file->nwindows = 0;
	file->dma = dma;
	if (!tsearch(file, &dma->files, file_cmp)) {
		free(file);
		return -ENOMEM;
	}
	*out = file;
	return 0;
}

static void window_destroy(struct dma_window *w)
{
	struct dma_file *file = w->file;

	munmap(w->base, w->len);
	file->dma->window_bytes -= w->len;
	file->dma->windows--;
	if (w->in_tree)
		vfk_range_tree_remove(&file->windows, w->offset, NULL);
	file->nwindows--;
	file_put(file);
	free(w);
}

/* Take idle window i out of the idle list (it is mapped again, or goes). */
static struct dma_window *idle_take(struct vfk_dma *dma, unsigned int i)
{
	struct dma_window *w = dma->idle[i];

	memmove(&dma->idle[i], &dma->idle[i + 1], (dma->nidle - i - 1) * sizeof(w));
	dma->nidle--;
	dma->idle_bytes -= w->len;
	return w;
}

static void idle_unpark(struct vfk_dma *dma, const struct dma_window *w)
{
	for (unsigned int i = 0; i < dma->nidle; i++)
		if (dma->idle[i] == w) {
			idle_take(dma, i);
			return;
		}
}

/* Unmap the oldest idle window; false when there is none. */
static bool idle_drop_oldest(struct vfk_dma *dma)
{
	if (!dma->nidle)
		return false;
	window_destroy(idle_take(dma, 0));
	return true;
}

static void idle_drop_all(struct vfk_dma *dma)
{
	while (idle_drop_oldest(dma))
		;
}

/* The last mapping of w went: keep it idle when small, else unmap it. */
static void window_put(struct dma_window *w)
{
	struct vfk_dma *dma = w->file->dma;

	if (--w->refs)
		return;
	if (!w->in_tree || w->len > DMA_IDLE_MAX_LEN) {
		window_destroy(w);
		return;
	}
	if (dma->nidle == DMA_IDLE_WINDOWS)
		idle_drop_oldest(dma);
	dma->idle[dma->nidle++] = w;
	dma->idle_bytes += w->len;
}

/* A window of file holding [offset, offset + size), or NULL. */
static struct dma_window *window_find(const struct dma_file *file, uint64_t offset,
				      uint64_t size)
{
	struct dma_window *w = vfk_range_tree_floor(&file->windows, offset, NULL);

	return w && offset - w->offset < w->len && size <= w->len - (offset - w->offset) ?
	       w : NULL;
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/*
 * The window [*start, *start + *len) that [offset, offset + size) needs:
 * widened to DMA_WINDOW_ALIGN, or to the file's block size when that is a
 * larger power of two (a hugetlbfs page), and cut at the file's last page.
 * The caller checked that the range lies inside the file.
 */
static void window_span(const struct stat *st, uint64_t offset, uint64_t size,
			uint64_t *start, uint64_t *len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t align = DMA_WINDOW_ALIGN, blk = (uint64_t)st->st_blksize, end;

	if (blk > align && !(blk & (blk - 1)))
		align = blk;
	*start = offset & ~(align - 1);
	end = align_up(offset + size, align);
	if (end > align_up((uint64_t)st->st_size, page))
		end = align_up((uint64_t)st->st_size, page);
	*len = end - *start;
}

/* Enter w in its file's tree; a window with the same start is shorter
 * (it did not hold the range) and leaves the tree, living on for its
 * own mappings; an idle one has none and is returned in *stale, for the
 * caller to unmap once w is counted (the file must not go meanwhile). */
static int window_enter(struct dma_file *file, struct dma_window *w,
			struct dma_window **stale)
{
	struct dma_window *old = NULL;
	int ret = vfk_range_tree_insert(&file->windows, w->offset, w);

	*stale = NULL;
	if (ret != -EEXIST)
		return ret;
	vfk_range_tree_remove(&file->windows, w->offset, (void **)&old);
	old->in_tree = false;
	if (!old->refs) {
		idle_unpark(file->dma, old);
		*stale = old;
	}
	return vfk_range_tree_insert(&file->windows, w->offset, w);
}

/* mmap the window of fd that [offset, offset + size) needs. */
static int window_open(struct dma_file *file, int fd, const struct stat *st,
		       uint64_t offset, uint64_t size, struct dma_window **out)
{
	struct vfk_dma *dma = file->dma;
	int prot = PROT_READ | (file->writable ? PROT_WRITE : 0);
	struct dma_window *w, *stale;
	uint64_t start, len;
	void *base;
	int ret;

	window_span(st, offset, size, &start, &len);
	/* Idle windows give way to a window a mapping needs. */
	while (len > dma->max_bytes - dma->window_bytes || dma->windows >= dma->max_windows)
		if (!idle_drop_oldest(dma))
			return -ENOSPC;
	ret = vfk_fault_guard_install();
	if (ret)
		return ret;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	base = mmap(NULL, (size_t)len, prot, MAP_SHARED, fd, (off_t)start);
	if (base == MAP_FAILED) {
		ret = -errno;
		free(w);
		return ret;
	}
	*w = (struct dma_window){ .file = file, .offset = start, .len = len,
				  .base = base, .in_tree = true };
	ret = window_enter(file, w, &stale);
	if (ret) {
		munmap(base, (size_t)len);
		free(w);
		return ret;
	}
	dma->window_bytes += len;
	dma->windows++;
	file->nwindows++;
	if (stale)
		window_destroy(stale);
	*out = w;
	return 0;
}

/* The fd's access mode decides the mmap's protection. */
static int fd_writable(int fd, uint32_t prot, bool *writable)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if ((fl & O_ACCMODE) == O_WRONLY)
		return -EACCES;   /* mmap needs read access */
	*writable = (fl & O_ACCMODE) == O_RDWR;
	return (prot & VFK_DMA_WRITE) && !*writable ? -EACCES : 0;
}

/* A reference to a window of fd's file holding [offset, offset + size). */
static int window_get(struct vfk_dma *dma, int fd, uint64_t offset, uint64_t size,
		      uint32_t prot, struct dma_window **out)
{
	struct dma_file key = { 0 }, *file;
	struct dma_window *w;
	struct stat st;
	int ret = fd_writable(fd, prot, &key.writable);

	if (ret)
		return ret;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX)
		return -EINVAL;
	if (offset > (uint64_t)st.st_size || size > (uint64_t)st.st_size - offset)
		return -EINVAL;
	key.st_dev = st.st_dev;
	key.st_ino = st.st_ino;
	ret = file_lookup(dma, &key, &file);
	if (ret)
		return ret;
	w = window_find(file, offset, size);
	if (w && !w->refs)   /* idle: mapped again */
		idle_unpark(dma, w);
	if (!w) {
		ret = window_open(file, fd, &st, offset, size, &w);
		if (ret) {
			file_put(file);
			return ret;
		}
	}
	w->refs++;
	*out = w;
	return 0;
}

/* ---- the table ---- */

struct vfk_dma *vfk_dma_new(void)
{
	struct vfk_dma *dma = calloc(1, sizeof(*dma));

	if (dma) {
		dma->max_maps = VFK_DMA_DEFAULT_MAX_MAPS;
		dma->max_bytes = VFK_DMA_DEFAULT_MAX_BYTES;
		dma->max_windows = UINT64_MAX;
	}
	return dma;
}

static void map_destroy(void *value)
{
	struct dma_map *map = value;

	if (map->window)
		window_put(map->window);
	free(map);
}

/*
 * Many small frees leave the heap's pages with glibc: a client that made
 * us hold a million mappings would leave ~65 MB behind it. Give them back
 * when a large table goes (the client left, or unmapped everything).
 */
static void dma_clear(struct vfk_dma *dma)
{
	size_t count = vfk_range_tree_count(&dma->maps);

	vfk_range_tree_destroy(&dma->maps, map_destroy);
	idle_drop_all(dma);
	dma->last_hit = NULL;
	if (count >= DMA_TRIM_MIN_MAPS)
		malloc_trim(0);
}

void vfk_dma_free(struct vfk_dma *dma)
{
	if (!dma)
		return;
	dma_clear(dma);
	free(dma);
}

void vfk_dma_set_transport(struct vfk_device *dev, const struct vfk_dma_transport *t)
{
	dev->dma->transport = t ? *t : (struct vfk_dma_transport){ 0 };
}

static bool range_valid(uint64_t iova, uint64_t size)
{
	return size && size - 1 <= UINT64_MAX - iova;
}

/* ---- the listener ---- */

void vfk_dma_set_listener(struct vfk_device *dev, const struct vfk_dma_listener *l)
{
	dev->dma->listener = l ? *l : (struct vfk_dma_listener){ 0 };
}

static struct vfk_dma_region region_of(const struct dma_map *map)
{
	return (struct vfk_dma_region){ .iova = map->iova, .len = map->last - map->iova + 1,
					.host = map->host, .prot = map->prot };
}

static void announce_map(struct vfk_device *dev, const struct dma_map *map)
{
	const struct vfk_dma_listener *l = &dev->dma->listener;
	struct vfk_dma_region r = region_of(map);

	if (l->map)
		l->map(dev, &r, l->arg);
}

/* -EBUSY when the model asks for time (only if it may wait), else 0. */
static int announce_unmap(struct vfk_device *dev, const struct dma_map *map, bool may_wait)
{
	const struct vfk_dma_listener *l = &dev->dma->listener;
	struct vfk_dma_region r = region_of(map);
	int ret = l->unmap ? l->unmap(dev, &r, may_wait, l->arg) : 0;

	return may_wait && ret == -EBUSY ? -EBUSY : 0;
}

/* Announce every mapping within [iova, last] (from the highest iova down);
 * -EBUSY when one asks for time, after all were asked. */
static int announce_range(struct vfk_device *dev, uint64_t iova, uint64_t last, bool may_wait)
{
	uint64_t key = last, found;
	int ret = 0;

	for (;;) {
		struct dma_map *map = vfk_range_tree_floor(&dev->dma->maps, key, &found);

		if (!map || found < iova)
			break;
		if (announce_unmap(dev, map, may_wait))
			ret = -EBUSY;
		if (!found)
			break;
		key = found - 1;
	}
	return ret;
}

static int announce_all(struct vfk_device *dev, bool may_wait)
{
	return announce_range(dev, 0, UINT64_MAX, may_wait);
}

void vfk_dma_quiesced(struct vfk_device *dev)
{
	struct vfk_dma *dma = dev->dma;

	dma->quiesced = true;
	if (dma->transport.quiesced)
		dma->transport.quiesced(dma->transport.ctx);
}

static uint64_t remove_map(struct vfk_dma *dma, struct dma_map *map);

/* The target takes the mapping, or it goes again with the target's error. */
static int pt_map(struct vfk_device *dev, struct dma_map *map, int fd, uint64_t fd_offset)
{
	struct vfk_dma_region r = region_of(map);
	int ret = dev->pt.ops->dma_map(dev, &r, fd, fd_offset);

	if (!ret)
		return 0;
	remove_map(dev->dma, map);
	return ret > 0 ? -EIO : ret;
}

int vfk_dma_map(struct vfk_device *dev, uint64_t iova, uint64_t size, int fd,
		uint64_t fd_offset, uint32_t prot)
{
	struct vfk_dma *dma = dev->dma;
	struct dma_window *window = NULL;
	struct dma_map *map;
	int ret;

	if (!range_valid(iova, size) || !prot || (prot & ~(VFK_DMA_READ | VFK_DMA_WRITE)))
		return -EINVAL;
	if (fd < -1)
		return -EBADF;
	if (vfk_range_tree_count(&dma->maps) >= dma->max_maps)
		return -ENOSPC;
	/* Before touching the file, so an overlap never costs an mmap. */
	if (map_find(dma, iova, iova + (size - 1)))
		return -EEXIST;
	if (fd >= 0) {
		ret = window_get(dma, fd, fd_offset, size, prot, &window);
		if (ret)
			return ret;
	}
	map = malloc(sizeof(*map));
	if (map) {
		*map = (struct dma_map){
			.iova = iova, .last = iova + (size - 1), .window = window,
			.host = window ? window->base + (fd_offset - window->offset) : NULL,
			.prot = prot };
		/* Only -ENOMEM: the overlap check above rules out -EEXIST. */
		ret = vfk_range_tree_insert(&dma->maps, iova, map);
	}
	if (!map || ret) {
		free(map);
		if (window)
			window_put(window);
		return -ENOMEM;
	}
	if (vfk_is_passthrough(dev)) {
		ret = pt_map(dev, map, fd, fd_offset);
		if (ret)
			return ret;
	}
	announce_map(dev, map);
	return 0;
}

/* A passthrough device's target forgets every mapping within [iova, last]. */
static void pt_forget_range(struct vfk_device *dev, uint64_t iova, uint64_t last)
{
	uint64_t key = last, found;

	if (!vfk_is_passthrough(dev))
		return;
	for (;;) {
		struct dma_map *map = vfk_range_tree_floor(&dev->dma->maps, key, &found);
		struct vfk_dma_region r;

		if (!map || found < iova)
			break;
		r = region_of(map);
		dev->pt.ops->dma_unmap(dev, &r);
		if (!found)
			break;
		key = found - 1;
	}
}

/* Remove map from the table and free it; the bytes it covered. */
static uint64_t remove_map(struct vfk_dma *dma, struct dma_map *map)
{
	uint64_t bytes = map->last - map->iova + 1;

	vfk_range_tree_remove(&dma->maps, map->iova, NULL);
	if (dma->last_hit == map)
		dma->last_hit = NULL;
	map_destroy(map);
	return bytes;
}

/* Remove top (NULL: none) and every mapping below it that starts at iova
 * or above; the bytes they covered. */
static uint64_t remove_down_to(struct vfk_dma *dma, struct dma_map *top, uint64_t iova)
{
	uint64_t bytes = 0;

	while (top) {
		uint64_t start = top->iova;

		bytes += remove_map(dma, top);
		if (start == iova)
			break;
		top = vfk_range_tree_floor(&dma->maps, start - 1, NULL);
		if (top && top->iova < iova)
			top = NULL;
	}
	return bytes;
}

/*
 * Type1 v2's unmap: a mapping may not be split, so one that straddles
 * either end refuses the whole request; within the range everything goes,
 * and a range with nothing in it is no error (a vIOMMU unmaps whole
 * ranges it never mapped).
 */
int vfk_dma_unmap(struct vfk_device *dev, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
	struct vfk_dma *dma = dev->dma;
	struct dma_map *top, *map;
	uint64_t last, bytes;

	if (unmapped)
		*unmapped = 0;
	if (!range_valid(iova, size))
		return -EINVAL;
	last = iova + (size - 1);
	/*
	 * top, the mapping starting last at or below last, is the only one
	 * that can straddle last, and when it starts below iova the only one
	 * that can hold iova (mappings do not overlap). An unmap of exactly
	 * one mapping, the usual one, so takes two walks of the tree.
	 */
	top = vfk_range_tree_floor(&dma->maps, last, NULL);
	if (top && top->iova < iova) {
		if (top->last >= iova)
			return -EINVAL;
		top = NULL;   /* below the range: nothing in it */
	}
	if (top && top->last > last)
		return -EINVAL;
	if (top && top->iova > iova) {
		map = map_find(dma, iova, iova);
		if (map && map->iova != iova)
			return -EINVAL;
	}
	if (announce_range(dev, iova, last, !dma->quiesced))
		return -EBUSY;
	dma->quiesced = false;
	pt_forget_range(dev, iova, last);
	bytes = remove_down_to(dma, top, iova);
	if (unmapped)
		*unmapped = bytes;
	return 0;
}

int vfk_dma_unmap_all(struct vfk_device *dev)
{
	struct vfk_dma *dma = dev->dma;

	if (announce_all(dev, !dma->quiesced))
		return -EBUSY;
	dma->quiesced = false;
	pt_forget_range(dev, 0, UINT64_MAX);
	dma_clear(dma);
	return 0;
}

void vfk_dma_release(struct vfk_device *dev)
{
	announce_all(dev, false);
	dev->dma->quiesced = false;
	pt_forget_range(dev, 0, UINT64_MAX);
	dma_clear(dev->dma);
}

void vfk_dma_set_limit(struct vfk_device *dev, uint64_t max_mappings)
{
	dev->dma->max_maps = max_mappings;
}

void vfk_dma_set_byte_limit(struct vfk_device *dev, uint64_t max_bytes)
{
	dev->dma->max_bytes = max_bytes;
}

void vfk_dma_set_window_limit(struct vfk_device *dev, uint64_t max_windows)
{
	dev->dma->max_windows = max_windows;
}

uint64_t vfk_dma_count(const struct vfk_device *dev)
{
	return vfk_range_tree_count(&dev->dma->maps);
}

uint64_t vfk_dma_mapped_bytes(const struct vfk_device *dev)
{
	return dev->dma->window_bytes - dev->dma->idle_bytes;
}

void *vfk_dma_translate(struct vfk_device *dev, uint64_t iova, size_t len, uint32_t prot)
{
	struct dma_map *map;

	if (!range_valid(iova, len))
		return NULL;
	map = map_containing(dev->dma, iova, iova + (len - 1));
	if (!map || !map->window || (map->prot & prot) != prot)
		return NULL;
	return map->host + (iova - map->iova);
}

/* A copy hit a page the client took away: tell its transport, once per
 * copy; the client is dropped, the mapping stays until then. */
static int memory_lost(struct vfk_dma *dma, uint64_t iova)
{
	vfk_warn("DMA at %#llx: the client's memory there is gone (file truncated)",
		 (unsigned long long)iova);
	if (dma->transport.memory_lost)
		dma->transport.memory_lost(dma->transport.ctx);
	return -EFAULT;
}

/* Copy piece bytes between buf and an fd-backed mapping; guarded. */
static int window_copy(struct vfk_dma *dma, struct dma_map *map, uint64_t iova,
		       uint8_t *buf, size_t piece, bool write)
{
	uint8_t *host = map->host + (iova - map->iova);
	int ret = write ? vfk_copy_guarded(host, buf, piece, host)
			: vfk_copy_guarded(buf, host, piece, host);

	return ret ? memory_lost(dma, iova) : 0;
}

/*
 * Walk [iova, iova + len) mapping by mapping. With copy false only check
 * that every byte is mapped with the access and reachable, so a copy that
 * would fault halfway is refused before any byte moves.
 */
static int dma_walk(struct vfk_dma *dma, uint64_t iova, uint8_t *buf, size_t len,
		    bool write, bool copy)
{
	uint32_t need = write ? VFK_DMA_WRITE : VFK_DMA_READ;

	while (len) {
		struct dma_map *map = map_containing(dma, iova, iova);
		size_t piece = map && map->last - iova < len - 1 ? map->last - iova + 1 : len;
		int ret = 0;

		if (!map)
			return -EFAULT;
		if (!(map->prot & need))
			return -EACCES;
		if (!map->window && !dma->transport.rw)
			return -ENOTCONN;
		if (copy && map->window)
			ret = window_copy(dma, map, iova, buf, piece, write);
		else if (copy)
			ret = dma->transport.rw(dma->transport.ctx, iova, buf, piece, write);
		if (ret)
			return ret;
		iova += piece;
		buf += piece;
		len -= piece;
	}
	return 0;
}

static int dma_rw(struct vfk_device *dev, uint64_t iova, void *buf, size_t len, bool write)
{
	int ret;

	if (!len)
		return 0;
	if (!range_valid(iova, len))
		return -EFAULT;
	ret = dma_walk(dev->dma, iova, buf, len, write, false);
	return ret ? ret : dma_walk(dev->dma, iova, buf, len, write, true);
}

int vfk_dma_read(struct vfk_device *dev, uint64_t iova, void *buf, size_t len)
{
	return dma_rw(dev, iova, buf, len, false);
}

int vfk_dma_write(struct vfk_device *dev, uint64_t iova, const void *buf, size_t len)
{
	/* dma_walk only reads buf when write is true. */
	return dma_rw(dev, iova, (void *)buf, len, true);
}
