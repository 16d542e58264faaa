// SPDX-License-Identifier: MIT
/* Option value parsing and the machine descriptions (default and JSON). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "machine.h"
#include "model_args.h"

static void test_parse_u64(void **state)
{
	uint64_t v;

	assert_int_equal(vfk_parse_u64("0x3e000000000", &v), 0);
	assert_true(v == 0x3e000000000ull);
	assert_int_equal(vfk_parse_u64("128G", &v), 0);
	assert_true(v == 128ull << 30);
	assert_int_equal(vfk_parse_u64("4k", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(vfk_parse_u64("17", &v), 0);
	assert_true(v == 17);
	assert_int_equal(vfk_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(vfk_parse_u64(" 1", &v), -EINVAL);
	assert_int_equal(vfk_parse_u64("12Q", &v), -EINVAL);
	assert_int_equal(vfk_parse_u64("1GG", &v), -EINVAL);
	assert_int_equal(vfk_parse_u64("", &v), -EINVAL);
	assert_int_equal(vfk_parse_u64("99999999999999999999", &v), -ERANGE);
	assert_int_equal(vfk_parse_u64("0x100000000000T", &v), -ERANGE);
}

static void test_parse_narrow(void **state)
{
	uint16_t v16;
	uint32_t v32;
	bool b;

	assert_int_equal(vfk_parse_u16("0x10de", &v16), 0);
	assert_int_equal(v16, 0x10de);
	assert_int_equal(vfk_parse_u16("0x10000", &v16), -ERANGE);
	assert_int_equal(vfk_parse_u32("0x9", &v32), 0);
	assert_int_equal(v32, 9);
	assert_int_equal(vfk_parse_u32("4G", &v32), -ERANGE);
	assert_int_equal(vfk_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(vfk_parse_bool("OFF", &b), 0);
	assert_false(b);
	assert_int_equal(vfk_parse_bool("maybe", &b), -EINVAL);
}

static void test_split_kv(void **state)
{
	char key[8];
	const char *value;

	assert_int_equal(vfk_split_kv("tgt=0x1", key, sizeof(key), &value), 0);
	assert_string_equal(key, "tgt");
	assert_string_equal(value, "0x1");
	assert_int_equal(vfk_split_kv("atsd=", key, sizeof(key), &value), 0);
	assert_string_equal(value, "");
	assert_int_equal(vfk_split_kv("noequals", key, sizeof(key), &value), -EINVAL);
	assert_int_equal(vfk_split_kv("=1", key, sizeof(key), &value), -EINVAL);
	assert_int_equal(vfk_split_kv("muchtoolongkey=1", key, sizeof(key), &value), -EINVAL);
}

static void test_kv_has_key(void **state)
{
	static const char *const kv[] = { "tgt=0x1", "atsd=", "aperture=1G" };

	assert_true(vfk_kv_has_key(kv, 3, "tgt"));
	assert_true(vfk_kv_has_key(kv, 3, "atsd"));
	assert_false(vfk_kv_has_key(kv, 2, "aperture"));
	/* A key is all of the text before '=', not a prefix of it. */
	assert_false(vfk_kv_has_key(kv, 3, "tg"));
	assert_false(vfk_kv_has_key(kv, 3, "aperture=1G"));
	assert_false(vfk_kv_has_key(kv, 0, "tgt"));
}

struct opts {
	uint16_t a16;
	uint64_t a64;
	bool flag;
	uint32_t a32;
	uint16_t after;
};

static const struct vfk_model_option opt_table[] = {
	VFK_OPTION(struct opts, a16, "a16", "0", "a 16-bit field"),
	VFK_OPTION(struct opts, a64, "a64", "0", "a 64-bit field"),
	VFK_OPTION(struct opts, flag, "flag", "no", "a bool"),
	VFK_OPTION(struct opts, a32, "a32", "0", "a 32-bit field"),
	{ NULL },
};

/* Each row parses as its field's type into its field, and only there. */
static void test_option_table(void **state)
{
	struct opts o = { .after = 0x7777 };

	assert_int_equal(opt_table[0].type, VFK_OPTION_U16);
	assert_int_equal(opt_table[1].type, VFK_OPTION_U64);
	assert_int_equal(opt_table[2].type, VFK_OPTION_BOOL);
	assert_int_equal(opt_table[3].type, VFK_OPTION_U32);
	assert_int_equal(vfk_option_set(opt_table, &o, "a16", "0xffff"), 0);
	assert_int_equal(vfk_option_set(opt_table, &o, "a64", "4T"), 0);
	assert_int_equal(vfk_option_set(opt_table, &o, "flag", "on"), 0);
	assert_int_equal(vfk_option_set(opt_table, &o, "a32", "0xfffffffe"), 0);
	assert_int_equal(o.a16, 0xffff);
	assert_true(o.a64 == 4ull << 40);
	assert_true(o.flag);
	assert_int_equal(o.a32, 0xfffffffe);
	assert_int_equal(o.after, 0x7777);
	/* Out of the field's range, or not its type: refused, field unchanged. */
	assert_int_equal(vfk_option_set(opt_table, &o, "a16", "0x10000"), -ERANGE);
	assert_int_equal(vfk_option_set(opt_table, &o, "a32", "4G"), -ERANGE);
	assert_int_equal(vfk_option_set(opt_table, &o, "flag", "7"), -EINVAL);
	assert_int_equal(o.a16, 0xffff);
	assert_int_equal(o.a32, 0xfffffffe);
	assert_true(o.flag);
	assert_int_equal(vfk_option_set(opt_table, &o, "after", "1"), -ENOENT);
	assert_int_equal(vfk_option_set(opt_table, &o, "a1", "1"), -ENOENT);
	assert_int_equal(o.after, 0x7777);
}

static void test_default_machine(void **state)
{
	struct vfk_machine m;

	assert_int_equal(vfk_machine_default(&m, "/run/x"), 0);
	assert_int_equal(m.count, 6);
	assert_string_equal(m.devices[0].model, "v100");
	assert_string_equal(m.devices[0].socket, "/run/x/gpu0.sock");
	assert_string_equal(m.devices[0].kv[0], "tgt=0x3e000000000");
	assert_string_equal(m.devices[1].model, "npu2");
	assert_string_equal(m.devices[1].name, "gpu0-nvlink0");
	assert_string_equal(m.devices[1].kv[0], "tgt=0x3e000000000");
	assert_string_equal(m.devices[3].kv[0], "tgt=0x3c000000000");
	assert_string_equal(m.devices[5].socket, "/run/x/gpu1-nvlink1.sock");
	assert_string_equal(m.devices[5].kv[0], "tgt=0x3c000000000");
	vfk_machine_free(&m);
}

/* Write text into a fresh temp dir's machine.json; returns the dir. */
static char *write_json(const char *text, char *path, size_t len)
{
	char *dir = strdup("/tmp/vfk-machine-XXXXXX");
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, len, "%s/machine.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return dir;
}

static void remove_json(char *dir, const char *path)
{
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void test_json_machine(void **state)
{
	static const char text[] =
		"{\"devices\": ["
		" {\"name\": \"g\", \"model\": \"v100\", \"socket\": \"g.sock\","
		"  \"options\": {\"tgt\": \"0x1000\", \"aperture\": 1048576}},"
		" {\"model\": \"npu2\", \"socket\": \"/abs/b.sock\","
		"  \"options\": {\"atsd\": false}}]}";
	char path[256], want[300], err[256] = "";
	struct vfk_machine m;
	char *dir = write_json(text, path, sizeof(path));

	assert_int_equal(vfk_machine_load_json(path, &m, err, sizeof(err)), 0);
	assert_int_equal(m.count, 2);
	assert_string_equal(m.devices[0].name, "g");
	snprintf(want, sizeof(want), "%s/g.sock", dir);
	assert_string_equal(m.devices[0].socket, want);
	assert_int_equal(m.devices[0].nkv, 2);
	assert_string_equal(m.devices[0].kv[0], "tgt=0x1000");
	assert_string_equal(m.devices[0].kv[1], "aperture=1048576");
	assert_string_equal(m.devices[1].name, "npu2-1");
	assert_string_equal(m.devices[1].socket, "/abs/b.sock");
	assert_string_equal(m.devices[1].kv[0], "atsd=no");
	assert_string_equal(m.socket_mode, "");
	assert_string_equal(m.socket_group, "");
	vfk_machine_free(&m);
	remove_json(dir, path);
}

static void expect_json_error(const char *text, const char *fragment)
{
	char path[256], err[256] = "";
	struct vfk_machine m;
	char *dir = write_json(text, path, sizeof(path));

	assert_int_equal(vfk_machine_load_json(path, &m, err, sizeof(err)), -EINVAL);
	if (!strstr(err, fragment))
		fail_msg("\"%s\" does not hold \"%s\"", err, fragment);
	assert_int_equal(m.count, 0);
	remove_json(dir, path);
}

static void test_json_errors(void **state)
{
	expect_json_error("{", "machine.json");
	expect_json_error("[]", "\"devices\" array");
	expect_json_error("{\"devices\": []}", "empty");
	expect_json_error("{\"devices\": [{\"model\": \"v100\"}]}", "\"socket\"");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\", \"options\": 3}]}",
			  "\"options\"");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\","
			  " \"options\": {\"tgt\": [1]}}]}", "bad option \"tgt\"");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\","
			  " \"options\": {\"tgt\": -1}}]}", "bad option \"tgt\"");
}

/* Two devices on one socket, or with one name, are refused, naming the
 * file and the duplicate; a relative and an absolute path to one file
 * are the same socket. */
static void test_json_duplicates(void **state)
{
	char path[256], text[1024], err[256] = "";
	struct vfk_machine m;
	char *dir;
	FILE *f;

	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"a.sock\"},"
			  " {\"model\": \"npu2\", \"socket\": \"b.sock\"},"
			  " {\"model\": \"npu2\", \"socket\": \"a.sock\"}]}",
			  "machine.json:1:92: devices 0 and 2 have the same socket ");
	expect_json_error("{\"devices\": [{\"name\": \"g\", \"model\": \"v100\", \"socket\": \"a\"},"
			  " {\"name\": \"g\", \"model\": \"npu2\", \"socket\": \"b\"}]}",
			  "machine.json:1:61: devices 0 and 1 have the same name \"g\"");
	/* A given name may meet a generated one (MODEL-INDEX). */
	expect_json_error("{\"devices\": [{\"name\": \"npu2-1\", \"model\": \"v100\", \"socket\": \"a\"},"
			  "\n {\"model\": \"npu2\", \"socket\": \"b\"}]}",
			  "machine.json:2:2: devices 0 and 1 have the same name \"npu2-1\"");
	/* "a.sock" next to the file and the same path spelled absolute. */
	dir = write_json("", path, sizeof(path));
	snprintf(text, sizeof(text), "{\"devices\": [{\"model\": \"v100\", \"socket\": \"a.sock\"},"
		 " {\"model\": \"npu2\", \"socket\": \"%s/a.sock\"}]}", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(vfk_machine_load_json(path, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "have the same socket"));
	remove_json(dir, path);
}

/* What json-c's strict tokener refuses, with the file, line and column. */
static void test_json_strict_syntax(void **state)
{
	expect_json_error("{\"devices\": [\n  // the GPU\n  {\"model\": \"v100\", \"socket\": \"s\"}]}",
			  "machine.json:2:3: ");
	expect_json_error("{\"devices\": [\n  /* the GPU */ {\"model\": \"v100\", \"socket\": \"s\"}]}",
			  "machine.json:2:3: ");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\",}]}",
			  "machine.json:1:46: ");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\"},]}",
			  "machine.json:1:47: ");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\"}]}\n\n  x\n",
			  "machine.json:3:3: ");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\"}]} {}",
			  "machine.json:1:49: ");
	expect_json_error("{\"devices\": [{\"model\": \"v100\",\n",
			  "machine.json:2:1: unexpected end of file");
	expect_json_error("", "machine.json:1:1: unexpected end of file");
}

/* What the tokener lets through and the walk after it refuses. */
static void test_json_strict_lint(void **state)
{
	expect_json_error("{\"devices\": [{'model': \"v100\", \"socket\": \"s\"}]}",
			  "machine.json:1:15: strings take double quotes");
	expect_json_error("{\"devices\": [{\"model\": \"v1\t00\", \"socket\": \"s\"}]}",
			  "machine.json:1:27: control character in a string");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\",\n"
			  " \"options\": {\"aperture\": 1.}}]}",
			  "machine.json:2:27: a digit must follow '.'");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\",\n"
			  " \"option\": {\"tgt\": \"0x1\"}}]}",
			  "machine.json:2:2: unknown key \"option\" (expected \"name\", \"model\", "
			  "\"socket\", \"options\")");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\"}],\n"
			  " \"socket-mode\": \"0660\"}",
			  "machine.json:2:2: unknown key \"socket-mode\" (expected \"devices\", "
			  "\"socket_mode\", \"socket_group\")");
}

/* A key given twice in one object (json-c keeps the last) is refused,
 * however it is spelled; the same key in two objects is not. */
static void test_json_duplicate_keys(void **state)
{
	static const char two_objects[] =
		"{\"devices\": [{\"model\": \"v100\", \"socket\": \"a\", \"options\": {\"tgt\": \"1\"}},"
		" {\"model\": \"v100\", \"socket\": \"b\", \"options\": {\"tgt\": \"2\"}}]}";
	char path[256], err[256] = "";
	struct vfk_machine m;
	char *dir = write_json(two_objects, path, sizeof(path));

	assert_int_equal(vfk_machine_load_json(path, &m, err, sizeof(err)), 0);
	vfk_machine_free(&m);
	remove_json(dir, path);
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\",\n"
			  "  \"model\": \"npu2\"}]}", "machine.json:2:3: duplicate key \"model\"");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\",\n"
			  "  \"options\": {\"tgt\": \"0x1\", \"\\u0074gt\": \"0x2\"}}]}",
			  "machine.json:2:29: duplicate key \"tgt\"");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\"}],\n"
			  "\"devices\": []}", "machine.json:2:1: duplicate key \"devices\"");
}

/* The sockets' mode and group, as text for serve to parse. */
static void test_json_socket_perms(void **state)
{
	static const char text[] =
		"{\"devices\": [{\"model\": \"v100\", \"socket\": \"g.sock\"}],"
		" \"socket_mode\": \"0660\", \"socket_group\": \"kvm\"}";
	char path[256], err[256] = "";
	struct vfk_machine m;
	char *dir = write_json(text, path, sizeof(path));

	assert_int_equal(vfk_machine_load_json(path, &m, err, sizeof(err)), 0);
	assert_string_equal(m.socket_mode, "0660");
	assert_string_equal(m.socket_group, "kvm");
	vfk_machine_free(&m);
	assert_string_equal(m.socket_mode, "");
	remove_json(dir, path);
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\"}],"
			  " \"socket_mode\": 432}", "machine.json: \"socket_mode\" must be a string");
	expect_json_error("{\"devices\": [{\"model\": \"v100\", \"socket\": \"s\"}],"
			  " \"socket_group\": \"" "0123456789012345678901234567890123456789"
			  "0123456789012345678901234\"}", "\"socket_group\" must be a string");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_narrow),
		cmocka_unit_test(test_split_kv),
		cmocka_unit_test(test_kv_has_key),
		cmocka_unit_test(test_option_table),
		cmocka_unit_test(test_default_machine),
		cmocka_unit_test(test_json_machine),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_json_duplicates),
		cmocka_unit_test(test_json_strict_syntax),
		cmocka_unit_test(test_json_strict_lint),
		cmocka_unit_test(test_json_duplicate_keys),
		cmocka_unit_test(test_json_socket_perms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
