/*
 * For kpatch patches that include "kpatch-syscall.h" to patch a syscall: its
 * KPATCH_SYSCALL_DEFINE0..6 are those of kpatch-macros.h (the syscall's definition without
 * the tracing metadata the running kernel already has).
 */
#ifndef TUXTAPE_KPATCH_SYSCALL_H
#define TUXTAPE_KPATCH_SYSCALL_H

#include "kpatch-macros.h"

#endif
