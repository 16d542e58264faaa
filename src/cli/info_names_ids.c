// SPDX-License-Identifier: MIT
/*
 * info_names.c for a build without libpci (static builds: Debian has no
 * static libpci): every name is the number, formatted as lspci formats an
 * id pci.ids does not name, so the text reads the same as on a system
 * whose pci.ids lacks the device.
 */
#include <stdio.h>
#include <stdlib.h>

#include "info.h"

struct info_names {
	int numeric;
};

struct info_names *info_names_open(int numeric)
{
	struct info_names *n = calloc(1, sizeof(*n));

	if (n)
		n->numeric = numeric > 2 ? 2 : numeric;
	return n;
}

void info_names_close(struct info_names *n)
{
	free(n);
}

/* "Device 10de:1db1", "10de:1db1" (-n) or "Device [10de:1db1]" (-nn). */
static const char *number(const struct info_names *n, const char *word, const char *id,
			  char *buf, size_t len)
{
	if (n->numeric == 1)
		snprintf(buf, len, "%s", id);
	else if (n->numeric == 2)
		snprintf(buf, len, "%s [%s]", word, id);
	else
		snprintf(buf, len, "%s %s", word, id);
	return buf;
}

const char *info_name(struct info_names *n, enum info_name what, const struct info_snapshot *s,
		      bool exact, char *buf, size_t len)
{
	char id[16];

	if (exact)
		return NULL;
	switch (what) {
	case INFO_NAME_DEVICE:
		snprintf(id, sizeof(id), "%04x:%04x", info_cfg(s, 0x00, 2), info_cfg(s, 0x02, 2));
		return number(n, "Device", id, buf, len);
	case INFO_NAME_SUBSYSTEM:
		snprintf(id, sizeof(id), "%04x:%04x", info_cfg(s, 0x2c, 2), info_cfg(s, 0x2e, 2));
		return number(n, "Device", id, buf, len);
	case INFO_NAME_CLASS:
		snprintf(id, sizeof(id), "%04x", info_cfg(s, 0x0a, 2));
		return number(n, "Class", id, buf, len);
	case INFO_NAME_VENDOR:
	case INFO_NAME_DEVICE_ONLY:
	case INFO_NAME_SUBSYSTEM_VENDOR:
	case INFO_NAME_PROGIF:
		break;
	}
	return NULL;
}
