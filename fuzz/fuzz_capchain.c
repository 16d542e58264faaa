// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the region-info capability chain parser, fed the bytes a
 * hostile vfio-user server or a buggy kernel could answer. Beyond "no
 * crash", it checks what the parser promises about an accepted chain.
 */
#include <errno.h>
#include <string.h>

#include <vfiokit/capchain.h>
#include <vfiokit/log.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vfk_log_set_level(VFK_LOG_ERROR);
	return 0;
}

/* Touch every byte a cap claims, so ASan sees any that lie outside the input. */
static unsigned int sum_raw(const struct vfk_cap *cap)
{
	unsigned int sum = 0;

	for (uint32_t i = 0; i < cap->raw_len; i++)
		sum += cap->raw[i];
	return sum;
}

static void check_cap(const struct vfk_cap *cap, const uint8_t *data, size_t size)
{
	struct vfio_region_sparse_mmap_area area;

	FUZZ_CHECK(cap->offset >= sizeof(struct vfio_region_info));
	FUZZ_CHECK(cap->offset % 4 == 0);
	FUZZ_CHECK(cap->raw == data + cap->offset);
	FUZZ_CHECK(cap->raw_len >= (cap->status == VFK_CAP_OK ? 8u : 4u));
	FUZZ_CHECK(cap->raw_len <= size - cap->offset);
	(void)sum_raw(cap);
	(void)vfk_cap_name(cap->id);
	if (cap->status != VFK_CAP_OK)
		return;
	FUZZ_CHECK(cap->version == 1);
	if (cap->id == VFIO_REGION_INFO_CAP_TYPE)
		(void)vfk_region_type_name(cap->u.type.type, cap->u.type.subtype);
	if (cap->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
		for (uint32_t i = 0; i < cap->u.sparse.nr_areas; i++)
			FUZZ_CHECK(vfk_cap_sparse_area(cap, i, &area));
		FUZZ_CHECK(!vfk_cap_sparse_area(cap, cap->u.sparse.nr_areas, &area));
	}
}

/*
 * No later cap starts inside a decoded cap. (Undecoded caps promise less:
 * a chain of unknown caps 4 bytes apart, headers overlapping, is accepted
 * by design; see tests/client/test_capchain.c test_step_limit.)
 */
static void check_no_overlap(const struct vfk_cap_chain *chain)
{
	for (unsigned int i = 0; i < chain->count; i++) {
		const struct vfk_cap *a = &chain->caps[i];

		for (unsigned int j = i + 1; j < chain->count && a->status == VFK_CAP_OK; j++) {
			const struct vfk_cap *b = &chain->caps[j];

			FUZZ_CHECK(b->offset <= a->offset || b->offset >= a->offset + a->raw_len);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vfk_cap_chain chain;
	char err[128];
	int ret;

	err[0] = '\0';
	ret = vfk_capchain_parse(data, size, &chain, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EPROTO);
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	FUZZ_CHECK(chain.count <= VFK_MAX_CAPS);
	FUZZ_CHECK(chain.count <= (size - sizeof(struct vfio_region_info)) / 8);
	for (unsigned int i = 0; i < chain.count; i++) {
		check_cap(&chain.caps[i], data, size);
		FUZZ_CHECK(vfk_capchain_find(&chain, chain.caps[i].id) != NULL ||
			   chain.caps[i].status != VFK_CAP_OK);
	}
	FUZZ_CHECK(chain.count == 0 || chain.caps[chain.count - 1].next == 0);
	check_no_overlap(&chain);
	return 0;
}
