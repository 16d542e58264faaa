// SPDX-License-Identifier: MIT
/*
 * The JSON machine file: {"devices": [{"name", "model", "socket",
 * "options": {}}], "socket_mode": "0660", "socket_group": "kvm"}.
 *
 * Read strictly: a typo must not pass as another machine. json-c's strict
 * tokener refuses comments, trailing commas and text after the object;
 * lint() refuses what it lets through (single quotes, raw control
 * characters in strings, "1.") and what its tree cannot show (a key
 * given twice: json-c keeps the last), and unknown keys. Errors name
 * the file, line and column (in bytes).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "machine.h"

#define OPT_TEXT_MAX 128
#define FILE_MAX (1 << 20)     /* a machine file is a few KiB */
#define DEPTH_MAX 32           /* nesting the tokener accepts, lint()'s stack */
#define KEY_NOTE_MAX 16        /* the longest key lint() must recognize, and more */

/* The file's text, and where its devices start, for errors. */
struct machine_text {
	const char *path;
	char *text;
	size_t len;
	size_t devices_at;                          /* the "devices" array */
	size_t device_at[VFK_MACHINE_MAX_DEVICES];  /* each device object */
	size_t ndevices;
};

static const char *const root_keys[] = { "devices", "socket_mode", "socket_group", NULL };
static const char *const device_keys[] = { "name", "model", "socket", "options", NULL };

/* "PATH:LINE:COLUMN: message" for the byte at offset; -EINVAL. */
static int __attribute__((format(printf, 5, 6)))
text_error(const struct machine_text *t, size_t offset, char *err, size_t err_len,
	   const char *fmt, ...)
{
	size_t line = 1, col = 1;
	va_list ap;
	int n;

	for (size_t i = 0; i < offset && i < t->len; i++, col++) {
		if (t->text[i] == '\n') {
			line++;
			col = 0;
		}
	}
	n = snprintf(err, err_len, "%s:%zu:%zu: ", t->path, line, col);
	if (n >= 0 && (size_t)n < err_len) {
		va_start(ap, fmt);
		vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Where device i starts; the devices array when it was not recorded. */
static size_t device_pos(const struct machine_text *t, size_t i)
{
	return i < t->ndevices ? t->device_at[i] : t->devices_at;
}
/* One open container of lint()'s walk. */
struct frame {
	json_object *keys;          /* an object's keys so far (a set); NULL: an array */
	char key[KEY_NOTE_MAX];     /* the key this container is the value of, or "" */
	char last[KEY_NOTE_MAX];    /* an object's latest key, or "" */
};

struct lint {
	struct machine_text *t;
	struct frame stack[DEPTH_MAX];
	size_t depth;
	char *err;
	size_t err_len;
};

/* The keys the object of frame d may have, NULL when any (model options). */
static const char *const *allowed_keys(const struct lint *l, size_t d)
{
	if (d == 0)
		return root_keys;
	if (d == 2 && !l->stack[1].keys && !strcmp(l->stack[1].key, "devices"))
		return device_keys;
	return NULL;
}

static int check_allowed(struct lint *l, const char *key, size_t at)
{
	const char *const *allowed = allowed_keys(l, l->depth - 1);
	char list[128] = "";

	if (!allowed)
		return 0;
	for (const char *const *k = allowed; *k; k++) {
		if (!strcmp(*k, key))
			return 0;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 k == allowed ? "" : ", ", *k);
	}
	return text_error(l->t, at, l->err, l->err_len, "unknown key \"%s\" (expected %s)",
			  key, list);
}

/*
 * The key whose string is text[at..end], decoded by json-c ("\u0061" is
 * "a"), as json-c's tree has it: new in its object, and allowed there.
 */
static int lint_key(struct lint *l, size_t at, size_t end)
{
	struct frame *f = &l->stack[l->depth - 1];
	json_tokener *tok = json_tokener_new();
	json_object *key = tok ? json_tokener_parse_ex(tok, l->t->text + at, (int)(end - at + 1))
			       : NULL;
	const char *name = json_object_get_string(key);
	int ret;

	json_tokener_free(tok);
	if (!key)
		return -ENOMEM;
	if (json_object_object_get_ex(f->keys, name, NULL))
		ret = text_error(l->t, at, l->err, l->err_len, "duplicate key \"%s\"", name);
	else
		ret = json_object_object_add(f->keys, name, NULL) ? -ENOMEM
								 : check_allowed(l, name, at);
	if (!ret && snprintf(f->last, sizeof(f->last), "%s", name) >= (int)sizeof(f->last))
		f->last[0] = '\0';
	json_object_put(key);
	return ret;
}

/* The string opening at *i: *i moved to its closing quote; a key when a ':' follows. */
static int lint_string(struct lint *l, size_t *i)
{
	const char *text = l->t->text;
	size_t end = *i + 1, next;

	for (; text[end] != '"'; end++) {
		if ((unsigned char)text[end] < 0x20)
			return text_error(l->t, end, l->err, l->err_len,
					  "control character in a string (escape it)");
		if (text[end] == '\\')
			end++;
	}
	for (next = end + 1; isspace((unsigned char)text[next]); next++)
		;
	if (text[next] == ':' && l->stack[l->depth - 1].keys) {
		int ret = lint_key(l, *i, end);

		if (ret)
			return ret;
	}
	*i = end;
	return 0;
}

static int lint_push(struct lint *l, size_t at, bool object)
{
	struct frame *f = &l->stack[l->depth];
	const struct frame *parent = l->depth ? &l->stack[l->depth - 1] : NULL;

	if (l->depth == DEPTH_MAX)
		return text_error(l->t, at, l->err, l->err_len, "nested too deeply");
	memset(f, 0, sizeof(*f));
	if (parent && parent->keys)
		memcpy(f->key, parent->last, sizeof(f->key));
	if (object) {
		f->keys = json_object_new_object();
		if (!f->keys)
			return -ENOMEM;
	}
	l->depth++;
	if (l->depth == 2 && !object && !strcmp(f->key, "devices"))
		l->t->devices_at = at;
	if (object && allowed_keys(l, l->depth - 1) == device_keys &&
	    l->t->ndevices < VFK_MACHINE_MAX_DEVICES)
		l->t->device_at[l->t->ndevices++] = at;
	return 0;
}

static void lint_pop(struct lint *l)
{
	if (l->depth)
		json_object_put(l->stack[--l->depth].keys);
}

/* One byte outside strings of text json-c parsed. */
static int lint_byte(struct lint *l, size_t *i)
{
	const char *text = l->t->text;

	switch (text[*i]) {
	case '{':
	case '[':
		return lint_push(l, *i, text[*i] == '{');
	case '}':
	case ']':
		lint_pop(l);
		return 0;
	case '"':
		return lint_string(l, i);
	case '\'':
		return text_error(l->t, *i, l->err, l->err_len, "strings take double quotes");
	case '.':
		if (!isdigit((unsigned char)text[*i + 1]))
			return text_error(l->t, *i, l->err, l->err_len, "a digit must follow '.'");
		return 0;
	default:
		return 0;
	}
}

/*
 * What json-c parsed is well-formed but for its leniencies, so a byte
 * walk finds every container, string and key; it records where the
 * devices are for later errors.
 */
static int lint(struct machine_text *t, char *err, size_t err_len)
{
	struct lint l = { .t = t, .err = err, .err_len = err_len };
	int ret = 0;

	for (size_t i = 0; !ret && i < t->len; i++)
		ret = lint_byte(&l, &i);
	while (l.depth)
		lint_pop(&l);
	return ret;
}

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
	/* A file in the working directory has base_dir ".": no "./" prefix. */
	bool as_is = sock[0] == '/' || !strcmp(base_dir, ".");
	int n = as_is ? snprintf(buf, len, "%s", sock) : snprintf(buf, len, "%s/%s", base_dir, sock);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int load_device(struct vfk_machine *m, json_object *d, size_t i, const char *base_dir,
		       const struct machine_text *t, char *err, size_t err_len)
{
	char texts[VFK_MACHINE_MAX_OPTIONS][OPT_TEXT_MAX], sock[4096], name[32];
	const char *kv[VFK_MACHINE_MAX_OPTIONS];
	const char *model = json_string_member(d, "model");
	const char *socket = json_string_member(d, "socket");
	const char *given_name = json_string_member(d, "name");
	json_object *opts = NULL;
	size_t nkv = 0;
	int ret;

	if (!model || !socket)
		return text_error(t, device_pos(t, i), err, err_len,
				  "device %zu: needs string members \"model\" and \"socket\"", i);
	if (json_object_object_get_ex(d, "options", &opts) &&
	    !json_object_is_type(opts, json_type_object))
		return text_error(t, device_pos(t, i), err, err_len,
				  "device %zu: \"options\" must be an object", i);
	if (opts) {
		json_object_object_foreach(opts, key, val) {
			if (nkv == VFK_MACHINE_MAX_OPTIONS ||
			    option_text(key, val, texts[nkv], OPT_TEXT_MAX))
				return text_error(t, device_pos(t, i), err, err_len,
						  "device %zu: bad option \"%s\"", i, key);
			kv[nkv] = texts[nkv];
			nkv++;
		}
	}
	if (socket_path(base_dir, socket, sock, sizeof(sock)))
		return text_error(t, device_pos(t, i), err, err_len,
				  "device %zu: socket path too long", i);
	/* The dash keeps the index apart from a model name ending in a digit. */
	snprintf(name, sizeof(name), "%s-%zu", model, i);
	ret = vfk_machine_add(m, given_name ? given_name : name, model, sock, kv, nkv);
	if (ret)
		text_error(t, device_pos(t, i), err, err_len, "device %zu: %s", i, strerror(-ret));
	return ret;
}

static int load_devices(struct vfk_machine *m, json_object *root, const char *base_dir,
			const struct machine_text *t, char *err, size_t err_len)
{
	json_object *devs;
	size_t n;
	int ret = 0;

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "devices", &devs) ||
	    !json_object_is_type(devs, json_type_array)) {
		snprintf(err, err_len, "%s: expected an object with a \"devices\" array", t->path);
		return -EINVAL;
	}
	n = json_object_array_length(devs);
	if (n == 0)
		return text_error(t, t->devices_at, err, err_len, "\"devices\" is empty");
	/* Each an object, so that lint()'s device_at[i] is device i. */
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(devs, i), json_type_object))
			return text_error(t, t->devices_at, err, err_len,
					  "device %zu is not an object", i);
	for (size_t i = 0; !ret && i < n; i++)
		ret = load_device(m, json_object_array_get_idx(devs, i), i, base_dir, t, err,
				  err_len);
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
static int check_unique(const struct vfk_machine *m, const struct machine_text *t, char *err,
			size_t err_len)
{
	for (size_t i = 1; i < m->count; i++) {
		const struct vfk_machine_device *d = &m->devices[i];

		for (size_t j = 0; j < i; j++) {
			const struct vfk_machine_device *e = &m->devices[j];

			if (!strcmp(d->socket, e->socket))
				return text_error(t, device_pos(t, i), err, err_len,
						  "devices %zu and %zu have the same socket %s",
						  j, i, d->socket);
			if (!strcmp(d->name, e->name))
				return text_error(t, device_pos(t, i), err, err_len,
						  "devices %zu and %zu have the same name \"%s\"",
						  j, i, d->name);
		}
	}
	return 0;
}

/* The whole file, NUL-terminated, into t; -errno, -EFBIG past FILE_MAX. */
static int read_text(struct machine_text *t)
{
	FILE *f = fopen(t->path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	t->text = malloc(FILE_MAX + 1);
	if (!t->text) {
		fclose(f);
		return -ENOMEM;
	}
	t->len = fread(t->text, 1, FILE_MAX + 1, f);
	if (ferror(f))
		ret = -EIO;
	else if (t->len > FILE_MAX)
		ret = -EFBIG;
	fclose(f);
	if (!ret)
		t->text[t->len] = '\0';
	return ret;
}

/* The tree of t's text by json-c's strict tokener, NULL with a reason in err. */
static json_object *parse_strict(const struct machine_text *t, char *err, size_t err_len)
{
	const char *nul = memchr(t->text, '\0', t->len);
	json_tokener *tok;
	json_object *root;
	enum json_tokener_error e;

	if (nul) {
		text_error(t, (size_t)(nul - t->text), err, err_len, "NUL byte");
		return NULL;
	}
	tok = json_tokener_new_ex(DEPTH_MAX);
	if (!tok) {
		snprintf(err, err_len, "%s: %s", t->path, strerror(ENOMEM));
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, t->text, (int)t->len);
	e = json_tokener_get_error(tok);
	if (!root)
		text_error(t, json_tokener_get_parse_end(tok), err, err_len, "%s",
			   e == json_tokener_continue ? "unexpected end of file"
						      : json_tokener_error_desc(e));
	json_tokener_free(tok);
	return root;
}

/* The machine of t's text, whose directory is base_dir. */
static int load_text(struct vfk_machine *m, struct machine_text *t, const char *base_dir,
		     char *err, size_t err_len)
{
	json_object *root = parse_strict(t, err, err_len);
	int ret;

	if (!root)
		return -EINVAL;
	ret = lint(t, err, err_len);
	if (!ret)
		ret = load_devices(m, root, base_dir, t, err, err_len);
	if (!ret)
		ret = check_unique(m, t, err, err_len);
	if (!ret)
		ret = copy_string_member(root, "socket_mode", m->socket_mode,
					 sizeof(m->socket_mode), t->path, err, err_len);
	if (!ret)
		ret = copy_string_member(root, "socket_group", m->socket_group,
					 sizeof(m->socket_group), t->path, err, err_len);
	json_object_put(root);
	return ret;
}

int vfk_machine_load_json(const char *path, struct vfk_machine *m, char *err, size_t err_len)
{
	struct machine_text t = { .path = path };
	char *path_copy = strdup(path);
	int ret = path_copy ? read_text(&t) : -ENOMEM;

	m->count = 0;
	m->socket_mode[0] = m->socket_group[0] = '\0';
	if (ret)
		snprintf(err, err_len, "%s: %s", path, strerror(-ret));
	else
		ret = load_text(m, &t, dirname(path_copy), err, err_len);
	free(t.text);
	free(path_copy);
	if (ret)
		vfk_machine_free(m);
	return ret;
}
