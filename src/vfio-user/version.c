/* SPDX-License-Identifier: MIT */
/* vfio-user VERSION capabilities JSON, built and parsed with json-c. */
#include "vfio-user/version.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "vfio-user/protocol.h"

void vfu_caps_defaults(struct vfu_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->max_msg_fds = VFU_DEFAULT_MAX_MSG_FDS;
	caps->max_data_xfer_size = VFU_DEFAULT_MAX_DATA_XFER;
	caps->max_dma_maps = VFU_DEFAULT_MAX_DMA_MAPS;
	caps->pgsizes = VFU_DEFAULT_PGSIZES;
}

static int add_u64(struct json_object *obj, const char *key, uint64_t v)
{
	struct json_object *n = json_object_new_uint64(v);

	if (!n)
		return -ENOMEM;
	if (json_object_object_add(obj, key, n)) {
		json_object_put(n);
		return -ENOMEM;
	}
	return 0;
}

static int fill_caps(struct json_object *obj, const struct vfu_caps *caps)
{
	int r = add_u64(obj, VFU_CAP_MAX_MSG_FDS, caps->max_msg_fds);

	if (!r)
		r = add_u64(obj, VFU_CAP_MAX_DATA_XFER, caps->max_data_xfer_size);
	if (!r)
		r = add_u64(obj, VFU_CAP_MAX_DMA_MAPS, caps->max_dma_maps);
	if (!r)
		r = add_u64(obj, VFU_CAP_PGSIZES, caps->pgsizes);
	if (!r && caps->write_multiple) {
		struct json_object *b = json_object_new_boolean(1);

		if (!b || json_object_object_add(obj, VFU_CAP_WRITE_MULTIPLE, b)) {
			json_object_put(b);
			r = -ENOMEM;
		}
	}
	return r;
}

int vfu_version_build(const struct vfu_caps *caps, char *buf, size_t len)
{
	struct json_object *root = json_object_new_object();
	struct json_object *inner = json_object_new_object();
	const char *s;
	size_t n;
	int r = -ENOMEM;

	if (!root || !inner)
		goto out;
	r = fill_caps(inner, caps);
	if (r)
		goto out;
	if (json_object_object_add(root, VFU_JSON_CAPABILITIES, inner)) {
		r = -ENOMEM;
		goto out;
	}
	inner = NULL;   /* owned by root now */
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	n = s ? strlen(s) + 1 : 0;
	if (!s)
		r = -ENOMEM;
	else if (n > len || n > INT32_MAX)
		r = -ENOSPC;
	else {
		memcpy(buf, s, n);
		r = (int)n;
	}
out:
	json_object_put(inner);
	json_object_put(root);
	return r;
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	if (err && err_len) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A non-negative integer value of key in obj into *out; absent keeps *out. */
static int get_uint(struct json_object *obj, const char *key, uint64_t *out,
		    char *err, size_t err_len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return fail(err, err_len, "%s is not an integer", key);
	/* json-c keeps values above INT64_MAX as unsigned; negatives as signed. */
	errno = 0;
	if (json_object_get_int64(v) < 0)
		return fail(err, err_len, "%s is negative", key);
	*out = json_object_get_uint64(v);
	return 0;
}

static int parse_caps(struct json_object *obj, struct vfu_caps *caps,
		      char *err, size_t err_len)
{
	uint64_t fds = caps->max_msg_fds;
	struct json_object *v;
	int r;

	if ((r = get_uint(obj, VFU_CAP_MAX_MSG_FDS, &fds, err, err_len)) ||
	    (r = get_uint(obj, VFU_CAP_MAX_DATA_XFER, &caps->max_data_xfer_size,
			  err, err_len)) ||
	    (r = get_uint(obj, VFU_CAP_MAX_DMA_MAPS, &caps->max_dma_maps, err, err_len)) ||
	    (r = get_uint(obj, VFU_CAP_PGSIZES, &caps->pgsizes, err, err_len)))
		return r;
	if (fds > UINT32_MAX)
		return fail(err, err_len, "%s too large", VFU_CAP_MAX_MSG_FDS);
	caps->max_msg_fds = (uint32_t)fds;
	if (caps->max_data_xfer_size == 0)
		return fail(err, err_len, "%s is 0", VFU_CAP_MAX_DATA_XFER);
	if (caps->pgsizes == 0)
		return fail(err, err_len, "%s is 0", VFU_CAP_PGSIZES);
	if (json_object_object_get_ex(obj, VFU_CAP_WRITE_MULTIPLE, &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail(err, err_len, "%s is not a boolean",
				    VFU_CAP_WRITE_MULTIPLE);
		caps->write_multiple = json_object_get_boolean(v);
	}
	caps->has_migration = json_object_object_get_ex(obj, VFU_CAP_MIGRATION, NULL);
	if (json_object_object_get_ex(obj, VFU_CAP_TWIN_SOCKET, &v) &&
	    json_object_is_type(v, json_type_object)) {
		struct json_object *sup;

		caps->twin_socket = json_object_object_get_ex(v, "supported", &sup) &&
				    json_object_is_type(sup, json_type_boolean) &&
				    json_object_get_boolean(sup);
	}
	return 0;
}

int vfu_version_parse(const char *json, size_t len, struct vfu_caps *caps,
		      char *err, size_t err_len)
{
	struct json_tokener *tok;
	struct json_object *root, *inner;
	size_t slen;
	int r = 0;

	vfu_caps_defaults(caps);
	if (len == 0)
		return 0;
	slen = strnlen(json, len);
	if (slen == len)
		return fail(err, err_len, "JSON not NUL-terminated");
	if (slen > INT32_MAX)
		return fail(err, err_len, "JSON too long");
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)slen);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)slen)
		r = fail(err, err_len, "malformed JSON");
	else if (!json_object_is_type(root, json_type_object))
		r = fail(err, err_len, "JSON is not an object");
	else if (json_object_object_get_ex(root, VFU_JSON_CAPABILITIES, &inner)) {
		if (!json_object_is_type(inner, json_type_object))
			r = fail(err, err_len, "capabilities is not an object");
		else
			r = parse_caps(inner, caps, err, err_len);
	}
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}
