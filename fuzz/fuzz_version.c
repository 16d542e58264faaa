// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the JSON of a vfio-user VERSION message, as a hostile peer
 * could send it. The first input byte sizes the error buffer (0: none),
 * the rest is the JSON part, NUL or not. Checked: an accepted answer has
 * values in the ranges the parser promises, and what we build from it
 * parses back to the same capabilities.
 */
#include <errno.h>
#include <string.h>

#include <vfiokit/log.h>
#include "vfio-user/version.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vfk_log_set_level(VFK_LOG_ERROR);
	return 0;
}

static void check_round_trip(const struct vfu_caps *caps)
{
	static char json[4096];
	struct vfu_caps again;
	int len = vfu_version_build(caps, json, sizeof(json));

	FUZZ_CHECK(len > 0 && (size_t)len <= sizeof(json));
	FUZZ_CHECK(json[len - 1] == '\0');
	FUZZ_CHECK(vfu_version_parse(json, (size_t)len, &again, NULL, 0) == 0);
	FUZZ_CHECK(again.max_msg_fds == caps->max_msg_fds);
	FUZZ_CHECK(again.max_data_xfer_size == caps->max_data_xfer_size);
	FUZZ_CHECK(again.max_dma_maps == caps->max_dma_maps);
	FUZZ_CHECK(again.pgsizes == caps->pgsizes);
	FUZZ_CHECK(again.write_multiple == caps->write_multiple);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[64];
	size_t err_len;
	struct vfu_caps caps;
	int ret;

	if (size == 0)
		return 0;
	err_len = data[0] % sizeof(err);
	memset(err, 'x', sizeof(err));
	ret = vfu_version_parse((const char *)data + 1, size - 1, &caps,
				err_len ? err : NULL, err_len);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
		/* The reason fits in what we gave, NUL included. */
		FUZZ_CHECK(err_len == 0 || ret == -ENOMEM || memchr(err, '\0', err_len) != NULL);
		FUZZ_CHECK(err_len == 0 || err[err_len] == 'x' || err_len == sizeof(err));
		return 0;
	}
	FUZZ_CHECK(caps.max_data_xfer_size > 0);
	FUZZ_CHECK(caps.pgsizes != 0);
	check_round_trip(&caps);
	return 0;
}
