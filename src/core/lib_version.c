// SPDX-License-Identifier: MIT
/* The library's own version, fixed when it was built (vfiokit/version.h). */
#include <vfiokit/version.h>

const char *vfk_version(void)
{
	return VFK_VERSION_STRING;
}

unsigned int vfk_version_number(void)
{
	return VFK_VERSION_NUMBER;
}
