// SPDX-License-Identifier: MIT
/*
 * Vendor, device and class names for `vfiokit info`, from the system's
 * pci.ids through libpci, so they read as lspci prints them and stay as
 * current as the distribution's list (no table of our own).
 */
#include <stdlib.h>

#include <pci/pci.h>

#include "info.h"

struct info_names {
	struct pci_access *pacc;
};

/* libpci's messages are about its own files (a missing pci.ids): names
 * then fall back to numbers, which is all we need; say nothing. */
static void names_quiet(char *msg, ...)
{
	(void)msg;
}

/* Only for what libpci cannot go on after (out of memory): it must not return. */
static void __attribute__((noreturn)) names_fatal(char *msg, ...)
{
	(void)msg;
	abort();
}

void info_names_close(struct info_names *n)
{
	if (!n)
		return;
	pci_cleanup(n->pacc);
	free(n);
}

struct info_names *info_names_open(int numeric)
{
	char param[] = "hwdb.disable", value[] = "1";
	struct info_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	/* Only names are looked up: no pci_init(), which would probe for a bus. */
	n->pacc = pci_alloc();
	if (!n->pacc) {
		free(n);
		return NULL;
	}
	n->pacc->warning = names_quiet;
	n->pacc->debug = names_quiet;
	n->pacc->error = names_fatal;
	n->pacc->numeric_ids = numeric > 2 ? 2 : numeric;
	/*
	 * pci.ids itself, not udev's hwdb copy of it (whose handle libudev
	 * leaks). A libpci built without hwdb has no such parameter: fine.
	 */
	pci_set_param(n->pacc, param, value);
	return n;
}

static const char *lookup(struct pci_access *a, enum info_name what, const struct info_snapshot *s,
			  int flags, char *buf, size_t len)
{
	unsigned int vendor = info_cfg(s, 0x00, 2), device = info_cfg(s, 0x02, 2);
	unsigned int sv = info_cfg(s, 0x2c, 2), sd = info_cfg(s, 0x2e, 2);
	unsigned int cls = info_cfg(s, 0x0a, 2), progif = info_cfg(s, 0x09, 1);
	int ilen = len > 0x7fffffff ? 0x7fffffff : (int)len;

	switch (what) {
	case INFO_NAME_VENDOR:
		return pci_lookup_name(a, buf, ilen, flags | PCI_LOOKUP_VENDOR, vendor);
	case INFO_NAME_DEVICE:
		return pci_lookup_name(a, buf, ilen, flags | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
				       vendor, device);
	case INFO_NAME_DEVICE_ONLY:
		return pci_lookup_name(a, buf, ilen, flags | PCI_LOOKUP_DEVICE, vendor, device);
	case INFO_NAME_SUBSYSTEM:
		return pci_lookup_name(a, buf, ilen, flags | PCI_LOOKUP_SUBSYSTEM |
				       PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE, vendor, device, sv, sd);
	case INFO_NAME_SUBSYSTEM_VENDOR:
		return pci_lookup_name(a, buf, ilen, flags | PCI_LOOKUP_SUBSYSTEM |
				       PCI_LOOKUP_VENDOR, sv);
	case INFO_NAME_CLASS:
		return pci_lookup_name(a, buf, ilen, flags | PCI_LOOKUP_CLASS, cls);
	case INFO_NAME_PROGIF:
		/* lspci names a prog-if only when pci.ids has it, never as a number. */
		return pci_lookup_name(a, buf, ilen, flags | PCI_LOOKUP_PROGIF |
				       PCI_LOOKUP_NO_NUMBERS, cls, progif);
	}
	return NULL;
}

const char *info_name(struct info_names *n, enum info_name what, const struct info_snapshot *s,
		      bool exact, char *buf, size_t len)
{
	const char *name;
	int numeric;

	if (!exact)
		return lookup(n->pacc, what, s, 0, buf, len);
	/* The plain name or nothing, whatever -n asked of the text form. */
	numeric = n->pacc->numeric_ids;
	n->pacc->numeric_ids = 0;
	name = lookup(n->pacc, what, s, PCI_LOOKUP_NO_NUMBERS, buf, len);
	n->pacc->numeric_ids = numeric;
	return name;
}
