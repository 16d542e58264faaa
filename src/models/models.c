// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dmaengine.h"
#include "models.h"
#include "npu2.h"
#include "v100.h"

#define KEY_MAX 64

static const struct vfk_model_option dmaengine_options[] = {
	VFK_OPTION(struct vfk_dmaengine_params, vendor_id, "vendor", "0x1234", "PCI vendor id"),
	VFK_OPTION(struct vfk_dmaengine_params, device_id, "device", "0x10d0", "PCI device id"),
	{ NULL },
};

static const struct vfk_model_option v100_options[] = {
	VFK_OPTION(struct vfk_v100_params, tgt, "tgt", "0x3e000000000",
		   "NVLink target address (SSATGT of the GPU RAM region)"),
	VFK_OPTION(struct vfk_v100_params, aperture, "aperture", "128G",
		   "GPU RAM region size, a multiple of the page size"),
	VFK_OPTION(struct vfk_v100_params, bar1_size, "bar1", "16G",
		   "BAR1 size, a power of two >= 16M"),
	VFK_OPTION(struct vfk_v100_params, vendor_id, "vendor", "0x10de", "PCI vendor id"),
	VFK_OPTION(struct vfk_v100_params, device_id, "device", "0x1db1", "PCI device id"),
	VFK_OPTION(struct vfk_v100_params, subsys_vendor_id, "subsys_vendor", "0x10de",
		   "PCI subsystem vendor id"),
	VFK_OPTION(struct vfk_v100_params, subsys_id, "subsys", "0x1212", "PCI subsystem id"),
	{ NULL },
};

static const struct vfk_model_option npu2_options[] = {
	VFK_OPTION(struct vfk_npu2_params, tgt, "tgt", "0x3e000000000",
		   "tgt of the GPU this link goes to (SSATGT)"),
	VFK_OPTION(struct vfk_npu2_params, link_speed, "link_speed", "0x9",
		   "NVLink speed code (LNKSPD)"),
	VFK_OPTION(struct vfk_npu2_params, atsd, "atsd", "yes",
		   "an ATSD register is assigned (region is one page, else size 0)"),
	VFK_OPTION(struct vfk_npu2_params, vendor_id, "vendor", "0x1014", "PCI vendor id"),
	VFK_OPTION(struct vfk_npu2_params, device_id, "device", "0x04ea", "PCI device id"),
	{ NULL },
};

/* Set every "key=value" in params through options; a reason in err on the first failure. */
static int apply_kv(void *params, const struct vfk_model_option *options,
		    const char *const *kv, size_t nkv, char *err, size_t err_len)
{
	for (size_t i = 0; i < nkv; i++) {
		char key[KEY_MAX];
		const char *value;
		int ret = vfk_split_kv(kv[i], key, sizeof(key), &value);

		if (ret) {
			snprintf(err, err_len, "'%s' is not key=value", kv[i]);
			return ret;
		}
		if (vfk_kv_has_key(kv, i, key)) {
			snprintf(err, err_len, "option '%s' given twice", key);
			return -EINVAL;
		}
		ret = vfk_option_set(options, params, key, value);
		if (ret == -ENOENT)
			snprintf(err, err_len, "unknown option '%s'", key);
		else if (ret)
			snprintf(err, err_len, "bad value '%s' for %s", value, key);
		if (ret)
			return ret;
	}
	return 0;
}

/* A model constructor's result, with a reason in err when it failed. */
static int create_result(int ret, const char *model, char *err, size_t err_len)
{
	if (ret == -EINVAL)
		snprintf(err, err_len, "%s: options out of range (see 'vfiokit serve --list')",
			 model);
	else if (ret)
		snprintf(err, err_len, "%s: cannot build the device: %s", model, strerror(-ret));
	return ret;
}

/* Each model's builder: its params from the defaults and kv, then the device. */
static int v100_build(const char *name, const char *const *kv, size_t nkv,
		      struct vfk_device **out, char *err, size_t err_len)
{
	struct vfk_v100_params p;
	int ret;

	vfk_v100_params_default(&p);
	ret = apply_kv(&p, v100_options, kv, nkv, err, err_len);
	return ret ? ret : create_result(vfk_v100_create(name, &p, out), "v100", err, err_len);
}

static int npu2_build(const char *name, const char *const *kv, size_t nkv,
		      struct vfk_device **out, char *err, size_t err_len)
{
	struct vfk_npu2_params p;
	int ret;

	vfk_npu2_params_default(&p);
	ret = apply_kv(&p, npu2_options, kv, nkv, err, err_len);
	return ret ? ret : create_result(vfk_npu2_create(name, &p, out), "npu2", err, err_len);
}

static int dmaengine_build(const char *name, const char *const *kv, size_t nkv,
			   struct vfk_device **out, char *err, size_t err_len)
{
	struct vfk_dmaengine_params p;
	int ret;

	vfk_dmaengine_params_default(&p);
	ret = apply_kv(&p, dmaengine_options, kv, nkv, err, err_len);
	return ret ? ret : create_result(vfk_dmaengine_create(name, &p, out), "dmaengine",
					 err, err_len);
}

static const struct vfk_model models[] = {
	{ "v100", "NVIDIA V100 SXM2 GPU with an NVLink2 GPU RAM region",
	  v100_options, v100_build },
	{ "npu2", "IBM POWER9 NPU2 NVLink2 bridge with an ATSD region",
	  npu2_options, npu2_build },
	{ "dmaengine", "example copy engine: DMA, MSI/MSI-X/INTx (docs/models.md)",
	  dmaengine_options, dmaengine_build },
};

const struct vfk_model *vfk_models(size_t *count)
{
	*count = sizeof(models) / sizeof(models[0]);
	return models;
}

const struct vfk_model *vfk_model_find(const char *name)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i].name, name))
			return &models[i];
	return NULL;
}

int vfk_model_create(const char *model, const char *dev_name, const char *const *kv,
		     size_t nkv, struct vfk_device **out, char *err, size_t err_len)
{
	const struct vfk_model *m = vfk_model_find(model);

	if (!m) {
		snprintf(err, err_len, "unknown model '%s' (see 'vfiokit serve --list')", model);
		return -ENOENT;
	}
	return m->create(dev_name, kv, nkv, out, err, err_len);
}
