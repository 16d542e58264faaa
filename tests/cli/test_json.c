// SPDX-License-Identifier: MIT
/*
 * `vfiokit info --json` and `vfiokit topology --json` parsed with json-c,
 * against served models whose tgt is 0xfffffffffffffff1: a value a
 * double-based JSON reader (jq 1.6) would round, so every 64-bit value
 * must also come as a hex string.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#define TGT 0xfffffffffffffff1ull

static char dir[64], gpu[128], bridge[128];
static pid_t servers[2];
static char out[1 << 20];

static pid_t serve(const char *model, const char *sock)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(getenv("VFIOKIT_BIN"), "vfiokit", "serve", model, "tgt=0xfffffffffffffff1",
		      "--socket", sock, "-q", (char *)NULL);
		_exit(127);
	}
	/* Ready when the socket is there (bounded: 10 s). */
	for (int i = 0; i < 1000; i++) {
		struct stat st;

		if (!stat(sock, &st))
			return pid;
		usleep(10000);
	}
	return -1;
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/vfk-json-XXXXXX");
	if (!getenv("VFIOKIT_BIN") || !mkdtemp(dir))
		return -1;
	snprintf(gpu, sizeof(gpu), "%s/gpu.sock", dir);
	snprintf(bridge, sizeof(bridge), "%s/bridge.sock", dir);
	servers[0] = serve("v100", gpu);
	servers[1] = serve("npu2", bridge);
	return servers[0] > 0 && servers[1] > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	for (int i = 0; i < 2; i++)
		if (servers[i] > 0) {
			kill(servers[i], SIGTERM);
			waitpid(servers[i], NULL, 0);
		}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Run vfiokit ARGS, stdout into out (stderr dropped); the exit status. */
static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char args[512], cmd[800];
	va_list ap;
	size_t n;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>/dev/null", getenv("VFIOKIT_BIN"), args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static struct json_object *parse(void)
{
	struct json_object *j = json_tokener_parse(out);

	if (!j)
		fail_msg("not JSON:\n%s", out);
	return j;
}

/* The member at a dotted path ("gpus.0.tgt"); array steps are indexes. */
static struct json_object *get(struct json_object *o, const char *path)
{
	char key[64];
	const char *dot, *p = path;

	while (o && *p) {
		dot = strchr(p, '.');
		snprintf(key, sizeof(key), "%.*s", (int)(dot ? dot - p : (long)strlen(p)), p);
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(key));
		else if (!json_object_object_get_ex(o, key, &o))
			fail_msg("no %s", path);
		p = dot ? dot + 1 : "";
	}
	return o;
}

static const char *str(struct json_object *j, const char *path)
{
	struct json_object *o = get(j, path);

	if (!json_object_is_type(o, json_type_string))
		fail_msg("%s is not a string", path);
	return json_object_get_string(o);
}

static uint64_t u64(struct json_object *j, const char *path)
{
	struct json_object *o = get(j, path);

	if (!json_object_is_type(o, json_type_int))
		fail_msg("%s is not an integer", path);
	return json_object_get_uint64(o);
}

/* Every "X_hex" string says the same as the number "X" beside it; returns how many. */
static int check_hex_pairs(struct json_object *o)
{
	int n = 0;

	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			n += check_hex_pairs(json_object_array_get_idx(o, i));
		return n;
	}
	if (!json_object_is_type(o, json_type_object))
		return 0;
	json_object_object_foreach(o, key, val) {
		size_t len = strlen(key);
		struct json_object *num;
		char name[64], hex[24];

		n += check_hex_pairs(val);
		if (len < 5 || strcmp(key + len - 4, "_hex"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), key);
		assert_true(json_object_object_get_ex(o, name, &num));
		if (!val) {
			assert_null(num);
			continue;
		}
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)json_object_get_uint64(num));
		assert_string_equal(json_object_get_string(val), hex);
		n++;
	}
	return n;
}

static void test_info_hex_strings(void **state)
{
	struct json_object *j;

	assert_int_equal(run("info --json %s", gpu), 0);
	j = parse();
	/* Region 9 is the GPU RAM region; its caps are TYPE, then SSATGT. */
	assert_int_equal(u64(j, "regions.8.index"), 9);
	assert_string_equal(str(j, "regions.8.caps.1.name"), "NVLINK2_SSATGT");
	assert_true(u64(j, "regions.8.caps.1.tgt") == TGT);
	assert_string_equal(str(j, "regions.8.caps.1.tgt_hex"), "0xfffffffffffffff1");
	assert_string_equal(str(j, "regions.8.size_hex"), "0x2000000000");
	assert_string_equal(str(j, "regions.1.offset_hex"), "0x10000000000");
	assert_string_equal(str(j, "pci.bars.1.size_hex"), "0x400000000");
	assert_string_equal(str(j, "pci.bars.1.address_hex"), "0x0");
	/* Regions (size, offset), sparse areas, tgt, BARs: all paired. */
	assert_true(check_hex_pairs(j) >= 2 * 9 + 1 + 2 * 3);
	assert_string_equal(str(j, "pci.vendor_name"), "NVIDIA Corporation");
	json_object_put(j);

	assert_int_equal(run("info --json -k -x %s", gpu), 0);
	j = parse();
	assert_null(get(j, "kernel.driver"));
	assert_null(get(j, "kernel.iommu_group"));
	assert_int_equal(strlen(str(j, "config_raw")), 2 * 64);
	assert_int_equal(strncmp(str(j, "config_raw"), "de10b11d", 8), 0);
	json_object_put(j);
}

static void test_topology(void **state)
{
	struct json_object *j;

	assert_int_equal(run("topology --json %s %s", gpu, bridge), 0);
	j = parse();
	assert_string_equal(str(j, "schema"), "vfiokit-topology/1");
	assert_int_equal(json_object_array_length(get(j, "gpus")), 1);
	assert_int_equal(json_object_array_length(get(j, "bridges")), 1);
	assert_string_equal(str(j, "gpus.0.target"), gpu);
	assert_true(u64(j, "gpus.0.tgt") == TGT);
	assert_string_equal(str(j, "gpus.0.tgt_hex"), "0xfffffffffffffff1");
	assert_int_equal(u64(j, "gpus.0.region"), 9);
	assert_string_equal(str(j, "gpus.0.aperture_hex"), "0x2000000000");
	assert_int_equal(u64(j, "gpus.0.bridges.0"), 0);
	assert_string_equal(str(j, "bridges.0.target"), bridge);
	assert_string_equal(str(j, "bridges.0.tgt_hex"), "0xfffffffffffffff1");
	assert_int_equal(u64(j, "bridges.0.gpu"), 0);
	assert_int_equal(u64(j, "bridges.0.link_speed"), 9);
	assert_int_equal(json_object_array_length(get(j, "issues")), 0);
	assert_true(json_object_get_boolean(get(j, "consistent")));
	assert_true(json_object_get_boolean(get(j, "complete")));
	assert_int_equal(check_hex_pairs(j), 4);   /* aperture, atsd_size, two tgt */
	json_object_put(j);
}

static void test_topology_inconsistent(void **state)
{
	struct json_object *j;

	/* A bridge without its GPU: an issue, exit 1, still a whole object. */
	assert_int_equal(run("topology --json %s", bridge), 1);
	j = parse();
	assert_int_equal(json_object_array_length(get(j, "gpus")), 0);
	assert_null(get(j, "bridges.0.gpu"));
	assert_non_null(strstr(str(j, "issues.0"), "matches no GPU"));
	assert_false(json_object_get_boolean(get(j, "consistent")));
	assert_true(json_object_get_boolean(get(j, "complete")));
	json_object_put(j);

	/* A target that is not there: not complete. */
	assert_int_equal(run("topology --json %s %s/none.sock %s", gpu, dir, bridge), 1);
	j = parse();
	assert_false(json_object_get_boolean(get(j, "complete")));
	assert_true(json_object_get_boolean(get(j, "consistent")));
	json_object_put(j);

	assert_int_equal(run("topology --json --dts %s", gpu), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_hex_strings),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_topology_inconsistent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
