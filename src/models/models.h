/* SPDX-License-Identifier: MIT */
/*
 * The registry of device models `vfiokit serve` can build: each with a
 * name, a one-line summary, its options (key, default, help) and a
 * constructor taking "key=value" strings.
 */
#ifndef VFIOKIT_MODELS_MODELS_H
#define VFIOKIT_MODELS_MODELS_H

#include <stddef.h>

#include <vfiokit/device.h>

#include "model_args.h"

struct vfk_model {
	const char *name;
	const char *summary;
	const struct vfk_model_option *options;   /* ends with key == NULL */
	/* Build a device named dev_name from nkv "key=value" strings. */
	int (*create)(const char *dev_name, const char *const *kv, size_t nkv,
		      struct vfk_device **out, char *err, size_t err_len);
};

/** Every model, in listing order; the count goes to *count. */
const struct vfk_model *vfk_models(size_t *count);

/** The model called name, or NULL. */
const struct vfk_model *vfk_model_find(const char *name);

/**
 * Build a device of model `model` named dev_name from "key=value" options.
 * -ENOENT for an unknown model or key, -EINVAL/-ERANGE for a bad value or
 * a combination the model refuses; a one-line reason goes to err.
 */
int vfk_model_create(const char *model, const char *dev_name, const char *const *kv,
		     size_t nkv, struct vfk_device **out, char *err, size_t err_len);

#endif
