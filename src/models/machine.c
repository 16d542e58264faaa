// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

int vfk_machine_add(struct vfk_machine *m, const char *name, const char *model,
		    const char *socket, const char *const *kv, size_t nkv)
{
	struct vfk_machine_device *d;

	if (m->count >= VFK_MACHINE_MAX_DEVICES)
		return -ENOSPC;
	if (nkv > VFK_MACHINE_MAX_OPTIONS)
		return -E2BIG;
	d = &m->devices[m->count];
	memset(d, 0, sizeof(*d));
	d->name = strdup(name);
	d->model = strdup(model);
	d->socket = strdup(socket);
	for (size_t i = 0; i < nkv; i++) {
		d->kv[i] = strdup(kv[i]);
		d->nkv += d->kv[i] != NULL;
	}
	m->count++;
	if (!d->name || !d->model || !d->socket || d->nkv != nkv)
		return -ENOMEM;
	return 0;
}

void vfk_machine_free(struct vfk_machine *m)
{
	for (size_t i = 0; i < m->count; i++) {
		struct vfk_machine_device *d = &m->devices[i];

		free(d->name);
		free(d->model);
		free(d->socket);
		for (size_t k = 0; k < d->nkv; k++)
			free(d->kv[k]);
	}
	m->count = 0;
	m->socket_mode[0] = m->socket_group[0] = '\0';
}

/* Where skiboot puts the RAM of GPUs 0 and 1 of chip 0 (GPU_MEM_4T_DOWN). */
static const char *const default_tgts[] = { "0x3e000000000", "0x3c000000000" };

static int add_default_gpu(struct vfk_machine *m, const char *dir, unsigned int g)
{
	char name[32], sock[4096], tgt[32];
	const char *kv[2] = { tgt };
	int ret;

	snprintf(tgt, sizeof(tgt), "tgt=%s", default_tgts[g]);
	snprintf(name, sizeof(name), "gpu%u", g);
	snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name);
	ret = vfk_machine_add(m, name, "v100", sock, kv, 1);
	for (unsigned int l = 0; !ret && l < 2; l++) {
		snprintf(name, sizeof(name), "gpu%u-nvlink%u", g, l);
		snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name);
		kv[1] = "atsd=yes";
		ret = vfk_machine_add(m, name, "npu2", sock, kv, 2);
	}
	return ret;
}

int vfk_machine_default(struct vfk_machine *m, const char *dir)
{
	int ret = 0;

	m->count = 0;
	m->socket_mode[0] = m->socket_group[0] = '\0';
	for (unsigned int g = 0; !ret && g < 2; g++)
		ret = add_default_gpu(m, dir, g);
	if (ret)
		vfk_machine_free(m);
	return ret;
}
