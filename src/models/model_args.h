/* SPDX-License-Identifier: MIT */
/*
 * Parsing of model option values given as text ("key=value" on the
 * command line, strings in a machine file), and the table of a model's
 * options that says which field of its params each one sets.
 */
#ifndef VFIOKIT_MODELS_MODEL_ARGS_H
#define VFIOKIT_MODELS_MODEL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
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

/**
 * Whether one of the n "key=value" of kv has this key: an option given
 * twice is refused rather than the last one winning unseen.
 */
bool vfk_kv_has_key(const char *const *kv, size_t n, const char *key);

/* The type of an option's field, which says how its text is parsed. */
enum vfk_option_type {
	VFK_OPTION_U16,
	VFK_OPTION_U32,
	VFK_OPTION_U64,
	VFK_OPTION_BOOL,
};

/** One option of a model: listed by `vfiokit serve --list`, set from "key=value". */
struct vfk_model_option {
	const char *key;
	const char *def;       /* the default, as text */
	const char *help;
	enum vfk_option_type type;
	size_t offset;         /* of its field in the model's params struct */
};

/*
 * The row of an option setting `field` of struct type `params`; its type
 * is taken from the field's own, so a row cannot parse into a field of
 * another width. A field of any other type does not compile.
 */
#define VFK_OPTION(params, field, key, def, help)                                  \
	{ key, def, help,                                                          \
	  _Generic(((params *)0)->field, uint16_t: VFK_OPTION_U16,                \
		   uint32_t: VFK_OPTION_U32, uint64_t: VFK_OPTION_U64,             \
		   bool: VFK_OPTION_BOOL),                                          \
	  offsetof(params, field) }

/**
 * Set the option called key of `options` (a table ending with key NULL)
 * in params, the struct the table's rows were made for, from value.
 * -ENOENT for a key not in the table, else as the field type's parser;
 * on error the field is unchanged.
 */
int vfk_option_set(const struct vfk_model_option *options, void *params, const char *key,
		   const char *value);

#endif
