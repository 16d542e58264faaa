// SPDX-License-Identifier: MIT
/*
 * The JSON machine file: {"devices": [{"name", "model", "socket",
 * "options": {}}], "socket_mode": "0660", "socket_group": "kvm"}.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "machine.h"

#define OPT_TEXT_MAX 128

static const char *json_string_member(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* An option value as text: strings as they are, integers in decimal, booleans yes/no. */
static int option_text(const char *key, json_object *v, char *buf, size_t len)
{
	int n;

	switch (json_object_get_type(v)) {
	case json_type_string:
		n = snprintf(buf, len, "%s=%s", key, json_object_get_string(v));
		break;
	case json_type_int:
		if (json_object_get_int64(v) < 0)
			return -EINVAL;
		n = snprintf(buf, len, "%s=%" PRId64, key, json_object_get_int64(v));
		break;
	case json_type_boolean:
		n = snprintf(buf, len, "%s=%s", key, json_object_get_boolean(v) ? "yes" : "no");
		break;
	default:
		return -EINVAL;
	}
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

static int socket_path(const char *base_dir, const char *sock, char *buf, size_t len)
{
	int n = sock[0] == '/' ? snprintf(buf, len, "%s", sock)
			       : snprintf(buf, len, "%s/%s", base_dir, sock);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int load_device(struct vfk_machine *m, json_object *d, size_t i, const char *base_dir,
		       char *err, size_t err_len)
{
	char texts[VFK_MACHINE_MAX_OPTIONS][OPT_TEXT_MAX], sock[4096], name[32];
	const char *kv[VFK_MACHINE_MAX_OPTIONS];
	const char *model = json_string_member(d, "model");
	const char *socket = json_string_member(d, "socket");
	const char *given_name = json_string_member(d, "name");
	json_object *opts = NULL;
	size_t nkv = 0;
	int ret;

	if (!json_object_is_type(d, json_type_object) || !model || !socket) {
		snprintf(err, err_len, "device %zu: needs string members \"model\" and \"socket\"", i);
		return -EINVAL;
	}
	if (json_object_object_get_ex(d, "options", &opts) &&
	    !json_object_is_type(opts, json_type_object)) {
		snprintf(err, err_len, "device %zu: \"options\" must be an object", i);
		return -EINVAL;
	}
	if (opts) {
		json_object_object_foreach(opts, key, val) {
			if (nkv == VFK_MACHINE_MAX_OPTIONS ||
			    option_text(key, val, texts[nkv], OPT_TEXT_MAX)) {
				snprintf(err, err_len, "device %zu: bad option \"%s\"", i, key);
				return -EINVAL;
			}
			kv[nkv] = texts[nkv];
			nkv++;
		}
	}
	if (socket_path(base_dir, socket, sock, sizeof(sock))) {
		snprintf(err, err_len, "device %zu: socket path too long", i);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%s%zu", model, i);
	ret = vfk_machine_add(m, given_name ? given_name : name, model, sock, kv, nkv);
	if (ret)
		snprintf(err, err_len, "device %zu: %s", i, strerror(-ret));
	return ret;
}

static int load_devices(struct vfk_machine *m, json_object *root, const char *base_dir,
			char *err, size_t err_len)
{
	json_object *devs;
	size_t n;
	int ret = 0;

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "devices", &devs) ||
	    !json_object_is_type(devs, json_type_array)) {
		snprintf(err, err_len, "expected an object with a \"devices\" array");
		return -EINVAL;
	}
	n = json_object_array_length(devs);
	if (n == 0) {
		snprintf(err, err_len, "\"devices\" is empty");
		return -EINVAL;
	}
	for (size_t i = 0; !ret && i < n; i++)
		ret = load_device(m, json_object_array_get_idx(devs, i), i, base_dir, err, err_len);
	return ret;
}

/* The optional string member key of root into buf (len), "" when absent. */
static int copy_string_member(json_object *root, const char *key, char *buf, size_t len,
			      const char *path, char *err, size_t err_len)
{
	json_object *v;

	if (!json_object_object_get_ex(root, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)snprintf(buf, len, "%s", json_object_get_string(v)) >= len) {
		snprintf(err, err_len, "%s: \"%s\" must be a string of at most %zu bytes", path,
			 key, len - 1);
		return -EINVAL;
	}
	return 0;
}

/*
 * Each device needs a socket of its own (the second would find the
 * first's listening) and a name of its own (logs, LISTEN_FDNAMES). Paths
 * are compared as written, after the file's directory is prefixed.
 */
static int check_unique(const struct vfk_machine *m, const char *path, char *err,
			size_t err_len)
{
	for (size_t i = 1; i < m->count; i++) {
		const struct vfk_machine_device *d = &m->devices[i];

		for (size_t j = 0; j < i; j++) {
			const struct vfk_machine_device *e = &m->devices[j];

			if (!strcmp(d->socket, e->socket)) {
				snprintf(err, err_len, "%s: devices %zu and %zu have the same socket %s",
					 path, j, i, d->socket);
				return -EINVAL;
			}
			if (!strcmp(d->name, e->name)) {
				snprintf(err, err_len, "%s: devices %zu and %zu have the same name \"%s\"",
					 path, j, i, d->name);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int vfk_machine_load_json(const char *path, struct vfk_machine *m, char *err, size_t err_len)
{
	json_object *root = json_object_from_file(path);
	char *path_copy;
	int ret;

	m->count = 0;
	m->socket_mode[0] = m->socket_group[0] = '\0';
	if (!root) {
		const char *why = json_util_get_last_err();

		snprintf(err, err_len, "%s: %s", path, why ? why : "cannot read JSON");
		return -EINVAL;
	}
	path_copy = strdup(path);
	if (!path_copy) {
		json_object_put(root);
		return -ENOMEM;
	}
	ret = load_devices(m, root, dirname(path_copy), err, err_len);
	if (!ret)
		ret = check_unique(m, path, err, err_len);
	if (!ret)
		ret = copy_string_member(root, "socket_mode", m->socket_mode,
					 sizeof(m->socket_mode), path, err, err_len);
	if (!ret)
		ret = copy_string_member(root, "socket_group", m->socket_group,
					 sizeof(m->socket_group), path, err, err_len);
	free(path_copy);
	json_object_put(root);
	if (ret)
		vfk_machine_free(m);
	return ret;
}
