/* SPDX-License-Identifier: MIT */
/*
 * SIGBUS recovery for copies to and from client memory (fault_guard.h).
 *
 * Each thread has at most one guard active, the copy it is running. The
 * handler only compares the fault address with that guard's range and
 * jumps back; every other SIGBUS goes where it would have gone without
 * us. SA_NODEFER keeps SIGBUS unblocked after the jump, so the jump needs
 * no saved signal mask (sigsetjmp(.., 0): no system call per copy); a
 * blocked synchronous SIGBUS would kill the process outright.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "core/fault_guard.h"

struct fault_guard {
	sigjmp_buf env;
	uintptr_t lo, hi;       /* the client-memory side of the copy */
};

static __thread struct fault_guard *volatile active_guard;
static struct sigaction previous_action;

/* Hand a SIGBUS that is not ours to whoever had it before us. */
static void pass_on(int sig, siginfo_t *info, void *uctx)
{
	if ((previous_action.sa_flags & SA_SIGINFO) && previous_action.sa_sigaction) {
		previous_action.sa_sigaction(sig, info, uctx);
		return;
	}
	if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
		previous_action.sa_handler(sig);
		return;
	}
	/* Default (or ignored, which a fault cannot be): restore it and
	 * return; the access faults again and the process ends as before. */
	signal(sig, SIG_DFL);
}

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	struct fault_guard *g = active_guard;
	uintptr_t addr = (uintptr_t)info->si_addr;

	if (g && addr >= g->lo && addr < g->hi)
		siglongjmp(g->env, 1);
	pass_on(sig, info, uctx);
}

/* Checked at every new window, not once: an application (or a test
 * framework) that set its own SIGBUS handler after ours would otherwise
 * leave our copies unguarded. Its handler becomes the one passed on to. */
int vfk_fault_guard_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART };
	struct sigaction cur;

	if (sigaction(SIGBUS, NULL, &cur) < 0)
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)
		return 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, &previous_action) < 0 ? -errno : 0;
}

int vfk_copy_guarded(void *dst, const void *src, size_t n, const void *peer)
{
	struct fault_guard g;

	g.lo = (uintptr_t)peer;
	g.hi = g.lo + n;
	if (sigsetjmp(g.env, 0)) {
		active_guard = NULL;
		return -EFAULT;
	}
	active_guard = &g;
	memcpy(dst, src, n);
	active_guard = NULL;
	return 0;
}
