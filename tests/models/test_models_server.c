// SPDX-License-Identifier: MIT
/*
 * Both models through a real vfio-user server on a socket in a temp dir,
 * seen through the client API: region info field by field, GPU RAM
 * coherence between the mapped region and REGION_READ/WRITE (last page
 * of the 128 GiB aperture included), a zero-size ATSD region, and GPU RAM
 * that no client can resize and that the next client finds empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/client.h>
#include <vfiokit/device.h>
#include <vfiokit/server.h>

#include "models.h"

#define RAM_INDEX VFIO_PCI_NUM_REGIONS
#define GIB (1ull << 30)

struct fixture {
	char dir[64];
	char gpu[96], npu[96], npu_zero[96];
	struct vfk_device *devs[3];
	struct vfk_server *srv;
	pthread_t thread;
};

static void *run_server(void *arg)
{
	vfk_server_run(arg);
	return NULL;
}

static struct vfk_device *build(const char *model, const char *const *kv, size_t nkv)
{
	struct vfk_device *dev;
	char err[128];

	assert_int_equal(vfk_model_create(model, model, kv, nkv, &dev, err, sizeof(err)), 0);
	return dev;
}

static int setup(void **state)
{
	static const char *zero_kv[] = { "atsd=no", "tgt=0x3c000000000", "link_speed=0x8" };
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/vfk-models-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->gpu, sizeof(f->gpu), "%s/gpu.sock", f->dir);
	snprintf(f->npu, sizeof(f->npu), "%s/npu.sock", f->dir);
	snprintf(f->npu_zero, sizeof(f->npu_zero), "%s/npu0.sock", f->dir);
	f->devs[0] = build("v100", NULL, 0);
	f->devs[1] = build("npu2", NULL, 0);
	f->devs[2] = build("npu2", zero_kv, 3);
	assert_int_equal(vfk_server_create(&f->srv), 0);
	assert_int_equal(vfk_server_add_device(f->srv, f->devs[0], f->gpu), 0);
	assert_int_equal(vfk_server_add_device(f->srv, f->devs[1], f->npu), 0);
	assert_int_equal(vfk_server_add_device(f->srv, f->devs[2], f->npu_zero), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, run_server, f->srv), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfk_server_stop(f->srv);
	pthread_join(f->thread, NULL);
	vfk_server_destroy(f->srv);
	for (int i = 0; i < 3; i++)
		vfk_device_destroy(f->devs[i]);
	assert_int_equal(rmdir(f->dir), 0);   /* the server removed its sockets */
	free(f);
	return 0;
}

static struct vfk_client *open_target(const char *path)
{
	struct vfk_client *c;
	char err[256] = "";

	assert_int_equal(vfk_client_open(path, NULL, &c, err, sizeof(err)), 0);
	return c;
}

static void expect_cap(const struct vfk_region_info *ri, uint32_t at, uint16_t id,
		       uint32_t next)
{
	struct vfio_info_cap_header h;

	memcpy(&h, ri->raw + at, sizeof(h));
	assert_int_equal(h.id, id);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.next, next);
}

static uint64_t raw_u64(const struct vfk_region_info *ri, uint32_t at)
{
	uint64_t v;

	memcpy(&v, ri->raw + at, sizeof(v));
	return v;
}

static uint32_t raw_u32(const struct vfk_region_info *ri, uint32_t at)
{
	uint32_t v;

	memcpy(&v, ri->raw + at, sizeof(v));
	return v;
}

static void test_gpu_ram_info(void **state)
{
	struct fixture *f = *state;
	struct vfk_client *c = open_target(f->gpu);
	struct vfk_region_info *ri;

	assert_int_equal(vfk_client_find_region(c, 0x800010de,
						VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM), RAM_INDEX);
	assert_int_equal(vfk_client_region_info(c, RAM_INDEX, &ri), 0);
	/* Asked with 32, told 64, asked again. */
	assert_int_equal(ri->calls, 2);
	assert_int_equal(ri->hdr.argsz, 64);
	assert_int_equal(ri->hdr.cap_offset, 32);
	assert_int_equal(ri->hdr.index, RAM_INDEX);
	assert_int_equal(ri->hdr.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				       VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_true(ri->hdr.size == 128 * GIB);
	assert_true(ri->mmap_fd >= 0);
	expect_cap(ri, 32, VFIO_REGION_INFO_CAP_TYPE, 48);
	assert_int_equal(raw_u32(ri, 40), 0x800010de);
	assert_int_equal(raw_u32(ri, 44), VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM);
	expect_cap(ri, 48, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, 0);
	assert_true(raw_u64(ri, 56) == 0x3e000000000ull);
	assert_int_equal(ri->chain_status, 0);
	assert_int_equal(ri->chain.count, 2);
	vfk_region_info_free(ri);
	vfk_client_close(c);
}

static void check_atsd_caps(const struct vfk_region_info *ri, uint64_t tgt, uint32_t speed)
{
	assert_int_equal(ri->calls, 2);
	assert_int_equal(ri->hdr.argsz, 80);
	assert_int_equal(ri->hdr.cap_offset, 32);
	expect_cap(ri, 32, VFIO_REGION_INFO_CAP_TYPE, 48);
	assert_int_equal(raw_u32(ri, 40), 0x80001014);
	assert_int_equal(raw_u32(ri, 44), VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD);
	expect_cap(ri, 48, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, 64);
	assert_true(raw_u64(ri, 56) == tgt);
	expect_cap(ri, 64, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD, 0);
	assert_int_equal(raw_u32(ri, 72), speed);
	assert_int_equal(raw_u32(ri, 76), 0);
}

static void test_atsd_info(void **state)
{
	struct fixture *f = *state;
	struct vfk_client *c = open_target(f->npu);
	struct vfk_region_info *ri;
	uint64_t v = 0x77;
	uint64_t *map;

	assert_int_equal(vfk_client_find_region(c, 0x80001014,
						VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD), RAM_INDEX);
	assert_int_equal(vfk_client_region_info(c, RAM_INDEX, &ri), 0);
	check_atsd_caps(ri, 0x3e000000000ull, 0x9);
	assert_int_equal(ri->hdr.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				       VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_true(ri->hdr.size == (uint64_t)sysconf(_SC_PAGESIZE));
	map = vfk_client_region_mmap(c, ri, 0, (size_t)ri->hdr.size, PROT_READ | PROT_WRITE);
	assert_non_null(map);
	assert_int_equal(vfk_client_region_write(c, RAM_INDEX, 8, &v, 8), 8);
	assert_true(map[1] == 0x77);
	munmap(map, (size_t)ri->hdr.size);
	vfk_region_info_free(ri);
	vfk_client_close(c);
}

static void test_atsd_zero_size(void **state)
{
	struct fixture *f = *state;
	struct vfk_client *c = open_target(f->npu_zero);
	struct vfk_region_info *ri;
	uint64_t v;

	assert_int_equal(vfk_client_region_info(c, RAM_INDEX, &ri), 0);
	check_atsd_caps(ri, 0x3c000000000ull, 0x8);
	assert_true(ri->hdr.size == 0);
	assert_int_equal(ri->hdr.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				       VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(ri->mmap_fd, -1);
	assert_null(vfk_client_region_mmap(c, ri, 0, 4096, PROT_READ));
	assert_true(vfk_client_region_read(c, RAM_INDEX, 0, &v, 8) < 0);
	vfk_region_info_free(ri);
	vfk_client_close(c);
}

/* A store through the client's mapping is what REGION_READ returns, and back. */
static void check_coherent(struct vfk_client *c, const struct vfk_region_info *ri,
			   uint64_t offset)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t base = offset & ~(page - 1);
	uint64_t in = 0xa5a5000000000000ull | offset, out = 0;
	uint8_t *map = vfk_client_region_mmap(c, ri, base, (size_t)page, PROT_READ | PROT_WRITE);

	assert_non_null(map);
	memcpy(map + (offset - base), &in, 8);
	assert_int_equal(vfk_client_region_read(c, RAM_INDEX, offset, &out, 8), 8);
	assert_true(out == in);
	in = ~in;
	assert_int_equal(vfk_client_region_write(c, RAM_INDEX, offset, &in, 8), 8);
	memcpy(&out, map + (offset - base), 8);
	assert_true(out == in);
	munmap(map, (size_t)page);
}

static void test_gpu_ram_coherent(void **state)
{
	struct fixture *f = *state;
	struct vfk_client *c = open_target(f->gpu);
	struct vfk_region_info *ri;
	const uint64_t size = 128 * GIB, page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t offsets[] = { 0, 4096 + 16, 3 * GIB + 40, size - page, size - 8 };
	uint8_t big[8192];

	assert_int_equal(vfk_client_region_info(c, RAM_INDEX, &ri), 0);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		check_coherent(c, ri, offsets[i]);
	/* A larger read across the last two pages, and nothing past the end. */
	assert_int_equal(vfk_client_region_read(c, RAM_INDEX, size - sizeof(big), big,
						sizeof(big)), sizeof(big));
	assert_true(vfk_client_region_read(c, RAM_INDEX, size - 4, big, 8) < 0);
	vfk_region_info_free(ri);
	vfk_client_close(c);
}

/* The server frees the departed client's memory in its own thread: wait for it. */
static void wait_scrubbed(int fd)
{
	struct stat st;

	for (int i = 0; i < 2000; i++) {
		assert_int_equal(fstat(fd, &st), 0);
		if (st.st_blocks == 0)
			return;
		usleep(1000);
	}
	fail_msg("the departed client's GPU RAM was not scrubbed");
}

/*
 * GPU RAM is the device's, not the client's: the fd it hands out can be
 * neither resized (that made every later REGION_READ fail) nor sealed
 * further; what one client stored is gone for the next one, and the fd
 * and mapping a departed client kept show nothing of the next one's data.
 */
static void test_gpu_ram_between_clients(void **state)
{
	struct fixture *f = *state;
	const uint64_t at = 3 * GIB + 64, page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t pattern = 0x5e5e5e5e12345678ull;
	struct vfk_client *c = open_target(f->gpu);
	struct vfk_region_info *ri;
	uint64_t v = 0;
	uint8_t *map;
	int kept;

	assert_int_equal(vfk_client_region_info(c, RAM_INDEX, &ri), 0);
	assert_int_equal(ftruncate(ri->mmap_fd, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(ri->mmap_fd, (off_t)(2 * ri->hdr.size)), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(ri->mmap_fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(ri->mmap_fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
	assert_int_equal(errno, EPERM);
	map = vfk_client_region_mmap(c, ri, at & ~(page - 1), (size_t)page,
				     PROT_READ | PROT_WRITE);
	assert_non_null(map);
	memcpy(map + (at & (page - 1)), &pattern, sizeof(pattern));
	assert_int_equal(vfk_client_region_read(c, RAM_INDEX, at, &v, 8), 8);
	assert_true(v == pattern);
	kept = dup(ri->mmap_fd);
	assert_true(kept >= 0);
	vfk_region_info_free(ri);
	vfk_client_close(c);
	wait_scrubbed(kept);

	c = open_target(f->gpu);
	assert_int_equal(vfk_client_region_read(c, RAM_INDEX, at, &v, 8), 8);
	assert_true(v == 0);
	memcpy(&v, map + (at & (page - 1)), sizeof(v));
	assert_true(v == 0);
	/* The next client's stores stay out of what the first one kept. */
	v = ~pattern;
	assert_int_equal(vfk_client_region_write(c, RAM_INDEX, at, &v, 8), 8);
	memcpy(&v, map + (at & (page - 1)), sizeof(v));
	assert_true(v == 0);
	assert_int_equal(vfk_client_region_info(c, RAM_INDEX, &ri), 0);
	assert_int_equal(fcntl(ri->mmap_fd, F_GET_SEALS),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	vfk_region_info_free(ri);
	vfk_client_close(c);
	munmap(map, (size_t)page);
	close(kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpu_ram_info),
		cmocka_unit_test(test_atsd_info),
		cmocka_unit_test(test_atsd_zero_size),
		cmocka_unit_test(test_gpu_ram_coherent),
		cmocka_unit_test(test_gpu_ram_between_clients),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
