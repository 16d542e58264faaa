/* SPDX-License-Identifier: MIT */
/*
 * SIGBUS recovery for copies to and from client memory (fault_guard.h).
 *
 * Each thread has at most one guard active, the copy it is running. The
 * handler only compares the fault address with that guard's range and
 * jumps back; every other SIGBUS goes where it would have gone without
 * us. SA_NODEFER keeps SIGBUS unblocked after the jump, so the jump needs
 * no saved signal mask (sigsetjmp(.., 0): no system call per copy); a
 * blocked synchronous SIGBUS would kill the process outright. A handler
 * may still run with more blocked than we asked (ThreadSanitizer, which
 * installs the real handler, blocks every signal during it), so before
 * jumping the handler restores the mask the copy ran with.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "core/fault_guard.h"

struct fault_guard {
	sigjmp_buf env;
	uintptr_t lo, hi;       /* the client-memory side of the copy */
};

static __thread struct fault_guard *volatile active_guard;
static struct sigaction previous_action;     /* written under install_lock */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

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

	if (g && addr >= g->lo && addr < g->hi) {
		pthread_sigmask(SIG_SETMASK, &((ucontext_t *)uctx)->uc_sigmask, NULL);
		siglongjmp(g->env, 1);
	}
	pass_on(sig, info, uctx);
}

static bool ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_sigbus;
}

/* Under install_lock. previous_action is written before our handler goes
 * in, so the handler never reads it half-written. */
static int install_locked(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART };
	struct sigaction cur;

	if (sigaction(SIGBUS, NULL, &cur) < 0)
		return -errno;
	if (ours(&cur))
		return 0;
	previous_action = cur;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

/* Checked at every new window, not once: an application (or a test
 * framework) that set its own SIGBUS handler after ours would otherwise
 * leave our copies unguarded. Its handler becomes the one passed on to.
 * Servers in several threads map windows at once: unlocked, two of them
 * could both find another handler there and the second save ours as the
 * one to pass on to, which would then call itself on a foreign fault.
 * The lock is taken only when ours is not in place. */
int vfk_fault_guard_install(void)
{
	struct sigaction cur;
	int r;

	if (sigaction(SIGBUS, NULL, &cur) < 0)
		return -errno;
	if (ours(&cur))
		return 0;
	pthread_mutex_lock(&install_lock);
	r = install_locked();
	pthread_mutex_unlock(&install_lock);
	return r;
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
