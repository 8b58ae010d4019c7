/*
 * A kernel .config: CONFIG_X=y|m|"string"|number lines and "# CONFIG_X is not set" comments.
 *
 *   struct kconfig *kc;
 *   r = kconfig_load("/boot/config-6.1.0-56-amd64", &kc);  // -EINVAL: not a kernel config
 *   kconfig_get(kc, "CONFIG_E1000")  -> "m"; kconfig_get(kc, "E1000") works too; NULL if unset
 */
#pragma once

#include <stddef.h>

struct kconfig;

/* Reads PATH (capped at 16 MiB). A file that is not a kernel config fails with -EINVAL and a
 * logged error naming the file and line. */
int kconfig_load(const char *path, struct kconfig **ret);
/* Parses a config from memory; NAME is used in messages. */
int kconfig_parse(const char *name, const char *text, size_t len, struct kconfig **ret);
void kconfig_free(struct kconfig *kc);

/* The raw value as written ("y", "m", "\"str\"", "0x10"), or NULL when unset or "=n". */
const char *kconfig_get(const struct kconfig *kc, const char *name);
/* Number of symbols with a value, and the I-th of them in name order. */
size_t kconfig_count(const struct kconfig *kc);
void kconfig_entry(const struct kconfig *kc, size_t i, const char **ret_name,
		   const char **ret_value);
