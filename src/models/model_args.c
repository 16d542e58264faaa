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

int vfk_parse_u32(const char *text, uint32_t *out)
{
	uint64_t v;
	int ret = vfk_parse_u64(text, &v);

	if (ret)
		return ret;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int vfk_parse_u16(const char *text, uint16_t *out)
{
	uint64_t v;
	int ret = vfk_parse_u64(text, &v);

	if (ret)
		return ret;
	if (v > UINT16_MAX)
		return -ERANGE;
	*out = (uint16_t)v;
	return 0;
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
