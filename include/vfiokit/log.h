/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr, shared by the library and the CLI; one level
 * for the process, every call safe from any thread. */
#ifndef VFIOKIT_LOG_H
#define VFIOKIT_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum vfk_log_level { VFK_LOG_ERROR, VFK_LOG_WARN, VFK_LOG_INFO, VFK_LOG_DEBUG };

/** Messages above this level are dropped (default VFK_LOG_WARN, or $VFIOKIT_LOG). */
void vfk_log_set_level(enum vfk_log_level level);
enum vfk_log_level vfk_log_get_level(void);

/** printf-style; one line per call, prefixed with the level. */
void vfk_log(enum vfk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vfk_err(...)   vfk_log(VFK_LOG_ERROR, __VA_ARGS__)
#define vfk_warn(...)  vfk_log(VFK_LOG_WARN, __VA_ARGS__)
#define vfk_info(...)  vfk_log(VFK_LOG_INFO, __VA_ARGS__)
#define vfk_dbg(...)   vfk_log(VFK_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
