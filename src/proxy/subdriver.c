// SPDX-License-Identifier: MIT
/*
 * Attaching subdrivers: the device checked against the subdriver's ids,
 * its key=value options against its table (every key known, none given
 * twice), then its attach op. Detached in reverse order at close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy_internal.h"

#define PROXY_MAX_ARGS 32u

struct vfk_proxy_args {
	const struct vfk_proxy_option *options;
	size_t n;
	const char *keys[PROXY_MAX_ARGS];     /* into kv, up to '=' (key_len bytes) */
	size_t key_len[PROXY_MAX_ARGS];
	const char *values[PROXY_MAX_ARGS];   /* into kv, after '=' */
};

bool vfk_proxy_subdriver_matches(const struct vfk_proxy_subdriver *sd, uint16_t vendor,
				 uint16_t device)
{
	if (!sd->ids)
		return true;
	for (const struct vfk_proxy_id *id = sd->ids; id->vendor; id++) {
		if (id->vendor == vendor && (id->device == VFK_PROXY_ANY_ID || id->device == device))
			return true;
	}
	return false;
}

static const struct vfk_proxy_option *option_find(const struct vfk_proxy_option *o,
						  const char *key, size_t len)
{
	for (; o && o->key; o++) {
		if (strlen(o->key) == len && !strncmp(o->key, key, len))
			return o;
	}
	return NULL;
}

/* The known keys, for an error line: "a, b, c" or "none". */
static void known_keys(const struct vfk_proxy_option *o, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; o && o->key && used < len; o++) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", o->key);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

static int parse_one(struct vfk_proxy_args *a, const struct vfk_proxy_subdriver *sd,
		     const char *kv, char *err, size_t err_len)
{
	const char *eq = strchr(kv, '=');
	size_t len = eq ? (size_t)(eq - kv) : 0;
	char keys[256];

	if (!eq || !len) {
		snprintf(err, err_len, "subdriver %s: '%s' is not key=value", sd->name, kv);
		return -EINVAL;
	}
	if (!option_find(sd->options, kv, len)) {
		known_keys(sd->options, keys, sizeof(keys));
		snprintf(err, err_len, "subdriver %s: unknown option '%.*s' (options: %s)",
			 sd->name, (int)len, kv, keys);
		return -EINVAL;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (a->key_len[i] == len && !strncmp(a->keys[i], kv, len)) {
			snprintf(err, err_len, "subdriver %s: option '%.*s' given twice",
				 sd->name, (int)len, kv);
			return -EINVAL;
		}
	}
	a->keys[a->n] = kv;
	a->key_len[a->n] = len;
	a->values[a->n++] = eq + 1;
	return 0;
}

static int parse_args(struct vfk_proxy_args *a, const struct vfk_proxy_subdriver *sd,
		      const char *const *kv, size_t nkv, char *err, size_t err_len)
{
	a->options = sd->options;
	if (nkv > PROXY_MAX_ARGS) {
		snprintf(err, err_len, "subdriver %s: more than %u options", sd->name,
			 PROXY_MAX_ARGS);
		return -EINVAL;
	}
	for (size_t i = 0; i < nkv; i++) {
		int ret = parse_one(a, sd, kv[i], err, err_len);

		if (ret)
			return ret;
	}
	return 0;
}

const char *vfk_proxy_arg(const struct vfk_proxy_args *a, const char *key)
{
	const struct vfk_proxy_option *o = option_find(a->options, key, strlen(key));

	for (size_t i = 0; i < a->n; i++) {
		if (a->key_len[i] == strlen(key) && !strncmp(a->keys[i], key, a->key_len[i]))
			return a->values[i];
	}
	return o ? o->def : NULL;
}

int vfk_proxy_arg_u64(const struct vfk_proxy_args *a, const char *key, uint64_t max,
		      uint64_t *out)
{
	const char *text = vfk_proxy_arg(a, key);
	unsigned long long v;
	char *end;

	if (!text)
		return -ENOENT;
	if (!*text || *text == '-' || *text == '+' || *text == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int vfk_proxy_attach(struct vfk_proxy *p, const struct vfk_proxy_subdriver *sd,
		     const char *const *kv, size_t nkv, char *err, size_t err_len)
{
	struct vfk_proxy_args args = { 0 };
	char dummy[1];
	void *priv = NULL;
	int ret;

	if (!err || !err_len) {
		err = dummy;
		err_len = sizeof(dummy);
	}
	if (!sd || !sd->name || !sd->attach || (nkv && !kv))
		return -EINVAL;
	if (!vfk_proxy_subdriver_matches(sd, p->vendor_id, p->device_id)) {
		snprintf(err, err_len, "subdriver %s does not drive %04x:%04x (%s)", sd->name,
			 p->vendor_id, p->device_id, p->target_name);
		return -ENODEV;
	}
	if (p->nr_subs == PROXY_MAX_SUBDRIVERS) {
		snprintf(err, err_len, "more than %u subdrivers", PROXY_MAX_SUBDRIVERS);
		return -ENOSPC;
	}
	ret = parse_args(&args, sd, kv, nkv, err, err_len);
	if (ret)
		return ret;
	ret = sd->attach(p, &args, &priv, err, err_len);
	if (ret)
		return ret > 0 ? -EIO : ret;
	p->subs[p->nr_subs++] = (struct proxy_subdriver){ sd, priv };
	return 0;
}

void proxy_subdrivers_detach(struct vfk_proxy *p)
{
	while (p->nr_subs) {
		struct proxy_subdriver *s = &p->subs[--p->nr_subs];

		if (s->sd->detach)
			s->sd->detach(p, s->priv);
	}
}
