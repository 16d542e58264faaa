// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/log.h>

static enum vfk_log_level current_level = VFK_LOG_WARN;
static int level_from_env_done;

static void level_from_env(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *env = getenv("VFIOKIT_LOG");

	level_from_env_done = 1;
	if (!env)
		return;
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(env, names[i]))
			current_level = (enum vfk_log_level)i;
}

void vfk_log_set_level(enum vfk_log_level level)
{
	level_from_env_done = 1;
	current_level = level;
}

enum vfk_log_level vfk_log_get_level(void)
{
	if (!level_from_env_done)
		level_from_env();
	return current_level;
}

void vfk_log(enum vfk_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;

	if (level > vfk_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines from several processes do not interleave. */
	fprintf(stderr, "vfiokit: %s: %s\n", prefix[level], line);
}
