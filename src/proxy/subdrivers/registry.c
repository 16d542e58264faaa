// SPDX-License-Identifier: MIT
/* The table of subdrivers; add one line per subdriver. */
#include <string.h>

#include "nvlink2.h"
#include "subdrivers.h"

static const struct vfk_proxy_subdriver *const subdrivers[] = {
	&vfk_subdriver_example_region,
	&vfk_subdriver_quirk_example,
	&vfk_nvlink2_subdriver,
};

const struct vfk_proxy_subdriver *const *vfk_subdrivers(size_t *count)
{
	*count = sizeof(subdrivers) / sizeof(subdrivers[0]);
	return subdrivers;
}

const struct vfk_proxy_subdriver *vfk_subdriver_find(const char *name)
{
	for (size_t i = 0; i < sizeof(subdrivers) / sizeof(subdrivers[0]); i++) {
		if (!strcmp(subdrivers[i]->name, name))
			return subdrivers[i];
	}
	return NULL;
}
