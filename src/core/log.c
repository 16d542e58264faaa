// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/log.h>

/* Servers in several threads log at once, and the first message of the
 * process may come from any of them: the level is atomic, LEVEL_UNSET
 * until set or read from the environment. Relaxed: it guards no data. */
#define LEVEL_UNSET (-1)
static atomic_int current_level = LEVEL_UNSET;

static int level_from_env(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *env = getenv("VFIOKIT_LOG");
	int level = VFK_LOG_WARN;
	int unset = LEVEL_UNSET;

	bool known = !env;

	for (unsigned int i = 0; env && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(env, names[i])) {
			level = (int)i;
			known = true;
		}
	/* A level set meanwhile (vfk_log_set_level) wins over the environment. */
	if (!atomic_compare_exchange_strong_explicit(&current_level, &unset, level,
						     memory_order_relaxed, memory_order_relaxed))
		return unset;
	/* Once (only the thread that set the level gets here): a mistyped
	 * level silently meaning "warn" would hide the logs asked for. */
	if (!known)
		fprintf(stderr, "vfiokit: warning: VFIOKIT_LOG=%s: unknown level, using warn "
			"(levels: error, warn, info, debug)\n", env);
	return level;
}

void vfk_log_set_level(enum vfk_log_level level)
{
	atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

enum vfk_log_level vfk_log_get_level(void)
{
	int level = atomic_load_explicit(&current_level, memory_order_relaxed);

	return (enum vfk_log_level)(level == LEVEL_UNSET ? level_from_env() : level);
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
	/* One write per line so lines from several processes (and threads:
	 * stdio locks the stream per call) do not interleave. */
	fprintf(stderr, "vfiokit: %s: %s\n", prefix[level], line);
}
