/* SPDX-License-Identifier: MIT */
/*
 * The subdrivers `vfiokit proxy --subdriver NAME` knows: a table, as the
 * models' (src/models/models.c). Each subdriver is one file here, built
 * on the public API (vfiokit/proxy.h) only, as a third party's would be.
 */
#ifndef VFIOKIT_PROXY_SUBDRIVERS_H
#define VFIOKIT_PROXY_SUBDRIVERS_H

#include <stddef.h>

#include <vfiokit/proxy.h>

extern const struct vfk_proxy_subdriver vfk_subdriver_example_region;
extern const struct vfk_proxy_subdriver vfk_subdriver_quirk_example;

/** Every subdriver, in listing order; the count goes to *count. */
const struct vfk_proxy_subdriver *const *vfk_subdrivers(size_t *count);

/** The subdriver called name, or NULL. */
const struct vfk_proxy_subdriver *vfk_subdriver_find(const char *name);

#endif
