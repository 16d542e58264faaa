// SPDX-License-Identifier: MIT
/*
 * The version API (vfiokit/version.h) through the umbrella header, as a
 * library user sees it: the macros work in #if, agree with each other and
 * with the library a program runs with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>

/* The point of VFK_VERSION_CHECK: choosing code at compile time. */
#if !VFK_VERSION_CHECK(0, 1, 0)
#error "VFK_VERSION_CHECK(0, 1, 0) is false for a 0.1.0 or later tree"
#endif
#if VFK_VERSION_CHECK(VFK_VERSION_MAJOR + 1, 0, 0)
#error "VFK_VERSION_CHECK is true for the next major version"
#endif

static void test_macros_agree(void **state)
{
	char s[32];

	snprintf(s, sizeof(s), "%d.%d.%d", VFK_VERSION_MAJOR, VFK_VERSION_MINOR,
		 VFK_VERSION_PATCH);
	assert_string_equal(s, VFK_VERSION_STRING);
	assert_true(VFK_VERSION_CHECK(VFK_VERSION_MAJOR, VFK_VERSION_MINOR,
				      VFK_VERSION_PATCH));
	assert_false(VFK_VERSION_CHECK(VFK_VERSION_MAJOR, VFK_VERSION_MINOR,
				       VFK_VERSION_PATCH + 1));
	assert_false(VFK_VERSION_CHECK(VFK_VERSION_MAJOR, VFK_VERSION_MINOR + 1, 0));
	/* Minor outranks any patch, major any minor. */
	assert_true(VFK_VERSION_ENCODE(1, 2, 0) > VFK_VERSION_ENCODE(1, 1, 255));
	assert_true(VFK_VERSION_ENCODE(2, 0, 0) > VFK_VERSION_ENCODE(1, 255, 255));
}

static void test_runtime_matches_headers(void **state)
{
	/* Built in-tree, the library and the headers are the same version. */
	assert_string_equal(vfk_version(), VFK_VERSION_STRING);
	assert_int_equal(vfk_version_number(), VFK_VERSION_NUMBER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_macros_agree),
		cmocka_unit_test(test_runtime_matches_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
