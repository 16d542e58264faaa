/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target defines, and the checks they share. A target is
 * linked either with libFuzzer (clang -fsanitize=fuzzer) or with replay.c.
 */
#ifndef VFIOKIT_FUZZ_H
#define VFIOKIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run the code under test on one input; always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once before the first input: quiet logging, global set-up. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * An invariant of the code under test does not hold: stop with a message
 * so that libFuzzer records the input as a crash.
 */
#define FUZZ_CHECK(cond)                                                         \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, \
				__LINE__, #cond);                                 \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* Consume fuzzer bytes front to back; past the end every read gives 0. */
struct fuzz_input {
	const uint8_t *data;
	size_t size;
	size_t pos;
};

static inline size_t fuzz_left(const struct fuzz_input *in)
{
	return in->size - in->pos;
}

static inline uint64_t fuzz_uint(struct fuzz_input *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes && in->pos < in->size; i++)
		v |= (uint64_t)in->data[in->pos++] << (8 * i);
	return v;
}

/* Up to n bytes at the current position; *got says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_input *in, size_t n, size_t *got)
{
	const uint8_t *p = in->data + in->pos;

	*got = n < fuzz_left(in) ? n : fuzz_left(in);
	in->pos += *got;
	return p;
}

#endif
