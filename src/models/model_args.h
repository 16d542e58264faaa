/* SPDX-License-Identifier: MIT */
/*
 * Parsing of model option values given as text ("key=value" on the
 * command line, strings in a machine file).
 */
#ifndef VFIOKIT_MODELS_MODEL_ARGS_H
#define VFIOKIT_MODELS_MODEL_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/**
 * A number: decimal, 0x hex or 0 octal, optionally followed by one binary
 * size suffix K, M, G or T (case-insensitive). -EINVAL for anything else,
 * -ERANGE when it does not fit 64 bits.
 */
int vfk_parse_u64(const char *text, uint64_t *out);

/** A number that must fit 32 bits; errors as vfk_parse_u64(). */
int vfk_parse_u32(const char *text, uint32_t *out);

/** A number that must fit 16 bits; errors as vfk_parse_u64(). */
int vfk_parse_u16(const char *text, uint16_t *out);

/** 1/0, yes/no, on/off, true/false; -EINVAL otherwise. */
int vfk_parse_bool(const char *text, bool *out);

/**
 * Split "key=value" into key (copied into key_buf, key_len bytes) and a
 * pointer to the value inside arg. -EINVAL without '=' or with an empty
 * or too long key.
 */
int vfk_split_kv(const char *arg, char *key_buf, unsigned int key_len, const char **value);

#endif
