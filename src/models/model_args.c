// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model_args.h"

static int suffix_shift(char c, unsigned int *shift)
{
	switch (toupper((unsigned char)c)) {
	case 'K': *shift = 10; return 0;
	case 'M': *shift = 20; return 0;
	case 'G': *shift = 30; return 0;
	case 'T': *shift = 40; return 0;
	default: return -EINVAL;
	}
}

int vfk_parse_u64(const char *text, uint64_t *out)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	/* strtoull accepts a sign and leading blanks; a size never has them. */
	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end) {
		if (end[1] || suffix_shift(*end, &shift))
			return -EINVAL;
		if (shift && v > (UINT64_MAX >> shift))
			return -ERANGE;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

/* A number no larger than max; errors as vfk_parse_u64(). */
static int parse_at_most(const char *text, uint64_t max, uint64_t *out)
{
	int ret = vfk_parse_u64(text, out);

	if (ret)
		return ret;
	return *out > max ? -ERANGE : 0;
}

int vfk_parse_u32(const char *text, uint32_t *out)
{
	uint64_t v;
	int ret = parse_at_most(text, UINT32_MAX, &v);

	if (!ret)
		*out = (uint32_t)v;
	return ret;
}

int vfk_parse_u16(const char *text, uint16_t *out)
{
	uint64_t v;
	int ret = parse_at_most(text, UINT16_MAX, &v);

	if (!ret)
		*out = (uint16_t)v;
	return ret;
}

int vfk_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "1", "yes", "on", "true" };
	static const char *const no[] = { "0", "no", "off", "false" };

	for (unsigned int i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(text, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int vfk_split_kv(const char *arg, char *key_buf, unsigned int key_len, const char **value)
{
	const char *eq = strchr(arg, '=');
	size_t len;

	if (!eq || eq == arg)
		return -EINVAL;
	len = (size_t)(eq - arg);
	if (len >= key_len)
		return -EINVAL;
	memcpy(key_buf, arg, len);
	key_buf[len] = '\0';
	*value = eq + 1;
	return 0;
}

bool vfk_kv_has_key(const char *const *kv, size_t n, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < n; i++)
		if (!strncmp(kv[i], key, len) && kv[i][len] == '=')
			return true;
	return false;
}

/* The row's field inside params is of the row's type (VFK_OPTION checks it). */
static int option_parse(const struct vfk_model_option *o, void *params, const char *value)
{
	void *field = (uint8_t *)params + o->offset;

	switch (o->type) {
	case VFK_OPTION_U16:  return vfk_parse_u16(value, field);
	case VFK_OPTION_U32:  return vfk_parse_u32(value, field);
	case VFK_OPTION_U64:  return vfk_parse_u64(value, field);
	case VFK_OPTION_BOOL: return vfk_parse_bool(value, field);
	}
	return -EINVAL;
}

int vfk_option_set(const struct vfk_model_option *options, void *params, const char *key,
		   const char *value)
{
	for (const struct vfk_model_option *o = options; o->key; o++) {
		if (!strcmp(o->key, key))
			return option_parse(o, params, value);
	}
	return -ENOENT;
}
